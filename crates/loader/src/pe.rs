//! PE32 executables: 32-bit Windows programs for i386 (`.exe`).
//!
//! [`load_pe`] turns the bytes of a PE32 image into a [`PeImage`]: its header bytes, its sections
//! (absolute addresses, page-aligned sizes, bytes, protection), the imports a Win32 personality
//! must resolve (with the absolute address of each import address table slot to fill), the TLS
//! directory and the stack sizes. Base relocations are applied when the image is loaded
//! somewhere else than its preferred base. Nothing is mapped here: the personality maps
//! `headers` at `image_base` and each section at its `va`.
//!
//! The parser is our own (it reads only what a loader needs and checks every offset, so no input
//! makes it panic); it refuses PE32+ (64-bit), other machines, .NET assemblies, DLLs, section
//! alignments below the page size, and images whose headers, sections, relocations, imports or
//! TLS directory point outside the file or the image, each with a [`LoadError`] that names the
//! problem.

use crate::LoadError;

const F: &str = "PE32";
const PAGE: u64 = 0x1000;

/// Largest `SizeOfImage` accepted (1 GiB).
pub const MAX_IMAGE_SIZE: u32 = 1 << 30;
/// `IMAGE_FILE_MACHINE_I386`.
pub const MACHINE_I386: u16 = 0x14c;
/// `IMAGE_SUBSYSTEM_WINDOWS_GUI`.
pub const SUBSYSTEM_GUI: u16 = 2;
/// `IMAGE_SUBSYSTEM_WINDOWS_CUI` (console).
pub const SUBSYSTEM_CONSOLE: u16 = 3;

const FILE_RELOCS_STRIPPED: u16 = 0x0001;
const FILE_EXECUTABLE_IMAGE: u16 = 0x0002;
const FILE_DLL: u16 = 0x2000;
const MAGIC_PE32: u16 = 0x10b;
const MAGIC_PE32_PLUS: u16 = 0x20b;
const MAGIC_ROM: u16 = 0x107;
const SCN_MEM_EXECUTE: u32 = 0x2000_0000;
const SCN_MEM_READ: u32 = 0x4000_0000;
const SCN_MEM_WRITE: u32 = 0x8000_0000;
const DIR_IMPORT: usize = 1;
const DIR_BASERELOC: usize = 5;
const DIR_TLS: usize = 9;
const DIR_CLR: usize = 14;
/// Offset of `ImageBase` in the PE32 optional header.
const OPT_IMAGE_BASE: u64 = 28;
/// Size of the fixed part of the PE32 optional header (before the data directories).
const OPT_FIXED: u64 = 96;
const MAX_SECTIONS: u16 = 96;
const MAX_NAME: u64 = 4096;
const MAX_TLS_CALLBACKS: u64 = 4096;
const MAX_IMPORTS: usize = 1 << 16;

/// A loaded PE32 image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeImage {
    /// Where the image is loaded: its preferred base, or the base given to [`load_pe`].
    pub image_base: u32,
    /// `SizeOfImage`, rounded up to the page size.
    pub size_of_image: u32,
    /// Absolute address of the entry point.
    pub entry: u32,
    /// The sections, in address order, not overlapping each other or the headers.
    pub sections: Vec<PeSection>,
    /// Every imported function, in import-table order.
    pub imports: Vec<PeImport>,
    /// Absolute addresses of the TLS callbacks (after relocation), in the order to call them.
    pub tls_callbacks: Vec<u32>,
    /// Absolute address of the DWORD that receives the image's TLS slot index
    /// (`IMAGE_TLS_DIRECTORY32.AddressOfIndex`), when the image has a TLS directory.
    pub tls_index_addr: Option<u32>,
    /// The TLS template, when the image has one: (start address, end address, bytes of zero
    /// fill after it). Each thread's TLS block is a copy of [start, end) followed by zero_fill
    /// zero bytes.
    pub tls_template: Option<(u32, u32, u32)>,
    /// `SizeOfStackReserve` as written in the image.
    pub stack_reserve: u32,
    /// `SizeOfStackCommit` as written in the image.
    pub stack_commit: u32,
    /// `Subsystem`: [`SUBSYSTEM_GUI`] (2), [`SUBSYSTEM_CONSOLE`] (3), or another value.
    pub subsystem: u16,
    /// The header bytes to map (read-only) at `image_base`: the first `SizeOfHeaders` bytes of
    /// the file. When the image was relocated, `OptionalHeader.ImageBase` in them holds the
    /// new base (as Windows does).
    pub headers: Vec<u8>,
}

