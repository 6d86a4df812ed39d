//! # ipcemu-loader
//!
//! Turns the bytes of a guest executable into an [`Image`]: the memory to map, the bytes to
//! put there, the entry point and the stack, and where the command line and path go. It knows
//! nothing of Unicorn. Formats: KolibriOS `MENUET00`/`MENUET01`/`MENUET02` flat images and
//! static ELF32 i386 executables (parsed with goblin). Everything else is refused with a
//! [`LoadError`] that names the problem.

#![warn(missing_docs)]

use byteorder::{ByteOrder, LittleEndian as LE};
use goblin::elf::{header, program_header::PT_LOAD, Elf};
use thiserror::Error;
pub mod coff;
pub mod kpack;
pub mod pe;

/// Which loader produced an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// KolibriOS flat executable with a `MENUETxx` header.
    Menuet,
    /// ELF32 i386 static executable.
    Elf32,
    /// DOS `.COM` program (16-bit real mode, loaded at 1000h:0100h behind a PSP).
    Com,
    /// 32-bit Windows PE executable (imports are bound by the Win32 personality).
    Pe32,
}

/// A memory region to map, with the bytes to copy to its start (the rest is zero).
#[derive(Debug, Clone)]
pub struct Segment {
    /// Page-aligned start address.
    pub base: u32,
    /// Page-aligned size.
    pub size: u32,
    /// Bytes to place at `base + offset`.
    pub data: Vec<(u32, Vec<u8>)>,
}

/// A loaded image, ready for a machine to map.
#[derive(Debug, Clone)]
pub struct Image {
    /// The format.
    pub format: Format,
    /// Regions to map (non-overlapping, sorted by base).
    pub segments: Vec<Segment>,
    /// Initial eip.
    pub entry: u32,
    /// Initial esp.
    pub stack: u32,
    /// MENUET: the memory size from the header (function 9 reports it). ELF: end of the
    /// highest segment.
    pub mem_size: u32,
    /// MENUET v1: where the command line goes (0 = none).
    pub params_addr: u32,
    /// MENUET v1: where the program path goes (0 = none).
    pub path_addr: u32,
    /// PE32: the parsed image (imports to bind, TLS, stack sizes), for the Win32 personality.
    pub pe: Option<Box<pe::PeImage>>,
}

/// Why an image was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LoadError {
    /// Fewer bytes than a header.
    #[error("file is too short ({0} bytes) to be an executable")]
    TooShort(usize),
    /// Not a format ipcemu runs.
    #[error("unsupported format: {0}")]
    Unsupported(String),
    /// A header field is inconsistent.
    #[error("malformed {format} header: {what}")]
    Malformed {
        /// Format name.
        format: &'static str,
        /// What is wrong.
        what: String,
    },
}

const PAGE: u64 = 4096;
/// Largest memory a MENUET image may ask for (the guest lives below 2 GiB).
pub const MAX_MENUET_MEM: u32 = 0x8000_0000;
/// Top of the stack region given to ELF guests.
pub const ELF_STACK_TOP: u32 = 0xC000_0000;
/// Size of the stack region given to ELF guests.
pub const ELF_STACK_SIZE: u32 = 1 << 20;
/// Most memory regions an ELF image is mapped as (see [`load_elf`]).
pub const MAX_ELF_REGIONS: usize = 64;
/// The bytes all PT_LOAD segments of an ELF copy may be at most this many times the file's
/// size (plus 64 KiB): a file naming one range in thousands of segments is refused.
pub const MAX_ELF_COPY_FACTOR: u64 = 4;

fn page_up(v: u64) -> u64 {
    (v + PAGE - 1) & !(PAGE - 1)
}

fn bad(format: &'static str, what: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        format,
        what: what.into(),
    }
}

/// Segment a `.COM` program is loaded in (its PSP is at offset 0).
pub const COM_SEGMENT: u16 = 0x1000;
/// Largest `.COM` program: 64 KiB minus the PSP and a stack word.
pub const MAX_COM: usize = 0xFF00;
/// Real-mode memory given to DOS guests.
pub const DOS_MEMORY: u32 = 0x10_0000;

