//! `printf` formatting over guest memory: `%d %i %u %x %X %o %s %c %p %%` with flags
//! (`-`, `0`, `+`, space, `#`), width and precision (numbers or `*`), and the length modifiers
//! `h`, `hh`, `l`, `ll`/`I64`, `I32`, `z`; `%f` of a double. Anything else is copied to the
//! output as written and reported with a warning (never pretended).

use ipcemu_kernel::{GuestMemory, MemFault};

/// Where the arguments come from: consecutive dwords in guest memory (a `va_list`).
pub struct ArgList {
    /// Address of the next argument.
    pub at: u32,
}

impl ArgList {
    fn next<M: GuestMemory + ?Sized>(&mut self, m: &M) -> Result<u32, MemFault> {
        let v = m.read_u32(self.at)?;
        self.at = self.at.wrapping_add(4);
        Ok(v)
    }
    fn next64<M: GuestMemory + ?Sized>(&mut self, m: &M) -> Result<u64, MemFault> {
        let lo = self.next(m)? as u64;
        let hi = self.next(m)? as u64;
        Ok(lo | hi << 32)
    }
}

/// Longest string one `%s` reads.
const MAX_STR: u32 = 1 << 20;

fn pad(out: &mut Vec<u8>, body: &[u8], width: usize, left: bool, zero_at: Option<usize>) {
    if body.len() >= width {
        out.extend_from_slice(body);
    } else if left {
        out.extend_from_slice(body);
        out.resize(out.len() + width - body.len(), b' ');
    } else if let Some(sign_len) = zero_at {
        out.extend_from_slice(&body[..sign_len]);
        out.resize(out.len() + width - body.len(), b'0');
        out.extend_from_slice(&body[sign_len..]);
    } else {
        out.resize(out.len() + width - body.len(), b' ');
        out.extend_from_slice(body);
    }
}

/// Format `fmt` (a C string at `fmt_addr`) with arguments from `args`.
pub fn format<M: GuestMemory + ?Sized>(
    m: &M,
    fmt_addr: u32,
    args: &mut ArgList,
) -> Result<Vec<u8>, MemFault> {
    let fmt = read_bytes(m, fmt_addr, MAX_STR)?;
    let mut out = Vec::with_capacity(fmt.len() + 16);
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        if c != b'%' {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let (mut left, mut zero, mut plus, mut space, mut alt) =
            (false, false, false, false, false);
        while i < fmt.len() {
            match fmt[i] {
                b'-' => left = true,
                b'0' => zero = true,
                b'+' => plus = true,
                b' ' => space = true,
                b'#' => alt = true,
                _ => break,
            }
            i += 1;
        }
        let mut width = 0usize;
        if i < fmt.len() && fmt[i] == b'*' {
            let w = args.next(m)? as i32;
            if w < 0 {
                left = true;
            }
            width = w.unsigned_abs() as usize;
            i += 1;
        } else {
            while i < fmt.len() && fmt[i].is_ascii_digit() {
                width = width
                    .saturating_mul(10)
                    .saturating_add((fmt[i] - b'0') as usize);
                i += 1;
            }
        }
        let mut prec: Option<usize> = None;
        if i < fmt.len() && fmt[i] == b'.' {
            i += 1;
            if i < fmt.len() && fmt[i] == b'*' {
                let p = args.next(m)? as i32;
                prec = (p >= 0).then_some(p as usize);
                i += 1;
            } else {
                let mut p = 0usize;
                while i < fmt.len() && fmt[i].is_ascii_digit() {
                    p = p
                        .saturating_mul(10)
                        .saturating_add((fmt[i] - b'0') as usize);
                    i += 1;
                }
                prec = Some(p);
            }
        }
        width = width.min(4096);
        // Length modifiers: only 64-bit ones change how much is read.
        let mut wide = false;
        loop {
            if i >= fmt.len() {
                break;
            }
            match fmt[i] {
                b'h' | b'l' | b'z' | b'j' | b't' | b'L' => {
                    if fmt[i] == b'l' && fmt.get(i + 1) == Some(&b'l') {
                        wide = true;
                        i += 1;
                    }
                    i += 1;
                }
                b'I' if fmt[i + 1..].starts_with(b"64") => {
                    wide = true;
                    i += 3;
                }
                b'I' if fmt[i + 1..].starts_with(b"32") => i += 3,
                _ => break,
            }
        }
        let Some(&conv) = fmt.get(i) else {
            out.extend_from_slice(&fmt[start..]);
            break;
        };
        i += 1;
        match conv {
            b'%' => out.push(b'%'),
            b'c' => {
                let v = args.next(m)? as u8;
                pad(&mut out, &[v], width, left, None);
            }
            b's' => {
                let p = args.next(m)?;
                let s = if p == 0 {
                    b"(null)".to_vec()
                } else {
                    read_bytes(
                        m,
                        p,
                        prec.map_or(MAX_STR, |n| n.min(MAX_STR as usize) as u32),
                    )?
                };
                pad(&mut out, &s, width, left, None);
            }
            b'd' | b'i' | b'u' | b'x' | b'X' | b'o' | b'p' => {
                let (neg, mag) = if conv == b'd' || conv == b'i' {
                    let v = if wide {
                        args.next64(m)? as i64
                    } else {
                        args.next(m)? as i32 as i64
                    };
                    (v < 0, v.unsigned_abs())
                } else if wide {
                    (false, args.next64(m)?)
                } else {
                    (false, args.next(m)? as u64)
                };
                let mut digits = match conv {
                    b'x' => format!("{mag:x}"),
                    b'X' => format!("{mag:X}"),
                    b'p' => format!("{mag:08X}"),
                    b'o' => format!("{mag:o}"),
                    _ => mag.to_string(),
                }
                .into_bytes();
                if let Some(p) = prec {
                    if p == 0 && mag == 0 {
                        digits.clear();
                    } else if digits.len() < p {
                        let mut d = vec![b'0'; p - digits.len()];
                        d.extend_from_slice(&digits);
                        digits = d;
                    }
                }
                let mut prefix: Vec<u8> = Vec::new();
                if neg {
                    prefix.push(b'-');
                } else if (conv == b'd' || conv == b'i') && plus {
                    prefix.push(b'+');
                } else if (conv == b'd' || conv == b'i') && space {
                    prefix.push(b' ');
                }
                if alt && mag != 0 {
                    match conv {
                        b'x' => prefix.extend_from_slice(b"0x"),
                        b'X' => prefix.extend_from_slice(b"0X"),
                        b'o' if !digits.starts_with(b"0") => prefix.push(b'0'),
                        _ => {}
                    }
                }
                let plen = prefix.len();
                prefix.extend_from_slice(&digits);
                let zero_at = (zero && !left && prec.is_none()).then_some(plen);
                pad(&mut out, &prefix, width, left, zero_at);
            }
            b'f' | b'F' => {
                let v = f64::from_bits(args.next64(m)?);
                let p = prec.unwrap_or(6).min(64);
                let mut s = format!("{v:.p$}");
                if plus && v >= 0.0 {
                    s.insert(0, '+');
                }
                let sign = usize::from(s.starts_with(['-', '+']));
                let zero_at = (zero && !left).then_some(sign);
                pad(&mut out, s.as_bytes(), width, left, zero_at);
            }
            _ => {
                tracing::warn!(
                    conversion = %String::from_utf8_lossy(&fmt[start..i]),
                    "printf conversion not supported by ipcemu; copied to the output as written"
                );
                out.extend_from_slice(&fmt[start..i]);
            }
        }
    }
    Ok(out)
}