/// A section of a loaded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeSection {
    /// The name from the section table (up to 8 bytes, e.g. `.text`).
    pub name: String,
    /// Absolute, page-aligned address.
    pub va: u32,
    /// Size in memory, page-aligned (`VirtualSize`, or `SizeOfRawData` when that is 0).
    pub size: u32,
    /// Bytes to copy to `va` (relocated); the rest of the section is zero.
    pub data: Vec<u8>,
    /// `IMAGE_SCN_MEM_READ`.
    pub read: bool,
    /// `IMAGE_SCN_MEM_WRITE`.
    pub write: bool,
    /// `IMAGE_SCN_MEM_EXECUTE`.
    pub exec: bool,
}

/// One imported function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeImport {
    /// The DLL name as written in the image (e.g. `KERNEL32.dll`).
    pub dll: String,
    /// The function name, for imports by name.
    pub name: Option<String>,
    /// The ordinal, for imports by ordinal.
    pub ordinal: Option<u16>,
    /// The hint (index into the DLL's export name table) of an import by name; 0 otherwise.
    pub hint: u16,
    /// Absolute address of the import address table slot the personality fills with the
    /// function's address (the slot may be in a read-only section such as `.rdata`).
    pub iat_addr: u32,
}

fn bad(what: impl Into<String>) -> LoadError {
    LoadError::Malformed {
        format: F,
        what: what.into(),
    }
}

fn page_up(v: u64) -> u64 {
    v.div_ceil(PAGE) * PAGE
}

fn slice(b: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(off).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    b.get(start..end)
}

fn u16_at(b: &[u8], off: u64) -> Option<u16> {
    let s = slice(b, off, 2)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: u64) -> Option<u32> {
    let s = slice(b, off, 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// True when the bytes start with `MZ` and `e_lfanew` points at a `PE\0\0` signature.
pub fn is_pe(bytes: &[u8]) -> bool {
    bytes.starts_with(b"MZ")
        && u32_at(bytes, 0x3c)
            .and_then(|off| slice(bytes, off as u64, 4))
            .is_some_and(|sig| sig == b"PE\0\0")
}

fn machine_name(m: u16) -> &'static str {
    match m {
        0x8664 => "x86-64",
        0xaa64 => "ARM64",
        0x1c0 => "ARM",
        0x1c2 => "ARM Thumb",
        0x1c4 => "ARMv7 Thumb-2",
        0x200 => "Itanium",
        0x166 => "MIPS",
        0x1f0 | 0x1f1 => "PowerPC",
        0xebc => "EFI byte code",
        0 => "unknown",
        _ => "another machine",
    }
}

fn reloc_type_name(t: u16) -> &'static str {
    match t {
        1 => "HIGH",
        2 => "LOW",
        4 => "HIGHADJ",
        5 => "MIPS_JMPADDR/ARM_MOV32",
        7 => "THUMB_MOV32",
        9 => "MIPS_JMPADDR16",
        10 => "DIR64",
        _ => "reserved",
    }
}

/// A section while loading: addresses are RVAs.
struct Sec {
    name: String,
    rva: u64,
    size: u64,
    data: Vec<u8>,
    read: bool,
    write: bool,
    exec: bool,
}

/// The image as the loader sees it in memory: the headers and the sections, by RVA.
struct Layout<'a> {
    headers: &'a [u8],
    headers_span: u64,
    secs: Vec<Sec>,
}

/// A region of the image that holds an RVA range: the headers, or a section.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    Headers,
    Section(usize),
}

