//! kpack-compressed KolibriOS files (`KPCK`), as the kernel's `unpack` (`kernel/trunk/unpacker.inc`)
//! reads them:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | `KPCK` |
//! | 4 | 4 | unpacked size |
//! | 8 | 4 | flags: bits 0..5 method (1 = LZMA), bit 6 / bit 7 a call/jump filter applied after unpacking |
//! | 12 | | the LZMA stream: lc = 3, lp = 0, pb = 2, no header; its range coder starts with the code as a little-endian dword (a standard stream's first byte, always 0, is left out and the next four are stored byte-swapped) |
//!
//! The LZMA decoding itself is the `lzma-rs` crate's. The call/jump filters (flags 0x40, 0x80)
//! are not supported: such files are refused ([`KpackError::Filter`]).

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
    /// A call/jump filter is set.
    #[error("kpack call/jump filter (flags {0:#x}) is not supported")]
    Filter(u32),
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
    if flags & 0xc0 != 0 {
        return Err(KpackError::Filter(flags));
    }
    if size > MAX_UNPACKED {
        return Err(KpackError::TooLarge(size));
    }
    // A standard LZMA stream: properties, dictionary size, then 0 and the code big-endian.
    let dict = size.max(0x1000);
    let mut s = Vec::with_capacity(bytes.len() + 6);
    s.push(PROPS);
    s.extend_from_slice(&dict.to_le_bytes());
    s.push(0);
    s.extend_from_slice(&d(12).to_be_bytes());
    s.extend_from_slice(&bytes[16..]);
    let opts = lzma_rs::decompress::Options {
        unpacked_size: lzma_rs::decompress::UnpackedSize::UseProvided(Some(size as u64)),
        memlimit: Some(MAX_UNPACKED as usize),
        allow_incomplete: false,
    };
    let mut out = Vec::with_capacity(size as usize);
    lzma_rs::lzma_decompress_with_options(&mut Cursor::new(s), &mut out, &opts)
        .map_err(|e| KpackError::Lzma(e.to_string()))?;
    if out.len() != size as usize {
        return Err(KpackError::Lzma(format!(
            "{} bytes unpacked, the header says {size}",
            out.len()
        )));
    }
    Ok(out)
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

    #[test]
    fn bad_files_are_refused() {
        let mut p = pack(b"some program bytes");
        assert_eq!(unpack(&p[..10]), Err(KpackError::TooShort(10)));
        p[8] = 2;
        assert_eq!(unpack(&p), Err(KpackError::Method(2)));
        p[8] = 0x41;
        assert_eq!(unpack(&p), Err(KpackError::Filter(0x41)));
        p[8] = 1;
        p[4..8].copy_from_slice(&(MAX_UNPACKED + 1).to_le_bytes());
        assert_eq!(unpack(&p), Err(KpackError::TooLarge(MAX_UNPACKED + 1)));
        // A stream cut short cannot give the size its header promises.
        let mut q = pack(&[7u8; 5000]);
        q.truncate(40);
        assert!(matches!(unpack(&q), Err(KpackError::Lzma(_))));
    }
}