/// Load an image, using the file name where the format has no signature (`.COM`).
pub fn load_named(name: &str, bytes: &[u8]) -> Result<Image, LoadError> {
    let is_com = name
        .rsplit('.')
        .next()
        .is_some_and(|e| e.eq_ignore_ascii_case("com"))
        && name.contains('.');
    if is_com && !bytes.starts_with(b"MENUET") && !bytes.starts_with(b"\x7fELF") {
        return load_com(bytes);
    }
    load(bytes)
}

/// Load a DOS `.COM` program: 1 MiB of real-mode memory, a PSP at 1000h:0000h (`INT 20h` at
/// offset 0, memory top at 02h), the program at 1000h:0100h, SP = FFFEh over a zero word
/// (written after the program, so a `ret` from a program of the largest size, [`MAX_COM`]
/// bytes, still reaches `INT 20h`).
/// The command tail (PSP:80h) is written by the machine.
pub fn load_com(bytes: &[u8]) -> Result<Image, LoadError> {
    const F: &str = "DOS .COM";
    if bytes.starts_with(b"MZ") || bytes.starts_with(b"ZM") {
        return Err(LoadError::Unsupported(
            "MZ (DOS .EXE) executable named .COM; only flat .COM programs are supported".into(),
        ));
    }
    if bytes.is_empty() {
        return Err(bad(F, "empty file"));
    }
    if bytes.len() > MAX_COM {
        return Err(bad(
            F,
            format!(
                "{} bytes is larger than a .COM program can be ({MAX_COM})",
                bytes.len()
            ),
        ));
    }
    let psp = (COM_SEGMENT as u32) << 4;
    let mut psp_bytes = vec![0u8; 0x80];
    psp_bytes[0] = 0xCD; // INT 20h
    psp_bytes[1] = 0x20;
    psp_bytes[2..4].copy_from_slice(&0xA000u16.to_le_bytes()); // top of memory segment
    Ok(Image {
        format: Format::Com,
        segments: vec![Segment {
            base: 0,
            size: DOS_MEMORY,
            // The zero return word goes last: a program of 0xFF00 bytes reaches the end of
            // its segment, and DOS, too, pushes the word over its last two bytes.
            data: vec![
                (psp, psp_bytes),
                (psp + 0x100, bytes.to_vec()),
                (psp + 0xFFFE, vec![0, 0]),
            ],
        }],
        entry: 0x100,
        stack: 0xFFFE,
        mem_size: DOS_MEMORY,
        params_addr: psp + 0x80,
        path_addr: 0,
        pe: None,
    })
}

/// Load any supported image that has a signature (MENUET, ELF).
pub fn load(bytes: &[u8]) -> Result<Image, LoadError> {
    if bytes.len() >= 8 && &bytes[..6] == b"MENUET" {
        return load_menuet(bytes);
    }
    if kpack::is_kpack(bytes) {
        // As the kernel's load_file: unpack, then load what is inside.
        let inner = kpack::unpack(bytes)
            .map_err(|e| LoadError::Unsupported(format!("kpack-compressed image: {e}")))?;
        if !inner.starts_with(b"MENUET") {
            return Err(LoadError::Unsupported(
                "kpack-compressed file that is not a MENUET image".into(),
            ));
        }
        return load_menuet(&inner);
    }
    if bytes.len() >= 4 && &bytes[..4] == b"\x7fELF" {
        return load_elf(bytes);
    }
    if pe::is_pe(bytes) {
        return load_pe32(bytes);
    }
    if bytes.len() >= 2 && &bytes[..2] == b"MZ" {
        return Err(LoadError::Unsupported(
            "MZ/PE executable without a valid PE header (a DOS .EXE, or truncated); not supported"
                .into(),
        ));
    }
    if bytes.len() < 8 {
        return Err(LoadError::TooShort(bytes.len()));
    }
    Err(LoadError::Unsupported(
        "no MENUET01 or ELF signature at the start of the file".into(),
    ))
}