impl Layout<'_> {
    /// The region containing all of [rva, rva + len).
    fn region(&self, rva: u64, len: u64) -> Option<(Region, u64)> {
        let end = rva.checked_add(len)?;
        if end <= self.headers_span {
            return Some((Region::Headers, rva));
        }
        let i = self
            .secs
            .iter()
            .position(|s| rva >= s.rva && end <= s.rva + s.size)?;
        Some((Region::Section(i), rva - self.secs[i].rva))
    }

    /// The bytes of a region that come from the file (the rest of it reads as zero) and its
    /// size in memory.
    fn region_bytes(&self, r: Region) -> (&[u8], u64) {
        match r {
            Region::Headers => (self.headers, self.headers_span),
            Region::Section(i) => (&self.secs[i].data, self.secs[i].size),
        }
    }

    fn read(&self, rva: u64, out: &mut [u8]) -> Option<()> {
        let (r, off) = self.region(rva, out.len() as u64)?;
        let (data, _) = self.region_bytes(r);
        for (k, b) in out.iter_mut().enumerate() {
            *b = usize::try_from(off + k as u64)
                .ok()
                .and_then(|o| data.get(o))
                .copied()
                .unwrap_or(0);
        }
        Some(())
    }

    fn u16(&self, rva: u64) -> Option<u16> {
        let mut b = [0; 2];
        self.read(rva, &mut b)?;
        Some(u16::from_le_bytes(b))
    }

    fn u32(&self, rva: u64) -> Option<u32> {
        let mut b = [0; 4];
        self.read(rva, &mut b)?;
        Some(u32::from_le_bytes(b))
    }

    /// A NUL-terminated string of at most `max` bytes that lies inside one region.
    fn cstr(&self, rva: u64, max: u64) -> Option<String> {
        let (r, off) = self.region(rva, 1)?;
        let (data, span) = self.region_bytes(r);
        let mut s = Vec::new();
        let mut o = off;
        while o < span && (s.len() as u64) < max {
            let b = usize::try_from(o)
                .ok()
                .and_then(|i| data.get(i))
                .copied()
                .unwrap_or(0);
            if b == 0 {
                return Some(String::from_utf8_lossy(&s).into_owned());
            }
            s.push(b);
            o += 1;
        }
        None
    }
}

/// The fields of the headers `load_pe` uses.
struct Headers {
    machine: u16,
    characteristics: u16,
    opt: u64,
    magic: u16,
    entry_rva: u32,
    image_base: u32,
    section_alignment: u32,
    size_of_image: u32,
    size_of_headers: u32,
    subsystem: u16,
    stack_reserve: u32,
    stack_commit: u32,
    dirs: [(u32, u32); 16],
    sec_table: u64,
    nsec: u16,
}

