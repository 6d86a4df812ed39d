//! kpack-compressed KolibriOS files (`KPCK`), as the kernel's `unpack` (`kernel/trunk/unpacker.inc`)
//! reads them:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | `KPCK` |
//! | 4 | 4 | unpacked size |
//! | 8 | 4 | flags: bits 0..5 method (1 = LZMA), bit 6 / bit 7 a call/jump filter applied after unpacking |
//! | 12 | | the LZMA stream: lc = 3, lp = 0, pb = 2, no header; its range coder starts with the code as a little-endian dword (a standard stream's first byte, always 0, is left out and the next four are stored byte-swapped) |
//! | end - 5 | 4 | with a filter: the number of converted calls |
//! | end - 1 | 1 | with a filter: the marker byte |
//!
//! The LZMA decoding itself is the `lzma-rs` crate's. The call/jump filters undo kpack's
//! `preprocess_calltrick`/`preprocess_calltrick2` (`programs/other/kpack/packpoc.inc`; the count
//! and marker are the file's last five bytes, where kpack writes them): scanning the unpacked
//! bytes, an `E8`/`E9` (filter 2 also `0F 80..8F`) followed by the marker byte holds a 24-bit
//! big-endian absolute target, which becomes the 32-bit relative displacement again.

use std::io::Cursor;

/// The signature.
pub const MAGIC: &[u8; 4] = b"KPCK";
/// Largest unpacked size accepted (the kernel's `load_file` limit is 1 GiB; a guest file cannot
/// make the host allocate that much here).
pub const MAX_UNPACKED: u32 = 64 << 20;
/// lc = 3, lp = 0, pb = 2 as an LZMA properties byte.
const PROPS: u8 = 3 + 9 * (5 * 2);

/// Why a kpack file cannot be unpacked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KpackError {
    /// Shorter than the 16 bytes of header and range-coder start.
    #[error("kpack file too short ({0} bytes)")]
    TooShort(usize),
    /// Not LZMA (method is bits 0..5 of the flags).
    #[error("kpack method {0} is not LZMA (1)")]
    Method(u32),
    /// Both call/jump filter bits are set (the kernel refuses this too).
    #[error("kpack flags {0:#x} name two call/jump filters")]
    Filter(u32),
    /// The filter's count names more calls than the file holds.
    #[error("kpack call/jump filter: {0} calls not found in the unpacked bytes")]
    Calls(u32),
    /// The unpacked size is over [`MAX_UNPACKED`].
    #[error("kpack unpacked size {0} is over the limit of {MAX_UNPACKED} bytes")]
    TooLarge(u32),
    /// The LZMA stream is damaged.
    #[error("kpack LZMA stream is damaged: {0}")]
    Lzma(String),
}

