//! Limits a run is given, and the checks every front end (command line, scenario files) applies
//! to them, so a value that cannot be honoured is refused where it is written, never wrapped.

use std::time::Duration;

/// The longest time limit: the whole seconds the nanosecond clock (a u64) can hold, about
/// 584 years.
pub const MAX_SECONDS: f64 = 18_446_744_073.0;

pub use ipcemu_kernel::{DEFAULT_MAX_OUTPUT, OUTPUT_BUFFER};

/// Why a number of seconds was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SecondsError {
    /// NaN.
    #[error("{0} is not a number of seconds")]
    NotANumber(f64),
    /// Below zero.
    #[error("{} s is negative; a time limit is 0 s or more", show(*.0))]
    Negative(f64),
    /// Infinite, or beyond what the nanosecond clock holds.
    #[error(
        "{} s is more than the nanosecond clock holds (at most 18446744073 s, about 584 years)",
        show(*.0)
    )]
    TooLarge(f64),
}

/// A number as it was probably written: `1e300`, not 301 digits.
fn show(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e9 {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// A time limit in seconds as a [`Duration`], refused when it is NaN, negative, infinite or
/// more than [`MAX_SECONDS`].
pub fn seconds(s: f64) -> Result<Duration, SecondsError> {
    if s.is_nan() {
        return Err(SecondsError::NotANumber(s));
    }
    if s < 0.0 {
        return Err(SecondsError::Negative(s));
    }
    if s > MAX_SECONDS {
        return Err(SecondsError::TooLarge(s));
    }
    Duration::try_from_secs_f64(s).map_err(|_| SecondsError::TooLarge(s))
}

/// A duration in whole nanoseconds, saturating at `u64::MAX` instead of wrapping.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_at_their_edges() {
        assert_eq!(seconds(0.0), Ok(Duration::ZERO));
        assert_eq!(seconds(1.5), Ok(Duration::from_millis(1500)));
        assert_eq!(seconds(-1.0), Err(SecondsError::Negative(-1.0)));
        assert!(matches!(
            seconds(f64::NAN),
            Err(SecondsError::NotANumber(_))
        ));
        assert_eq!(
            seconds(f64::INFINITY),
            Err(SecondsError::TooLarge(f64::INFINITY))
        );
        assert_eq!(seconds(1e300), Err(SecondsError::TooLarge(1e300)));
        assert_eq!(seconds(2e10), Err(SecondsError::TooLarge(2e10)));
        let max = seconds(MAX_SECONDS).unwrap();
        assert!(max.as_nanos() <= u64::MAX as u128);
        assert_eq!(nanos(Duration::MAX), u64::MAX);
        assert_eq!(nanos(Duration::from_secs(2)), 2_000_000_000);
    }
}