fn parse_headers(bytes: &[u8]) -> Result<Headers, LoadError> {
    let len = bytes.len() as u64;
    if !bytes.starts_with(b"MZ") {
        if bytes.len() < 2 {
            return Err(LoadError::TooShort(bytes.len()));
        }
        return Err(LoadError::Unsupported(
            "not a PE executable (no MZ signature)".into(),
        ));
    }
    let Some(lfanew) = u32_at(bytes, 0x3c) else {
        return Err(LoadError::TooShort(bytes.len()));
    };
    let pe = lfanew as u64;
    let Some(sig) = slice(bytes, pe, 4) else {
        return Err(bad(format!(
            "the PE header offset (e_lfanew {pe:#x}) is past the end of the file ({len} bytes): \
             a truncated file, or a DOS MZ program"
        )));
    };
    if sig != b"PE\0\0" {
        return Err(LoadError::Unsupported(match &sig[..2] {
            b"NE" => "16-bit NE executable (Windows 3.x or OS/2); ipcemu runs PE32 programs".into(),
            b"LE" | b"LX" => "LE/LX executable (OS/2 or a VxD); ipcemu runs PE32 programs".into(),
            _ => "MZ executable without a PE signature (a DOS .EXE?); ipcemu runs PE32 programs"
                .into(),
        }));
    }
    let coff = pe + 4;
    let (Some(machine), Some(nsec), Some(opt_size), Some(characteristics)) = (
        u16_at(bytes, coff),
        u16_at(bytes, coff + 2),
        u16_at(bytes, coff + 16),
        u16_at(bytes, coff + 18),
    ) else {
        return Err(bad(format!(
            "COFF file header at {coff:#x} is truncated (file is {len} bytes)"
        )));
    };
    let opt = coff + 20;
    let Some(magic) = u16_at(bytes, opt) else {
        return Err(bad(format!(
            "optional header at {opt:#x} is truncated (file is {len} bytes)"
        )));
    };
    if magic == MAGIC_PE32_PLUS {
        return Err(LoadError::Unsupported(
            "64-bit PE32+ image; ipcemu runs 32-bit i386 programs".into(),
        ));
    }
    if machine != MACHINE_I386 {
        return Err(LoadError::Unsupported(format!(
            "PE image for machine {} ({machine:#06x}); ipcemu runs i386 ({MACHINE_I386:#06x})",
            machine_name(machine)
        )));
    }
    if magic != MAGIC_PE32 {
        return Err(bad(if magic == MAGIC_ROM {
            "ROM image (optional header magic 0x107), not a PE32 executable".to_string()
        } else {
            format!("optional header magic {magic:#x} is not PE32 (0x10b)")
        }));
    }
    if (opt_size as u64) < OPT_FIXED {
        return Err(bad(format!(
            "optional header is {opt_size} bytes; PE32 needs at least {OPT_FIXED}"
        )));
    }
    let Some(o) = slice(bytes, opt, opt_size as u64) else {
        return Err(bad(format!(
            "optional header ({opt_size} bytes at {opt:#x}) is truncated (file is {len} bytes)"
        )));
    };
    let f32 = |off: u64| u32_at(o, off).unwrap_or(0);
    let f16 = |off: u64| u16_at(o, off).unwrap_or(0);
    let ndirs = (f32(92) as u64)
        .min(16)
        .min((opt_size as u64 - OPT_FIXED) / 8);
    let mut dirs = [(0u32, 0u32); 16];
    for (i, d) in dirs.iter_mut().enumerate().take(ndirs as usize) {
        let at = OPT_FIXED + 8 * i as u64;
        *d = (f32(at), f32(at + 4));
    }
    if characteristics & FILE_DLL != 0 {
        return Err(LoadError::Unsupported(
            "a DLL (IMAGE_FILE_DLL); ipcemu runs .exe programs, not libraries".into(),
        ));
    }
    if dirs[DIR_CLR] != (0, 0) {
        return Err(LoadError::Unsupported(
            "a .NET assembly (it has a CLR runtime header); ipcemu runs native i386 code".into(),
        ));
    }
    if characteristics & FILE_EXECUTABLE_IMAGE == 0 {
        return Err(LoadError::Unsupported(
            "not an executable image (IMAGE_FILE_EXECUTABLE_IMAGE is clear: an object file or a \
             failed link)"
                .into(),
        ));
    }
    Ok(Headers {
        machine,
        characteristics,
        opt,
        magic,
        entry_rva: f32(16),
        image_base: f32(28),
        section_alignment: f32(32),
        size_of_image: f32(56),
        size_of_headers: f32(60),
        subsystem: f16(68),
        stack_reserve: f32(72),
        stack_commit: f32(76),
        dirs,
        sec_table: opt + opt_size as u64,
        nsec,
    })
}

/// Checks that an image of `size` bytes (page-aligned) fits at `base`.
fn check_base(base: u32, size: u64) -> Result<(), String> {
    if base == 0 {
        return Err("base address 0".into());
    }
    if !(base as u64).is_multiple_of(PAGE) {
        return Err(format!("base address {base:#x} is not page-aligned"));
    }
    if base as u64 + size > 1 << 32 {
        return Err(format!(
            "the image ({size:#x} bytes) does not fit below 4 GiB at {base:#x}"
        ));
    }
    Ok(())
}