/// Load a PE32 executable at its preferred base: one segment for the headers and one per
/// section (the personality binds the imports, maps the stack and the TEB).
pub fn load_pe32(bytes: &[u8]) -> Result<Image, LoadError> {
    let pe = pe::load_pe(bytes, None)?;
    let mut segments = Vec::with_capacity(pe.sections.len() + 1);
    let hdr_size = page_up(pe.headers.len().max(1) as u64) as u32;
    segments.push(Segment {
        base: pe.image_base,
        size: hdr_size,
        data: vec![(0, pe.headers.clone())],
    });
    for s in &pe.sections {
        segments.push(Segment {
            base: s.va,
            size: s.size,
            data: vec![(0, s.data.clone())],
        });
    }
    segments.sort_by_key(|s| s.base);
    Ok(Image {
        format: Format::Pe32,
        segments,
        entry: pe.entry,
        stack: 0,
        mem_size: pe.size_of_image,
        params_addr: 0,
        path_addr: 0,
        pe: Some(Box::new(pe)),
    })
}

/// Load a MENUET00/01/02 flat image (loaded at address 0).
pub fn load_menuet(bytes: &[u8]) -> Result<Image, LoadError> {
    const F: &str = "MENUET";
    let ver = match &bytes[..8] {
        b"MENUET00" => 0,
        b"MENUET01" => 1,
        b"MENUET02" => 2,
        sig => {
            return Err(LoadError::Unsupported(format!(
                "unknown MENUET signature {:?}",
                String::from_utf8_lossy(sig)
            )))
        }
    };
    let hdr_len = if ver == 0 { 28 } else { 36 };
    if bytes.len() < hdr_len {
        return Err(bad(
            F,
            format!("header needs {hdr_len} bytes, file has {}", bytes.len()),
        ));
    }
    let f = |off: usize| LE::read_u32(&bytes[off..off + 4]);
    let entry = f(12);
    let image_end = f(16);
    let mem = f(20);
    let stack = f(24);
    let (params, path) = if ver == 0 { (0, 0) } else { (f(28), f(32)) };
    if mem == 0 || mem > MAX_MENUET_MEM {
        return Err(bad(
            F,
            format!("memory size {mem:#x} is not in 1..={MAX_MENUET_MEM:#x}"),
        ));
    }
    if image_end > mem {
        return Err(bad(
            F,
            format!("image ({image_end:#x} bytes) is larger than its memory ({mem:#x})"),
        ));
    }
    if entry >= mem {
        return Err(bad(
            F,
            format!("entry point {entry:#x} is outside its memory ({mem:#x})"),
        ));
    }
    if stack > mem {
        return Err(bad(
            F,
            format!("initial esp {stack:#x} is outside its memory ({mem:#x})"),
        ));
    }
    for (name, addr, len) in [
        ("parameter buffer", params, 256u32),
        ("path buffer", path, 1),
    ] {
        if addr != 0 && (addr as u64 + len as u64) > mem as u64 {
            return Err(bad(
                F,
                format!("{name} {addr:#x} is outside its memory ({mem:#x})"),
            ));
        }
    }
    // Like the KolibriOS loader: the file's bytes are loaded (an image end past the end of
    // the file is normal: assemblers drop trailing reserved bytes), and bytes of the file
    // beyond the memory size are refused above only when the header claims them.
    let end = bytes.len().min(mem as usize);
    Ok(Image {
        format: Format::Menuet,
        segments: vec![Segment {
            base: 0,
            size: page_up(mem as u64) as u32,
            data: vec![(0, bytes[..end].to_vec())],
        }],
        entry,
        stack,
        mem_size: mem,
        params_addr: params,
        path_addr: path,
        pe: None,
    })
}

/// Pages `start..end` of an ELF image and the PT_LOAD pieces in them: (program-header index,
/// virtual address, file bytes).
type Span<'a> = (u64, u64, Vec<(usize, u64, &'a [u8])>);