/// Whether `bytes` start with the kpack signature.
pub fn is_kpack(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Unpack a kpack file.
pub fn unpack(bytes: &[u8]) -> Result<Vec<u8>, KpackError> {
    if bytes.len() < 16 {
        return Err(KpackError::TooShort(bytes.len()));
    }
    let d = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    let (size, flags) = (d(4), d(8));
    if flags & 0x3f != 1 {
        return Err(KpackError::Method(flags & 0x3f));
    }
    if flags & 0xc0 == 0xc0 {
        return Err(KpackError::Filter(flags));
    }
    if size > MAX_UNPACKED {
        return Err(KpackError::TooLarge(size));
    }
    let filter = flags & 0xc0;
    let end = if filter != 0 {
        if bytes.len() < 21 {
            return Err(KpackError::TooShort(bytes.len()));
        }
        bytes.len() - 5
    } else {
        bytes.len()
    };
    // A standard LZMA stream: properties, dictionary size, then 0 and the code big-endian.
    let dict = size.max(0x1000);
    let mut s = Vec::with_capacity(bytes.len() + 6);
    s.push(PROPS);
    s.extend_from_slice(&dict.to_le_bytes());
    s.push(0);
    s.extend_from_slice(&d(12).to_be_bytes());
    s.extend_from_slice(&bytes[16..end]);
    let opts = lzma_rs::decompress::Options {
        unpacked_size: lzma_rs::decompress::UnpackedSize::UseProvided(Some(size as u64)),
        memlimit: Some(MAX_UNPACKED as usize),
        allow_incomplete: false,
    };
    // Grown as decoded: a short damaged file claiming a large size costs little.
    let mut out = Vec::with_capacity((size as usize).min(bytes.len().saturating_mul(8)));
    lzma_rs::lzma_decompress_with_options(&mut Cursor::new(s), &mut out, &opts)
        .map_err(|e| KpackError::Lzma(e.to_string()))?;
    if out.len() != size as usize {
        return Err(KpackError::Lzma(format!(
            "{} bytes unpacked, the header says {size}",
            out.len()
        )));
    }
    if filter != 0 {
        let calls = d(end);
        unfilter(&mut out, calls, bytes[end + 4], filter == 0x80).map_err(KpackError::Calls)?;
    }
    Ok(out)
}

/// The scan shared by both directions: the index of each place a converted call may start
/// (after `E8`/`E9`, or with filter 2 also after `0F 80..8F`), in the kernel's order, given
/// the bytes seen so far; `step` is told each place and returns how many bytes to skip there.
fn scan(data: &[u8], two: bool, mut step: impl FnMut(usize) -> Option<usize>) {
    let mut i = 0;
    while i < data.len() {
        let mut al = data[i];
        i += 1;
        let cand = loop {
            if two && al == 0x0f {
                let Some(&b) = data.get(i) else { return };
                i += 1;
                al = b;
                if al < 0x80 {
                    continue;
                }
                if al < 0x90 {
                    break true;
                }
            }
            break al == 0xe8 || al == 0xe9;
        };
        if cand && i < data.len() {
            match step(i) {
                Some(skip) => i += skip,
                None => return,
            }
        }
    }
}

/// Undo the call/jump filter: `calls` conversions marked by `marker`. Err: calls not found.
fn unfilter(out: &mut [u8], calls: u32, marker: u8, two: bool) -> Result<(), u32> {
    if calls == 0 {
        return Ok(());
    }
    // The places come from the bytes before each (the kernel converts in place and skips the
    // four bytes it wrote, so it never reads a converted byte).
    let mut at = Vec::new();
    scan(out, two, |i| {
        if out[i] != marker || i + 4 > out.len() {
            return Some(0);
        }
        at.push(i);
        (at.len() < calls as usize).then_some(4)
    });
    for &i in &at {
        let v = u32::from_be_bytes([0, out[i + 1], out[i + 2], out[i + 3]]);
        let rel = v.wrapping_sub((i + 4) as u32);
        out[i..i + 4].copy_from_slice(&rel.to_le_bytes());
    }
    match calls - at.len() as u32 {
        0 => Ok(()),
        left => Err(left),
    }
}

/// Apply kpack's call/jump filter (1, or 2 with `two`): calls whose target lies in the data
/// (and below 16 MiB) get the absolute target, big-endian, behind a marker byte that no
/// unconverted call starts with. `None` when no call converts or no marker byte is free.
pub fn filter(data: &[u8], two: bool) -> Option<(Vec<u8>, u32, u8)> {
    let limit = data.len().min(0x100_0000) as u32;
    let mut conv = Vec::new();
    let mut used = [false; 256];
    scan(data, two, |i| {
        if i + 4 <= data.len() {
            let rel = u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
            let target = rel.wrapping_add((i + 4) as u32);
            if target < limit {
                conv.push((i, target));
                return Some(4);
            }
        }
        used[data[i] as usize] = true;
        Some(0)
    });
    let marker = (0..=255u8).find(|&b| !used[b as usize])?;
    if conv.is_empty() {
        return None;
    }
    let mut out = data.to_vec();
    for &(i, t) in &conv {
        let be = t.to_be_bytes();
        out[i..i + 4].copy_from_slice(&[marker, be[1], be[2], be[3]]);
    }
    Some((out, conv.len() as u32, marker))
}

/// Pack `data` as a kpack file with call/jump filter 1 (or 2 with `two`); `None` when the
/// filter converts nothing.
pub fn pack_filtered(data: &[u8], two: bool) -> Option<Vec<u8>> {
    let (filtered, calls, marker) = filter(data, two)?;
    let mut out = pack(&filtered);
    out[4..8].copy_from_slice(&(data.len() as u32).to_le_bytes());
    out[8..12].copy_from_slice(&(1u32 | if two { 0x80 } else { 0x40 }).to_le_bytes());
    out.extend_from_slice(&calls.to_le_bytes());
    out.push(marker);
    Some(out)
}

/// Pack `data` as a kpack file (LZMA, no filter). The encoder is `lzma-rs`'s simple one (it
/// emits literals only), which any LZMA decoder reads; meant for tests and fixtures.
pub fn pack(data: &[u8]) -> Vec<u8> {
    let opts = lzma_rs::compress::Options {
        unpacked_size: lzma_rs::compress::UnpackedSize::SkipWritingToHeader,
    };
    let mut s = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = lzma_rs::lzma_compress_with_options(&mut Cursor::new(data), &mut s, &opts);
    // s: props (1), dictionary size (4), then the range coder's bytes: 0, code (4, big-endian), ...
    let rc = &s[5..];
    let mut out = Vec::with_capacity(rc.len() + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let code = u32::from_be_bytes([rc[1], rc[2], rc[3], rc[4]]);
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&rc[5..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 40 lines "kpack line N: hello, hello, hello!" (N = line mod 7) packed with liblzma
    /// (Python's `lzma`, FORMAT_ALONE, lc 3 lp 0 pb 2) and turned into a kpack file: a stream
    /// full of matches and repeats, which `pack`'s literal-only encoder never makes.
    const LIBLZMA: &[u8] = &[
        0x4b, 0x50, 0x43, 0x4b, 0x78, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x45, 0x08, 0x9c,
        0x35, 0xb8, 0x5a, 0xa6, 0xb1, 0x3c, 0x38, 0x59, 0xd0, 0xfa, 0xb0, 0x24, 0x30, 0xea, 0x6d,
        0xcd, 0xf5, 0xa7, 0xca, 0x99, 0x7d, 0x80, 0xe0, 0x88, 0x9f, 0xd3, 0x5f, 0x51, 0xaf, 0xfc,
        0x89, 0x3f, 0x20, 0x58, 0x33, 0x3b, 0xf0, 0x5b, 0xe5, 0x81, 0x7c, 0x39, 0x28, 0x75, 0xf9,
        0xf1, 0x28, 0x2e, 0xbf, 0x81, 0xef, 0x89, 0x43, 0xff, 0xff, 0xb8, 0x03, 0xc0, 0x00,
    ];

    #[test]
    fn a_real_lzma_stream_unpacks() {
        let want: String = (0..40)
            .map(|i| format!("kpack line {}: hello, hello, hello!\n", i % 7))
            .collect();
        assert_eq!(unpack(LIBLZMA).unwrap(), want.as_bytes());
    }

    #[test]
    fn round_trip() {
        for data in [
            &b""[..],
            b"a",
            b"MENUET01 hello hello hello hello",
            &[0u8; 10000],
        ] {
            let p = pack(data);
            assert!(is_kpack(&p));
            assert_eq!(unpack(&p).unwrap(), data);
        }
        let big: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
        assert_eq!(unpack(&pack(&big)).unwrap(), big);
    }

    /// Code with near calls and jumps (E8/E9 rel32, 0F 8x rel32) to places inside it, one call
    /// out of it, and data bytes that look like opcodes.
    fn code() -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..200u32 {
            let here = v.len() as u32;
            match i % 5 {
                0 => v.push(0xe8),
                1 => v.push(0xe9),
                2 => v.extend_from_slice(&[0x0f, 0x84]),
                3 => v.push(0x90),
                _ => v.extend_from_slice(&[0x0f, 0x0f, 0xe8]),
            }
            let after = v.len() as u32 + 4;
            let target = (i * 37) % (here + 1);
            let rel = if i == 77 {
                0x7fff_0000
            } else {
                target.wrapping_sub(after)
            };
            v.extend_from_slice(&rel.to_le_bytes());
            v.extend_from_slice(&[0x55, 0x89, 0xe5, (i % 256) as u8]);
        }
        v
    }

    #[test]
    fn call_filters_round_trip() {
        let c = code();
        for two in [false, true] {
            let (f, calls, _) = filter(&c, two).unwrap();
            assert!(calls > 100, "{calls}");
            assert_ne!(f, c);
            let p = pack_filtered(&c, two).unwrap();
            assert_eq!(p[8], if two { 0x81 } else { 0x41 });
            assert_eq!(unpack(&p).unwrap(), c, "filter {}", 1 + two as u8);
            // A count larger than the calls there is refused.
            let mut q = p.clone();
            let n = q.len();
            q[n - 5..n - 1].copy_from_slice(&(calls + 50).to_le_bytes());
            assert!(matches!(unpack(&q), Err(KpackError::Calls(_))));
        }
        // Filter 2 converts the 0F 8x jumps filter 1 leaves.
        assert!(filter(&c, true).unwrap().1 > filter(&c, false).unwrap().1);
        assert!(filter(b"no calls here", false).is_none());
    }

    #[test]
    fn bad_files_are_refused() {
        let mut p = pack(b"some program bytes");
        assert_eq!(unpack(&p[..10]), Err(KpackError::TooShort(10)));
        p[8] = 2;
        assert_eq!(unpack(&p), Err(KpackError::Method(2)));
        p[8] = 0xc1;
        assert_eq!(unpack(&p), Err(KpackError::Filter(0xc1)));
        p[8] = 1;
        p[4..8].copy_from_slice(&(MAX_UNPACKED + 1).to_le_bytes());
        assert_eq!(unpack(&p), Err(KpackError::TooLarge(MAX_UNPACKED + 1)));
        // A stream cut short cannot give the size its header promises.
        let mut q = pack(&[7u8; 5000]);
        q.truncate(40);
        assert!(matches!(unpack(&q), Err(KpackError::Lzma(_))));
    }
}