/// Load a PE32 i386 executable, at `base` instead of its preferred base when given (then base
/// relocations are applied: `IMAGE_REL_BASED_HIGHLOW` and `ABSOLUTE`; anything else is refused).
pub fn load_pe(bytes: &[u8], base: Option<u32>) -> Result<PeImage, LoadError> {
    let len = bytes.len() as u64;
    let h = parse_headers(bytes)?;
    debug_assert_eq!((h.machine, h.magic), (MACHINE_I386, MAGIC_PE32));

    // Image size and base.
    if h.section_alignment < PAGE as u32 {
        return Err(LoadError::Unsupported(format!(
            "section alignment {:#x} is below the 4 KiB page size (a \"low alignment\" image)",
            h.section_alignment
        )));
    }
    if !h.section_alignment.is_power_of_two() {
        return Err(bad(format!(
            "section alignment {:#x} is not a power of two",
            h.section_alignment
        )));
    }
    if h.size_of_image == 0 {
        return Err(bad("SizeOfImage is 0"));
    }
    if h.size_of_image > MAX_IMAGE_SIZE {
        return Err(bad(format!(
            "SizeOfImage {:#x} is larger than the 1 GiB ipcemu accepts",
            h.size_of_image
        )));
    }
    let size = page_up(h.size_of_image as u64);
    check_base(h.image_base, size).map_err(|e| bad(format!("preferred image base: {e}")))?;
    let load_base = base.unwrap_or(h.image_base);
    check_base(load_base, size).map_err(|e| LoadError::Unsupported(format!("cannot load: {e}")))?;
    let delta = load_base.wrapping_sub(h.image_base);

    // Headers and section table.
    if h.nsec == 0 {
        return Err(bad("no sections"));
    }
    if h.nsec > MAX_SECTIONS {
        return Err(bad(format!(
            "{} sections; at most {MAX_SECTIONS} are allowed",
            h.nsec
        )));
    }
    let table_end = h.sec_table + 40 * h.nsec as u64;
    if table_end > len {
        return Err(bad(format!(
            "section table ({} entries at {:#x}) is truncated (file is {len} bytes)",
            h.nsec, h.sec_table
        )));
    }
    let soh = h.size_of_headers as u64;
    if soh < table_end {
        return Err(bad(format!(
            "SizeOfHeaders {soh:#x} does not cover the section table (it ends at {table_end:#x})"
        )));
    }
    if soh > len {
        return Err(bad(format!(
            "SizeOfHeaders {soh:#x} is past the end of the file ({len} bytes)"
        )));
    }
    if soh > size {
        return Err(bad(format!(
            "SizeOfHeaders {soh:#x} is larger than SizeOfImage {size:#x}"
        )));
    }
    let headers_span = page_up(soh);
    let mut headers = bytes[..soh as usize].to_vec();

    // Sections.
    let mut secs: Vec<Sec> = Vec::new();
    for i in 0..h.nsec as u64 {
        let at = h.sec_table + 40 * i;
        let e = &bytes[at as usize..(at + 40) as usize];
        let f = |off: u64| u32_at(e, off).unwrap_or(0) as u64;
        let raw_name = &e[..8];
        let nul = raw_name.iter().position(|&b| b == 0).unwrap_or(8);
        let name = String::from_utf8_lossy(&raw_name[..nul]).into_owned();
        let (vsize, rva, raw_size, raw_ptr, chars) = (f(8), f(12), f(16), f(20), f(36) as u32);
        let vsize = if vsize == 0 { raw_size } else { vsize };
        if vsize == 0 {
            continue; // nothing to map
        }
        if rva % PAGE != 0 {
            return Err(bad(format!(
                "section {name:?} at RVA {rva:#x} is not page-aligned"
            )));
        }
        if rva < headers_span {
            return Err(bad(format!(
                "section {name:?} at RVA {rva:#x} overlaps the headers ({headers_span:#x} bytes)"
            )));
        }
        let msize = page_up(vsize);
        if rva + msize > size {
            return Err(bad(format!(
                "section {name:?} (RVA {rva:#x}, {msize:#x} bytes) extends past SizeOfImage \
                 {size:#x}"
            )));
        }
        if let Some(prev) = secs.last() {
            if rva < prev.rva + prev.size {
                return Err(bad(format!(
                    "section {name:?} at RVA {rva:#x} overlaps section {:?} ({:#x}..{:#x}) or \
                     is out of order",
                    prev.name,
                    prev.rva,
                    prev.rva + prev.size
                )));
            }
        }
        let load = raw_size.min(msize);
        let data = if load == 0 {
            Vec::new()
        } else {
            match slice(bytes, raw_ptr, load) {
                Some(d) => d.to_vec(),
                None => {
                    return Err(bad(format!(
                        "section {name:?}: its file data ({load:#x} bytes at offset \
                         {raw_ptr:#x}) is past the end of the file ({len} bytes)"
                    )))
                }
            }
        };
        secs.push(Sec {
            name,
            rva,
            size: msize,
            data,
            read: chars & SCN_MEM_READ != 0,
            write: chars & SCN_MEM_WRITE != 0,
            exec: chars & SCN_MEM_EXECUTE != 0,
        });
    }
    if secs.is_empty() {
        return Err(bad("every section is empty"));
    }

    // Entry point.
    let entry_rva = h.entry_rva as u64;
    if entry_rva == 0 {
        return Err(bad("no entry point (AddressOfEntryPoint is 0)"));
    }
    if !secs
        .iter()
        .any(|s| entry_rva >= s.rva && entry_rva < s.rva + s.size)
    {
        return Err(bad(format!(
            "entry point RVA {entry_rva:#x} is outside every section"
        )));
    }

    let mut lay = Layout {
        headers: &[],
        headers_span,
        secs,
    };

    // Base relocations.
    if delta != 0 {
        relocate(&mut lay, &h, delta)?;
        headers[(h.opt + OPT_IMAGE_BASE) as usize..(h.opt + OPT_IMAGE_BASE + 4) as usize]
            .copy_from_slice(&load_base.to_le_bytes());
    }
    lay.headers = &headers;

    let imports = imports(&lay, &h, load_base)?;
    let (tls_index_addr, tls_template, tls_callbacks) = tls(&lay, &h, load_base, size)?;

    let va = |rva: u64| (load_base as u64 + rva) as u32;
    let sections = lay
        .secs
        .into_iter()
        .map(|s| PeSection {
            name: s.name,
            va: va(s.rva),
            size: s.size as u32,
            data: s.data,
            read: s.read,
            write: s.write,
            exec: s.exec,
        })
        .collect();
    Ok(PeImage {
        image_base: load_base,
        size_of_image: size as u32,
        entry: va(entry_rva),
        sections,
        imports,
        tls_callbacks,
        tls_index_addr,
        tls_template,
        stack_reserve: h.stack_reserve,
        stack_commit: h.stack_commit,
        subsystem: h.subsystem,
        headers,
    })
}

