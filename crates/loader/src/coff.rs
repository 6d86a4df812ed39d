//! KolibriOS libraries: MS COFF objects (fasm `format MS COFF`) laid out, relocated and their
//! export table found the way the kernel's `load_library` does (`kernel/trunk/core/dll.inc`:
//! `coff_get_align`, `fix_coff_symbols`, `fix_coff_relocs`, `rebase_coff`, `get_coff_sym`).
//!
//! * Sections are placed one after another in file order, each at its alignment (bits 20..23 of
//!   its characteristics; none given, or more than 4 KiB: 4 KiB); a section without raw data
//!   (`PtrRawData` = 0) is zero-filled; the image is the sum, `SizeOfRawData` each.
//! * A symbol of a section gets the section's address added; an undefined symbol is 0 (the
//!   kernel resolves nothing for libraries); absolute and debug symbols stay.
//! * Relocations: type 6 (`IMAGE_REL_I386_DIR32`) adds the symbol's address, type 20
//!   (`IMAGE_REL_I386_REL32`) adds the symbol's address minus the field's address minus 4;
//!   other types are left as they are.
//! * The export table is the symbol named `EXPORTS` (or `_EXPORTS`): pairs of (name pointer,
//!   function pointer) ending with a 0 dword, written by the library itself.
//!
//! Everything read from the file is bounds-checked; a malformed object is a [`CoffError`].

/// Largest library image accepted (bytes).
pub const MAX_IMAGE: u32 = 64 << 20;

/// Why an object cannot be loaded as a library.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoffError {
    /// Not an i386 COFF object (machine 0x14c).
    #[error("not an i386 MS COFF object")]
    NotCoff,
    /// A header, table or section lies outside the file, or a relocation outside its section.
    #[error("MS COFF object is damaged: {0}")]
    Damaged(&'static str),
    /// The image would be larger than [`MAX_IMAGE`].
    #[error("MS COFF image is larger than {MAX_IMAGE} bytes")]
    TooLarge,
    /// No `EXPORTS` symbol.
    #[error("the library has no EXPORTS symbol")]
    NoExports,
}

/// One section as laid out.
#[derive(Debug, Clone)]
struct Section {
    at: u32,
    size: u32,
    raw: u32,
    relocs: u32,
    nrelocs: u16,
}

/// A library laid out (before relocation, which needs its address).
#[derive(Debug, Clone)]
pub struct Library<'a> {
    file: &'a [u8],
    sections: Vec<Section>,
    size: u32,
    symtab: u32,
    nsyms: u32,
}