/// Read a C string of at most `max` bytes (without its terminator).
pub fn read_bytes<M: GuestMemory + ?Sized>(
    m: &M,
    addr: u32,
    max: u32,
) -> Result<Vec<u8>, MemFault> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64];
    let mut at = addr;
    while (out.len() as u32) < max {
        let n = 64u32.min(max - out.len() as u32).min(4096 - (at & 4095)) as usize;
        m.read(at, &mut chunk[..n])?;
        if let Some(z) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..z]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..n]);
        at = at.wrapping_add(n as u32);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcemu_kernel::VecMemory;

    fn fmt(f: &str, args: &[u32]) -> String {
        let mut m = VecMemory::new(0x1000);
        m.write(0x100, f.as_bytes()).unwrap();
        m.write(0x300, b"str\0").unwrap();
        for (i, a) in args.iter().enumerate() {
            m.write_u32(0x800 + 4 * i as u32, *a).unwrap();
        }
        let mut a = ArgList { at: 0x800 };
        String::from_utf8(format(&m, 0x100, &mut a).unwrap()).unwrap()
    }

    #[test]
    fn conversions() {
        assert_eq!(
            fmt("PASS hello printf %d\n", &[42]),
            "PASS hello printf 42\n"
        );
        assert_eq!(
            fmt("%5d|%-5d|%05d", &[42, 42, (-42i32) as u32]),
            "   42|42   |-0042"
        );
        assert_eq!(
            fmt("%x %X %08x %#x", &[255, 255, 255, 255]),
            "ff FF 000000ff 0xff"
        );
        assert_eq!(
            fmt("%s|%5s|%-5s|%.2s", &[0x300, 0x300, 0x300, 0x300]),
            "str|  str|str  |st"
        );
        assert_eq!(
            fmt("%c%%%u %lu", &[b'A' as u32, u32::MAX, 7]),
            "A%4294967295 7"
        );
        assert_eq!(fmt("%p %s", &[0x1234, 0]), "00001234 (null)");
        assert_eq!(fmt("%lld %llu", &[u32::MAX, u32::MAX, 5, 0]), "-1 5");
        assert_eq!(fmt("%*d %.3d", &[4, 7, 7]), "   7 007");
        assert_eq!(fmt("%q", &[]), "%q");
    }
}