/// Apply the base relocations for a load `delta` bytes above the preferred base.
fn relocate(lay: &mut Layout, h: &Headers, delta: u32) -> Result<(), LoadError> {
    let (dir, dir_size) = (
        h.dirs[DIR_BASERELOC].0 as u64,
        h.dirs[DIR_BASERELOC].1 as u64,
    );
    if h.characteristics & FILE_RELOCS_STRIPPED != 0 || dir == 0 || dir_size == 0 {
        return Err(LoadError::Unsupported(format!(
            "the image has no base relocations (stripped), so it can only be loaded at its \
             preferred base {:#x}",
            h.image_base
        )));
    }
    // The whole directory must come from the file (the loop below is then bounded by it).
    let in_file = match lay.region(dir, dir_size) {
        Some((Region::Section(i), o)) => o + dir_size <= lay.secs[i].data.len() as u64,
        _ => false,
    };
    if !in_file {
        return Err(bad(format!(
            "base relocation directory (RVA {dir:#x}, {dir_size:#x} bytes) is not inside the \
             file data of one section"
        )));
    }
    let mut off = 0u64;
    while off + 8 <= dir_size {
        let (Some(page), Some(block)) = (lay.u32(dir + off), lay.u32(dir + off + 4)) else {
            return Err(bad("base relocation block header unreadable"));
        };
        let (page, block) = (page as u64, block as u64);
        if block == 0 {
            break; // padding at the end, as Windows treats it
        }
        if block < 8 || block % 2 != 0 {
            return Err(bad(format!(
                "base relocation block at +{off:#x} has size {block:#x} (must be even and >= 8)"
            )));
        }
        if off + block > dir_size {
            return Err(bad(format!(
                "base relocation block at +{off:#x} ({block:#x} bytes) runs past the end of the \
                 relocation directory ({dir_size:#x} bytes)"
            )));
        }
        for k in 0..(block - 8) / 2 {
            let Some(e) = lay.u16(dir + off + 8 + 2 * k) else {
                return Err(bad("base relocation entry unreadable"));
            };
            let (ty, target) = (e >> 12, page + (e & 0xfff) as u64);
            match ty {
                0 => {}
                3 => patch_highlow(lay, target, delta)?,
                _ => {
                    return Err(LoadError::Unsupported(format!(
                        "base relocation type {ty} ({}) at RVA {target:#x}; only HIGHLOW (3) and \
                         ABSOLUTE (0) are supported",
                        reloc_type_name(ty)
                    )))
                }
            }
        }
        off += block;
    }
    Ok(())
}

