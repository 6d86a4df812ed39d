//! Timed host actions on KolibriOS guests: input (`--keys`, `--button`, `--mouse`, a
//! scenario's `keys`/`button`/`mouse` steps) and screenshots (`--screenshot`, a scenario's
//! `screenshot` step), run when the world's clock reaches their time ([`World::add_timed`]).
//!
//! Screenshots are PNG files written with the `png` crate: pure Rust, small (its only
//! dependencies are a deflate encoder and a CRC), and the format every image tool and test
//! can read back; the tests decode them with the same crate.

use ipcemu_kolibri::gui::Window;
pub use ipcemu_kolibri::input::Input;
use ipcemu_kolibri::Kolibri;
use ipcemu_machine::World;
use std::path::PathBuf;
use std::time::Duration;

/// Why a screenshot could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("PNG encoding failed: {0}")]
pub struct PngError(#[from] png::EncodingError);

/// The window's framebuffer as PNG bytes (8-bit RGB).
pub fn window_png(w: &Window) -> Result<Vec<u8>, PngError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w.width, w.height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header()?;
        wr.write_image_data(&w.rgb())?;
    }
    Ok(out)
}

/// Give guest `guest` (0-based, in the order guests were given) `input` at guest time `at`.
/// Input that cannot be delivered then (the guest has not started or has ended, or has no
/// such button) is named in a warning.
pub fn schedule_input(world: &mut World, guest: usize, at: Duration, input: Input) {
    world.add_timed(
        at,
        Box::new(move |w: &mut World| {
            let Some(id) = w.guest(guest) else {
                tracing::warn!(
                    "input for guest {} at {:?} was not delivered: it has not started",
                    guest + 1,
                    at
                );
                return;
            };
            let what = format!("{input:?}");
            let r = w.with_personality(|k, kol: &mut Kolibri| kol.input(k, id.proc, input));
            match r {
                Some(Ok(())) => {
                    tracing::debug!(guest = guest + 1, pid = id.pid.0, %what, "input delivered")
                }
                Some(Err(e)) => tracing::warn!(
                    "input {what} for guest {} (PID {}) at {at:?} was not delivered: {e}",
                    guest + 1,
                    id.pid.0
                ),
                None => tracing::warn!(
                    "input for guest {} needs the KolibriOS personality",
                    guest + 1
                ),
            }
        }),
    );
}

/// Write guest `guest`'s window as a PNG file at guest time `at`. A guest without a window
/// then gets a warning and no file.
pub fn schedule_screenshot(world: &mut World, guest: usize, at: Duration, path: PathBuf) {
    world.add_timed(
        at,
        Box::new(move |w: &mut World| {
            let Some(id) = w.guest(guest) else {
                tracing::warn!(
                    "no screenshot of guest {} at {:?}: it has not started",
                    guest + 1,
                    at
                );
                return;
            };
            let png = w
                .with_personality(|k, kol: &mut Kolibri| kol.window_of(k, id.proc).map(window_png))
                .flatten();
            match png {
                Some(Ok(bytes)) => {
                    if let Err(e) = std::fs::write(&path, bytes) {
                        tracing::error!(
                            "the screenshot of guest {} (PID {}) could not be written to {}: {e}",
                            guest + 1,
                            id.pid.0,
                            path.display()
                        );
                    }
                }
                Some(Err(e)) => tracing::error!("screenshot of guest {}: {e}", guest + 1),
                None => tracing::warn!(
                    "no screenshot of guest {} (PID {}) at {at:?}: it has no window (function 0)",
                    guest + 1,
                    id.pid.0
                ),
            }
        }),
    );
}

/// Parse `--keys` text: `\n` is Enter (13), `\t` Tab, `\b` Backspace, `\e` Escape, `\\` a
/// backslash; everything else must be printable ASCII.
pub fn parse_keys(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut it = text.chars();
    while let Some(c) = it.next() {
        let b = match c {
            '\\' => match it.next() {
                Some('n') => 13,
                Some('t') => 9,
                Some('b') => 8,
                Some('e') => 27,
                Some('\\') => b'\\',
                other => {
                    return Err(format!(
                        "unknown escape \\{}",
                        other.map_or(String::new(), String::from)
                    ))
                }
            },
            ' '..='~' => c as u8,
            _ => return Err(format!("{c:?} is not printable ASCII")),
        };
        out.push(b);
    }
    Ok(out)
}