/// Load a static ELF32 i386 executable. PT_LOAD segments whose pages overlap or touch share
/// one region; an image of more than [`MAX_ELF_REGIONS`] regions has its smallest gaps mapped
/// too, so loading stays linear in the number of segments.
pub fn load_elf(bytes: &[u8]) -> Result<Image, LoadError> {
    const F: &str = "ELF";
    let elf = Elf::parse(bytes).map_err(|e| bad(F, e.to_string()))?;
    if elf.is_64 {
        return Err(LoadError::Unsupported(
            "ELF64 executable; ipcemu runs 32-bit i386 guests".into(),
        ));
    }
    if elf.header.e_machine != header::EM_386 {
        return Err(LoadError::Unsupported(format!(
            "ELF for machine {} ({}); ipcemu runs i386",
            header::machine_to_str(elf.header.e_machine),
            elf.header.e_machine
        )));
    }
    if elf.header.e_type != header::ET_EXEC {
        return Err(LoadError::Unsupported(format!(
            "ELF type {} (only static ET_EXEC executables; build with -static -no-pie)",
            header::et_to_str(elf.header.e_type)
        )));
    }
    if elf.interpreter.is_some() {
        return Err(LoadError::Unsupported(
            "dynamically linked ELF (has PT_INTERP)".into(),
        ));
    }
    // Each PT_LOAD as (page-aligned start, page-aligned end, its index, its bytes); merged
    // below in one sorted sweep, so thousands of segments load in O(n log n).
    let mut pieces: Vec<(u64, u64, usize, u64, &[u8])> = Vec::new();
    let mut top = 0u64;
    let mut copied = 0u64;
    for (i, ph) in elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == PT_LOAD)
        .enumerate()
    {
        let (va, msz, off, fsz) = (ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz);
        if fsz > msz {
            return Err(bad(
                F,
                format!("segment at {va:#x}: file size {fsz:#x} > memory size {msz:#x}"),
            ));
        }
        let Some(file_end) = off.checked_add(fsz).filter(|&e| e <= bytes.len() as u64) else {
            return Err(bad(
                F,
                format!("segment at {va:#x}: file range past the end of the file"),
            ));
        };
        let end = va
            .checked_add(msz)
            .filter(|&e| e <= ELF_STACK_TOP as u64 - ELF_STACK_SIZE as u64);
        let Some(end) = end else {
            return Err(bad(
                F,
                format!("segment at {va:#x} (+{msz:#x}) overlaps the stack or 4 GiB"),
            ));
        };
        if msz == 0 {
            continue;
        }
        copied += fsz;
        if copied > MAX_ELF_COPY_FACTOR * bytes.len() as u64 + (1 << 16) {
            return Err(bad(
                F,
                format!(
                    "PT_LOAD segments copy more than {MAX_ELF_COPY_FACTOR} times the file's {} \
                     bytes (file ranges used over and over)",
                    bytes.len()
                ),
            ));
        }
        top = top.max(end);
        let base = va & !(PAGE - 1);
        pieces.push((
            base,
            page_up(end),
            i,
            va,
            &bytes[off as usize..file_end as usize],
        ));
    }
    pieces.sort_by_key(|p| (p.0, p.2));
    // Segments whose pages overlap or touch become one region.
    let mut spans: Vec<Span<'_>> = Vec::new();
    for (base, end, i, va, data) in pieces {
        match spans.last_mut() {
            Some(last) if base <= last.1 => {
                last.1 = last.1.max(end);
                last.2.push((i, va, data));
            }
            _ => spans.push((base, end, vec![(i, va, data)])),
        }
    }
    // Unicorn's cost per mapped region grows with the number of regions: past
    // MAX_ELF_REGIONS, the smallest gaps are mapped too (zero pages that cost nothing until
    // touched), keeping the largest MAX_ELF_REGIONS - 1 gaps as holes.
    if spans.len() > MAX_ELF_REGIONS {
        let mut gaps: Vec<(u64, usize)> = spans
            .windows(2)
            .enumerate()
            .map(|(i, w)| (w[1].0 - w[0].1, i))
            .collect();
        gaps.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut keep = vec![false; spans.len()];
        for &(_, i) in gaps.iter().take(MAX_ELF_REGIONS - 1) {
            keep[i] = true;
        }
        let mut merged: Vec<Span<'_>> = Vec::new();
        for (i, sp) in spans.into_iter().enumerate() {
            match merged.last_mut() {
                Some(last) if i > 0 && !keep[i - 1] => {
                    last.1 = last.1.max(sp.1);
                    last.2.extend(sp.2);
                }
                _ => merged.push(sp),
            }
        }
        spans = merged;
    }
    let mut segs: Vec<Segment> = spans
        .into_iter()
        .map(|(base, end, mut data)| {
            // Later program headers win where file bytes overlap, as before.
            data.sort_by_key(|d| d.0);
            Segment {
                base: base as u32,
                size: (end - base) as u32,
                data: data
                    .into_iter()
                    .map(|(_, va, d)| ((va - base) as u32, d.to_vec()))
                    .collect(),
            }
        })
        .collect();
    if segs.is_empty() {
        return Err(bad(F, "no loadable (PT_LOAD) segment"));
    }
    let entry = elf.entry as u32;
    if !segs
        .iter()
        .any(|s| entry >= s.base && (entry as u64) < s.base as u64 + s.size as u64)
    {
        return Err(bad(
            F,
            format!("entry point {entry:#x} is outside every loaded segment"),
        ));
    }
    segs.push(Segment {
        base: ELF_STACK_TOP - ELF_STACK_SIZE,
        size: ELF_STACK_SIZE,
        data: vec![],
    });
    Ok(Image {
        format: Format::Elf32,
        segments: segs,
        entry,
        stack: ELF_STACK_TOP - 16,
        mem_size: top as u32,
        params_addr: 0,
        path_addr: 0,
        pe: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menuet(entry: u32, end: u32, mem: u32, esp: u32) -> Vec<u8> {
        let mut v = b"MENUET01".to_vec();
        for x in [1, entry, end, mem, esp, 0x100, 0x200] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.resize(end.max(36) as usize, 0x90);
        v
    }

    #[test]
    fn com_images() {
        let img = load_named("x/PROG.COM", &[0xC3]).unwrap();
        assert_eq!(img.format, Format::Com);
        assert_eq!(img.entry, 0x100);
        assert!(load_named("a.com", &[])
            .unwrap_err()
            .to_string()
            .contains("empty"));
        assert!(load_named("a.com", b"MZxx")
            .unwrap_err()
            .to_string()
            .contains(".EXE"));
        assert!(load_named("a.com", &vec![0x90; MAX_COM + 1])
            .unwrap_err()
            .to_string()
            .contains("larger"));
        assert!(
            load_named("com", &[0xC3]).is_err(),
            "no extension: not a .COM"
        );
    }

    #[test]
    fn largest_com_keeps_its_zero_return_word() {
        let img = load_named("big.com", &vec![0xFF; MAX_COM]).unwrap();
        let seg = &img.segments[0];
        // Applied in order: the last write to 1000h:FFFEh must be the zero word.
        let last = seg
            .data
            .iter()
            .rev()
            .find(|(off, d)| {
                let (s, e) = (*off as u64, *off as u64 + d.len() as u64);
                s <= 0x1FFFE && 0x1FFFE < e
            })
            .unwrap();
        assert_eq!(last, &(0x1FFFE, vec![0, 0]));
    }

    /// An ELF32 i386 executable whose PT_LOAD segments each map the same 9 code bytes,
    /// `gap` bytes apart.
    fn elf_with_segments(n: usize, gap: u32) -> Vec<u8> {
        let base = 0x0804_8000u32;
        let code = [0xb8, 1, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80];
        let data_off = 52 + 32 * n as u32;
        let mut v = b"\x7fELF\x01\x01\x01\0".to_vec();
        v.resize(16, 0);
        for h in [2u16, 3] {
            v.extend_from_slice(&h.to_le_bytes());
        }
        for w in [1u32, base, 52, 0, 0] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        for h in [52u16, 32, n as u16, 40, 0, 0] {
            v.extend_from_slice(&h.to_le_bytes());
        }
        for i in 0..n as u32 {
            let va = base + i * gap;
            for w in [1u32, data_off, va, va, 9, 9, 5, 0x1000] {
                v.extend_from_slice(&w.to_le_bytes());
            }
        }
        v.extend_from_slice(&code);
        v
    }

    #[test]
    fn elf_with_thousands_of_segments_loads_in_few_regions() {
        // Touching pages: one region.
        let img = load(&elf_with_segments(4096, 0x1000)).unwrap();
        assert_eq!(img.segments.len(), 2, "one region and the stack");
        assert_eq!(img.segments[0].size, 4096 * 0x1000);
        assert_eq!(img.segments[0].data.len(), 4096);
        // Holes between them: at most MAX_ELF_REGIONS regions, every segment's bytes kept.
        let t = std::time::Instant::now();
        let img = load(&elf_with_segments(8192, 0x3000)).unwrap();
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(img.segments.len(), MAX_ELF_REGIONS + 1);
        let pieces: usize = img.segments.iter().map(|s| s.data.len()).sum();
        assert_eq!(pieces, 8192);
        for s in &img.segments {
            for (off, d) in &s.data {
                assert!(*off as u64 + d.len() as u64 <= s.size as u64);
            }
        }
        // A few segments keep their holes.
        let img = load(&elf_with_segments(3, 0x3000)).unwrap();
        assert_eq!(img.segments.len(), 4);
    }

    #[test]
    fn elf_reusing_one_file_range_too_often_is_refused() {
        let mut e = elf_with_segments(4, 0x1000);
        // Make every segment claim the whole file.
        let len = e.len() as u32;
        for i in 0..4 {
            let ph = 52 + 32 * i;
            e[ph + 4..ph + 8].copy_from_slice(&0u32.to_le_bytes());
            e[ph + 16..ph + 20].copy_from_slice(&len.to_le_bytes());
            e[ph + 20..ph + 24].copy_from_slice(&0x10_0000u32.to_le_bytes());
        }
        assert!(load(&e).is_ok(), "four copies of a small file are fine");
        let mut big = elf_with_segments(64, 0x10_0000);
        big.resize(0x4_0000, 0);
        let len = big.len() as u32;
        for i in 0..64 {
            let ph = 52 + 32 * i;
            big[ph + 4..ph + 8].copy_from_slice(&0u32.to_le_bytes());
            big[ph + 16..ph + 20].copy_from_slice(&len.to_le_bytes());
            big[ph + 20..ph + 24].copy_from_slice(&len.to_le_bytes());
        }
        let err = load(&big).unwrap_err().to_string();
        assert!(err.contains("more than 4 times"), "{err}");
    }

    #[test]
    fn good_menuet() {
        let img = load(&menuet(0x24, 0x40, 0x3000, 0x2ff0)).unwrap();
        assert_eq!(img.format, Format::Menuet);
        assert_eq!(img.entry, 0x24);
        assert_eq!(img.segments[0].size, 0x3000);
        assert_eq!(img.params_addr, 0x100);
    }

    #[test]
    fn bad_menuet_headers_are_named() {
        let e = |b: &[u8]| load(b).unwrap_err().to_string();
        assert!(e(&menuet(0x24, 0x40, 0x30, 0x20)).contains("larger than its memory"));
        assert!(e(&menuet(0x5000, 0x40, 0x3000, 0x20)).contains("entry point"));
        assert!(e(&menuet(0x24, 0x40, 0, 0x20)).contains("memory size"));
        assert!(e(&menuet(0x24, 0x40, 0x3000, 0x4000)).contains("esp"));
        let mut short = menuet(0x24, 0x40, 0x3000, 0x2000);
        short.truncate(0x30);
        assert!(
            load(&short).is_ok(),
            "trailing reserved bytes may be missing from the file"
        );
        assert!(e(&short[..20]).contains("header needs"));
        assert!(e(b"MZ\0\0\0\0\0\0\0\0").contains("MZ/PE"));
        assert!(e(b"hello").contains("too short"));
        assert!(e(b"hello world, not an image").contains("no MENUET01 or ELF"));
        assert!(e(b"KPCKxxxxxxxx").contains("kpack"));
        assert!(e(b"\x7fELF\x02\x01\x01garbage").contains("ELF"));
    }
}