fn rd32(b: &[u8], o: u32) -> Result<u32, CoffError> {
    let o = o as usize;
    b.get(o..o + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(CoffError::Damaged("a field is past the end of the file"))
}

fn rd16(b: &[u8], o: u32) -> Result<u16, CoffError> {
    let o = o as usize;
    b.get(o..o + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(CoffError::Damaged("a field is past the end of the file"))
}

/// Whether `bytes` look like an i386 MS COFF object.
pub fn is_coff(bytes: &[u8]) -> bool {
    bytes.len() >= 20 && bytes[0] == 0x4c && bytes[1] == 0x01
}

impl<'a> Library<'a> {
    /// Parse and lay out the object.
    pub fn parse(file: &'a [u8]) -> Result<Library<'a>, CoffError> {
        if !is_coff(file) {
            return Err(CoffError::NotCoff);
        }
        let nsec = rd16(file, 2)? as u32;
        let symtab = rd32(file, 8)?;
        let nsyms = rd32(file, 12)?;
        if nsyms as u64 * 18 + symtab as u64 > file.len() as u64 {
            return Err(CoffError::Damaged(
                "the symbol table is past the end of the file",
            ));
        }
        let mut sections = Vec::with_capacity(nsec as usize);
        let mut at: u64 = 0;
        for i in 0..nsec {
            // The kernel reads the section table right after the 20-byte header.
            let h = 20 + i * 40;
            let raw_size = rd32(file, h + 16)?;
            let raw = rd32(file, h + 20)?;
            let relocs = rd32(file, h + 24)?;
            let nrelocs = rd16(file, h + 32)?;
            let ch = rd32(file, h + 36)?;
            let n = (ch >> 20) & 0xf;
            let align: u64 = if n == 0 || n > 13 { 4096 } else { 1 << (n - 1) };
            at = (at + align - 1) & !(align - 1);
            if raw != 0 && raw as u64 + raw_size as u64 > file.len() as u64 {
                return Err(CoffError::Damaged(
                    "a section's data is past the end of the file",
                ));
            }
            if nrelocs != 0 && relocs as u64 + nrelocs as u64 * 10 > file.len() as u64 {
                return Err(CoffError::Damaged("relocations past the end of the file"));
            }
            sections.push(Section {
                at: at as u32,
                size: raw_size,
                raw,
                relocs,
                nrelocs,
            });
            at += raw_size as u64;
            if at > MAX_IMAGE as u64 {
                return Err(CoffError::TooLarge);
            }
        }
        if at == 0 {
            return Err(CoffError::Damaged("no section data"));
        }
        Ok(Library {
            file,
            sections,
            size: at as u32,
            symtab,
            nsyms,
        })
    }

    /// Bytes the image needs.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The address of symbol `i` in an image at `base`.
    fn symbol(&self, i: u32, base: u32) -> Result<u32, CoffError> {
        if i >= self.nsyms {
            return Err(CoffError::Damaged(
                "a relocation names a symbol that does not exist",
            ));
        }
        let s = self.symtab + i * 18;
        let value = rd32(self.file, s + 8)?;
        let sec = rd16(self.file, s + 12)? as i16;
        Ok(match sec {
            0 => 0,
            -2..=-1 => value,
            n if n > 0 => {
                let sec = self.sections.get(n as usize - 1).ok_or(CoffError::Damaged(
                    "a symbol names a section that does not exist",
                ))?;
                value.wrapping_add(sec.at).wrapping_add(base)
            }
            _ => value,
        })
    }

    /// The image for address `base`, relocated, and the address of its export table.
    pub fn link(&self, base: u32) -> Result<(Vec<u8>, u32), CoffError> {
        let mut img = vec![0u8; self.size as usize];
        for s in &self.sections {
            if s.raw != 0 {
                let (a, r) = (s.at as usize, s.raw as usize);
                img[a..a + s.size as usize].copy_from_slice(&self.file[r..r + s.size as usize]);
            }
        }
        for s in &self.sections {
            for k in 0..s.nrelocs as u32 {
                let r = s.relocs + k * 10;
                let va = rd32(self.file, r)?;
                let sym = rd32(self.file, r + 4)?;
                let ty = rd16(self.file, r + 8)?;
                if ty != 6 && ty != 20 {
                    continue;
                }
                if va as u64 + 4 > s.size as u64 {
                    return Err(CoffError::Damaged("a relocation is outside its section"));
                }
                let at = (s.at + va) as usize;
                let target = self.symbol(sym, base)?;
                let field = u32::from_le_bytes([img[at], img[at + 1], img[at + 2], img[at + 3]]);
                let v = if ty == 6 {
                    field.wrapping_add(target)
                } else {
                    let place = base.wrapping_add(at as u32);
                    field
                        .wrapping_add(target)
                        .wrapping_sub(place)
                        .wrapping_sub(4)
                };
                img[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
        let exports = self
            .find(b"EXPORTS", base)
            .or_else(|| self.find(b"_EXPORTS", base))
            .ok_or(CoffError::NoExports)?;
        Ok((img, exports))
    }

    /// The address of the first symbol whose 8-byte short name is `name` (as the kernel's
    /// `get_coff_sym` compares).
    fn find(&self, name: &[u8], base: u32) -> Option<u32> {
        let mut i = 0;
        while i < self.nsyms {
            let s = (self.symtab + i * 18) as usize;
            let raw = self.file.get(s..s + 18)?;
            let n = &raw[..8];
            let len = n.iter().position(|&c| c == 0).unwrap_or(8);
            if &n[..len] == name {
                return self.symbol(i, base).ok();
            }
            i += 1 + raw[17] as u32;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-section object: 8 bytes of data, a DIR32 relocation at 0 and a REL32 at 4 against
    /// symbol 0 (`EXPORTS`, value 4, section 1).
    fn object() -> Vec<u8> {
        let mut f = vec![0u8; 20];
        f[0..2].copy_from_slice(&0x14cu16.to_le_bytes());
        f[2..4].copy_from_slice(&1u16.to_le_bytes());
        let sec_at = f.len();
        f.extend_from_slice(&[0u8; 40]);
        let raw = f.len() as u32;
        f.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        let rel = f.len() as u32;
        for (va, ty) in [(0u32, 6u16), (4, 20)] {
            f.extend_from_slice(&va.to_le_bytes());
            f.extend_from_slice(&0u32.to_le_bytes());
            f.extend_from_slice(&ty.to_le_bytes());
        }
        let sym = f.len() as u32;
        f.extend_from_slice(b"EXPORTS\0");
        f.extend_from_slice(&4u32.to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&[0, 0, 2, 0]);
        f[8..12].copy_from_slice(&sym.to_le_bytes());
        f[12..16].copy_from_slice(&1u32.to_le_bytes());
        let s = &mut f[sec_at..sec_at + 40];
        s[16..20].copy_from_slice(&8u32.to_le_bytes());
        s[20..24].copy_from_slice(&raw.to_le_bytes());
        s[24..28].copy_from_slice(&rel.to_le_bytes());
        s[32..34].copy_from_slice(&2u16.to_le_bytes());
        f
    }

    #[test]
    fn relocates_like_the_kernel() {
        let f = object();
        let lib = Library::parse(&f).unwrap();
        assert_eq!(lib.size(), 8);
        let (img, exports) = lib.link(0x10000).unwrap();
        assert_eq!(exports, 0x10004);
        // DIR32: 1 + symbol address.
        assert_eq!(u32::from_le_bytes(img[0..4].try_into().unwrap()), 0x10005);
        // REL32: 0 + symbol - field address - 4.
        assert_eq!(
            u32::from_le_bytes(img[4..8].try_into().unwrap()),
            0x10004u32.wrapping_sub(0x10004 + 4)
        );
    }

    #[test]
    fn damaged_objects_are_refused() {
        let f = object();
        assert_eq!(
            Library::parse(b"MENUET01xxxxxxxxxxxxxxxx").unwrap_err(),
            CoffError::NotCoff
        );
        assert!(matches!(
            Library::parse(&f[..50]),
            Err(CoffError::Damaged(_))
        ));
        let mut g = f.clone();
        g[20 + 20..20 + 24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(Library::parse(&g), Err(CoffError::Damaged(_))));
        let mut g = f.clone();
        g[20 + 16..20 + 20].copy_from_slice(&(MAX_IMAGE + 1).to_le_bytes());
        g[20 + 20..20 + 24].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(Library::parse(&g).unwrap_err(), CoffError::TooLarge);
        // A relocation naming a symbol that does not exist.
        let mut g = f.clone();
        let rel = u32::from_le_bytes(g[20 + 24..20 + 28].try_into().unwrap()) as usize;
        g[rel + 4..rel + 8].copy_from_slice(&9u32.to_le_bytes());
        assert!(matches!(
            Library::parse(&g).unwrap().link(0),
            Err(CoffError::Damaged(_))
        ));
        // No EXPORTS.
        let mut g = f.clone();
        let sym = u32::from_le_bytes(g[8..12].try_into().unwrap()) as usize;
        g[sym] = b'X';
        assert_eq!(
            Library::parse(&g).unwrap().link(0).unwrap_err(),
            CoffError::NoExports
        );
    }
}