fn patch_highlow(lay: &mut Layout, target: u64, delta: u32) -> Result<(), LoadError> {
    match lay.region(target, 4) {
        Some((Region::Section(i), o)) => {
            let s = &mut lay.secs[i];
            let name = &s.name;
            let Some(b) = usize::try_from(o)
                .ok()
                .and_then(|o| s.data.get_mut(o..o.checked_add(4)?))
            else {
                return Err(bad(format!(
                    "base relocation at RVA {target:#x} patches section {name:?} past its file \
                     data (uninitialised memory)"
                )));
            };
            let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]).wrapping_add(delta);
            b.copy_from_slice(&v.to_le_bytes());
            Ok(())
        }
        Some((Region::Headers, _)) => Err(bad(format!(
            "base relocation at RVA {target:#x} patches the headers"
        ))),
        None => Err(bad(format!(
            "base relocation at RVA {target:#x} patches outside the image's sections"
        ))),
    }
}

fn imports(lay: &Layout, h: &Headers, base: u32) -> Result<Vec<PeImport>, LoadError> {
    let dir = h.dirs[DIR_IMPORT].0 as u64;
    let mut out = Vec::new();
    if dir == 0 {
        return Ok(out);
    }
    for i in 0u64.. {
        let d = dir + 20 * i;
        let mut f = [0u32; 5];
        for (k, v) in f.iter_mut().enumerate() {
            *v = lay.u32(d + 4 * k as u64).ok_or_else(|| {
                bad(format!(
                    "import descriptor {i} at RVA {d:#x} is outside the image (no terminating \
                     empty descriptor)"
                ))
            })?;
        }
        let [ilt, _, _, name, iat] = f;
        if f == [0; 5] {
            break;
        }
        if name == 0 || iat == 0 {
            return Err(bad(format!(
                "import descriptor {i} at RVA {d:#x} has no DLL name or no import address table"
            )));
        }
        let dll = lay.cstr(name as u64, 256).ok_or_else(|| {
            bad(format!(
                "import descriptor {i}: the DLL name at RVA {name:#x} is outside the image or \
                 not terminated"
            ))
        })?;
        let lookup = u64::from(if ilt != 0 { ilt } else { iat });
        for j in 0u64.. {
            let thunk = lay.u32(lookup + 4 * j).ok_or_else(|| {
                bad(format!(
                    "imports from {dll}: lookup entry {j} at RVA {:#x} is outside the image",
                    lookup + 4 * j
                ))
            })?;
            let slot = iat as u64 + 4 * j;
            if !matches!(lay.region(slot, 4), Some((Region::Section(_), _))) {
                return Err(bad(format!(
                    "imports from {dll}: address table slot {j} at RVA {slot:#x} is outside the \
                     image's sections"
                )));
            }
            if thunk == 0 {
                break;
            }
            if out.len() == MAX_IMPORTS {
                return Err(bad(format!("more than {MAX_IMPORTS} imports")));
            }
            let iat_addr = (base as u64 + slot) as u32;
            if thunk & 0x8000_0000 != 0 {
                out.push(PeImport {
                    dll: dll.clone(),
                    name: None,
                    ordinal: Some(thunk as u16),
                    hint: 0,
                    iat_addr,
                });
                continue;
            }
            let hn = thunk as u64;
            let (Some(hint), Some(fname)) = (lay.u16(hn), lay.cstr(hn + 2, MAX_NAME)) else {
                return Err(bad(format!(
                    "imports from {dll}: the hint/name entry {j} at RVA {hn:#x} is outside the \
                     image or not terminated"
                )));
            };
            out.push(PeImport {
                dll: dll.clone(),
                name: Some(fname),
                ordinal: None,
                hint,
                iat_addr,
            });
        }
    }
    Ok(out)
}

type Tls = (Option<u32>, Option<(u32, u32, u32)>, Vec<u32>);

fn tls(lay: &Layout, h: &Headers, base: u32, size: u64) -> Result<Tls, LoadError> {
    let dir = h.dirs[DIR_TLS].0 as u64;
    if dir == 0 {
        return Ok((None, None, Vec::new()));
    }
    let mut f = [0u32; 6];
    for (k, v) in f.iter_mut().enumerate() {
        *v = lay.u32(dir + 4 * k as u64).ok_or_else(|| {
            bad(format!(
                "TLS directory at RVA {dir:#x} is outside the image's sections"
            ))
        })?;
    }
    let [start, end, index, callbacks, zero_fill, _] = f;
    // These are addresses (relocated like any pointer): back to RVAs.
    let rva = |va: u32| {
        let r = (va as u64).wrapping_sub(base as u64);
        (va as u64 >= base as u64 && r < size).then_some(r)
    };
    let template = if start == 0 && end == 0 {
        None
    } else {
        let ok = match (rva(start), rva(end.wrapping_sub(1))) {
            (Some(s), Some(_)) if end >= start => lay.region(s, (end - start) as u64).is_some(),
            (Some(s), None) if end == start => lay.region(s, 0).is_some(),
            _ => false,
        };
        if !ok {
            return Err(bad(format!(
                "TLS template {start:#x}..{end:#x} is not inside one section of the image"
            )));
        }
        if zero_fill > MAX_IMAGE_SIZE {
            return Err(bad(format!(
                "TLS zero fill {zero_fill:#x} is larger than the 1 GiB ipcemu accepts"
            )));
        }
        Some((start, end, zero_fill))
    };
    let index = if index == 0 {
        None
    } else {
        match rva(index) {
            Some(r) if matches!(lay.region(r, 4), Some((Region::Section(_), _))) => Some(index),
            _ => {
                return Err(bad(format!(
                    "TLS index address {index:#x} is outside the image's sections"
                )))
            }
        }
    };
    let mut cbs = Vec::new();
    if callbacks != 0 {
        let Some(list) = rva(callbacks) else {
            return Err(bad(format!(
                "TLS callback list {callbacks:#x} is outside the image"
            )));
        };
        for k in 0.. {
            if k == MAX_TLS_CALLBACKS {
                return Err(bad(format!(
                    "TLS callback list {callbacks:#x} has no end within {MAX_TLS_CALLBACKS} \
                     entries"
                )));
            }
            let cb = lay.u32(list + 4 * k).ok_or_else(|| {
                bad(format!(
                    "TLS callback list {callbacks:#x} runs outside the image's sections"
                ))
            })?;
            if cb == 0 {
                break;
            }
            match rva(cb) {
                Some(r) if matches!(lay.region(r, 1), Some((Region::Section(_), _))) => {
                    cbs.push(cb)
                }
                _ => {
                    return Err(bad(format!(
                        "TLS callback {k} at {cb:#x} is outside the image's sections"
                    )))
                }
            }
        }
    }
    Ok((index, template, cbs))
}
