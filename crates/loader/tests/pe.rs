//! The PE32 loader against the mingw-built guest programs in fixtures/win32 (built by
//! guest-tests/win32/build.sh), and against damaged copies of them.

use ipcemu_loader::pe::{is_pe, load_pe, PeImage, MAX_IMAGE_SIZE, SUBSYSTEM_CONSOLE};
use ipcemu_loader::LoadError;
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/win32")
}

fn fixture(name: &str) -> Vec<u8> {
    let p = fixture_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every fixture, by name (sorted).
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(fixture_dir())
        .expect("fixtures/win32")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "exe"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(
        v.len() >= 16,
        "expected the 16 win32 fixtures, found {}",
        v.len()
    );
    v
}

// --- header offsets of a (valid) file, for the tests that damage it ----------------------------

fn rd32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn wr32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}
fn wr16(b: &mut [u8], o: usize, v: u16) {
    b[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
/// Offset of the COFF file header.
fn coff(b: &[u8]) -> usize {
    rd32(b, 0x3c) as usize + 4
}
/// Offset of the optional header.
fn opt(b: &[u8]) -> usize {
    coff(b) + 20
}
/// Offset of data directory `i` (RVA, then size).
fn dir(b: &[u8], i: usize) -> usize {
    opt(b) + 96 + 8 * i
}
/// File offset of an RVA (inside a section's file data).
fn rva_to_off(b: &[u8], rva: u32) -> usize {
    let n = u16::from_le_bytes([b[coff(b) + 2], b[coff(b) + 3]]) as usize;
    let table = opt(b) + u16::from_le_bytes([b[coff(b) + 16], b[coff(b) + 17]]) as usize;
    for i in 0..n {
        let e = table + 40 * i;
        let (va, raw, ptr) = (rd32(b, e + 12), rd32(b, e + 16), rd32(b, e + 20));
        if rva >= va && rva < va + raw {
            return (ptr + rva - va) as usize;
        }
    }
    panic!("RVA {rva:#x} is not in the file");
}

fn err(bytes: &[u8], base: Option<u32>) -> String {
    match load_pe(bytes, base) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn section_of(img: &PeImage, va: u32) -> Option<&ipcemu_loader::pe::PeSection> {
    img.sections
        .iter()
        .find(|s| va >= s.va && (va as u64) < s.va as u64 + s.size as u64)
}

/// The u32 at an absolute address of a loaded image (0 in a section's zero-filled tail).
fn peek32(img: &PeImage, va: u32) -> u32 {
    let s = section_of(img, va).expect("address in a section");
    let o = (va - s.va) as usize;
    let mut b = [0u8; 4];
    for (k, x) in b.iter_mut().enumerate() {
        *x = s.data.get(o + k).copied().unwrap_or(0);
    }
    u32::from_le_bytes(b)
}

fn names(img: &PeImage, dll: &str) -> Vec<String> {
    img.imports
        .iter()
        .filter(|i| i.dll.eq_ignore_ascii_case(dll))
        .filter_map(|i| i.name.clone())
        .collect()
}

// --- loading the fixtures ----------------------------------------------------------------------

#[test]
fn every_fixture_loads() {
    for (name, bytes) in fixtures() {
        assert!(is_pe(&bytes), "{name}");
        let img = load_pe(&bytes, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(img.image_base, 0x40_0000, "{name}");
        assert_eq!(img.subsystem, SUBSYSTEM_CONSOLE, "{name}");
        assert_eq!(img.size_of_image % 0x1000, 0, "{name}");
        assert_eq!(
            (img.stack_reserve, img.stack_commit),
            (0x20_0000, 0x1000),
            "{name}"
        );
        let text = section_of(&img, img.entry).expect("entry in a section");
        assert_eq!(text.name, ".text", "{name}: entry in {}", text.name);
        assert!(
            text.exec && text.read && !text.write,
            "{name}: .text protection"
        );
        // sections: page-aligned, in order, inside the image, behind the headers
        let mut prev_end =
            img.image_base as u64 + img.headers.len().div_ceil(0x1000) as u64 * 0x1000;
        for s in &img.sections {
            assert_eq!(s.va % 0x1000, 0, "{name} {}", s.name);
            assert_eq!(s.size % 0x1000, 0, "{name} {}", s.name);
            assert!(s.va as u64 >= prev_end, "{name} {}", s.name);
            assert!(s.data.len() as u64 <= s.size as u64, "{name} {}", s.name);
            prev_end = s.va as u64 + s.size as u64;
        }
        assert!(
            prev_end <= img.image_base as u64 + img.size_of_image as u64,
            "{name}"
        );
        assert_eq!(&img.headers[..2], b"MZ", "{name}");
        // every IAT slot is in a section and holds (before binding) the hint/name RVA or ordinal
        assert!(!img.imports.is_empty(), "{name}");
        for i in &img.imports {
            assert!(section_of(&img, i.iat_addr).is_some(), "{name} {i:?}");
            assert_eq!(i.name.is_some(), i.ordinal.is_none(), "{name} {i:?}");
        }
        if name == "hello.exe" {
            continue;
        }
        if name == "tlscb.exe" || name == "procdet.exe" {
            // The default runtime too, with a TLS callback of its own (in .CRT$XLB).
            assert!(!img.tls_callbacks.is_empty(), "{name}: TLS callbacks");
            continue;
        }
        // the freestanding programs: KERNEL32 (and USER32) only, no TLS, entry _start
        for f in [
            "ExitProcess",
            "GetStdHandle",
            "WriteFile",
            "GetCommandLineA",
        ] {
            assert!(
                names(&img, "KERNEL32.dll").iter().any(|n| n == f),
                "{name}: {f}"
            );
        }
        assert!(img
            .imports
            .iter()
            .all(|i| i.dll == "KERNEL32.dll" || i.dll == "USER32.dll"));
        assert!(
            img.tls_callbacks.is_empty() && img.tls_index_addr.is_none(),
            "{name}"
        );
        assert!(img.tls_template.is_none(), "{name}");
    }
}

#[test]
fn hello_default_crt() {
    let bytes = fixture("hello.exe");
    let img = load_pe(&bytes, None).unwrap();
    let k32 = names(&img, "KERNEL32.dll");
    let crt = names(&img, "msvcrt.dll");
    for f in [
        "GetModuleHandleA",
        "SetUnhandledExceptionFilter",
        "Sleep",
        "VirtualQuery",
    ] {
        assert!(k32.iter().any(|n| n == f), "KERNEL32 {f} in {k32:?}");
    }
    // mingw's printf is an inline wrapper around msvcrt's vfprintf(&_iob[1], ...)
    for f in [
        "__getmainargs",
        "_initterm",
        "exit",
        "vfprintf",
        "_iob",
        "malloc",
        "_onexit",
    ] {
        assert!(crt.iter().any(|n| n == f), "msvcrt {f} in {crt:?}");
    }
    assert_eq!(img.imports.len(), k32.len() + crt.len());
    // TLS: mingw's two callbacks (__dyn_tls_init, __dyn_tls_dtor) in .text, the index in .bss,
    // a 4-byte template in .tls
    assert_eq!(img.tls_callbacks.len(), 2);
    for &cb in &img.tls_callbacks {
        assert_eq!(section_of(&img, cb).unwrap().name, ".text");
    }
    let idx = img.tls_index_addr.unwrap();
    assert_eq!(section_of(&img, idx).unwrap().name, ".bss");
    let (start, end, zero) = img.tls_template.unwrap();
    assert_eq!(section_of(&img, start).unwrap().name, ".tls");
    assert!(
        end > start && end - start <= 16 && zero == 0,
        "{start:#x}..{end:#x} +{zero}"
    );
    assert!(img.sections.iter().any(|s| s.name == ".CRT"));
}

/// Our import list equals goblin's (DLL, name, hint, IAT slot).
#[test]
fn imports_match_goblin() {
    for (name, bytes) in fixtures() {
        let img = load_pe(&bytes, None).unwrap();
        let pe = goblin::pe::PE::parse(&bytes).unwrap();
        let mut want: Vec<(String, String, u16, u32)> = pe
            .imports
            .iter()
            .map(|i| {
                (
                    i.dll.to_string(),
                    i.name.to_string(),
                    i.ordinal,
                    img.image_base + i.offset as u32,
                )
            })
            .collect();
        let mut got: Vec<(String, String, u16, u32)> = img
            .imports
            .iter()
            .map(|i| (i.dll.clone(), i.name.clone().unwrap(), i.hint, i.iat_addr))
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{name}");
        assert_eq!(img.entry, img.image_base + pe.entry as u32, "{name}");
    }
}

// --- relocation --------------------------------------------------------------------------------

/// The HIGHLOW targets (RVAs) of a file's base relocation table, parsed here independently.
fn highlow_targets(bytes: &[u8]) -> Vec<u32> {
    let (rva, size) = (rd32(bytes, dir(bytes, 5)), rd32(bytes, dir(bytes, 5) + 4));
    let base = rva_to_off(bytes, rva);
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 8 <= size as usize {
        let page = rd32(bytes, base + off);
        let block = rd32(bytes, base + off + 4) as usize;
        if block == 0 {
            break;
        }
        for k in 0..(block - 8) / 2 {
            let e =
                u16::from_le_bytes([bytes[base + off + 8 + 2 * k], bytes[base + off + 9 + 2 * k]]);
            match e >> 12 {
                0 => {}
                3 => out.push(page + (e & 0xfff) as u32),
                t => panic!("relocation type {t} in a fixture"),
            }
        }
        off += block;
    }
    out
}

#[test]
fn relocation_moves_every_patched_dword_by_the_delta() {
    for (name, bytes) in fixtures() {
        let a = load_pe(&bytes, None).unwrap();
        let same = load_pe(&bytes, Some(a.image_base)).unwrap();
        assert_eq!(
            a, same,
            "{name}: loading at the preferred base changes nothing"
        );
        let targets = highlow_targets(&bytes);
        assert!(targets.len() >= 3, "{name}: {} relocations", targets.len());
        for new_base in [
            0x1000_0000u32,
            0x0041_0000,
            0x0001_0000,
            0x7fff_0000 - a.size_of_image,
        ] {
            let delta = new_base.wrapping_sub(a.image_base);
            let b = load_pe(&bytes, Some(new_base)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(b.image_base, new_base);
            assert_eq!(b.size_of_image, a.size_of_image);
            assert_eq!(b.entry, a.entry.wrapping_add(delta), "{name}");
            assert_eq!(a.sections.len(), b.sections.len());
            let mut patched = 0;
            for (sa, sb) in a.sections.iter().zip(&b.sections) {
                assert_eq!((&sa.name, sa.size), (&sb.name, sb.size));
                assert_eq!(sb.va, sa.va.wrapping_add(delta));
                assert_eq!(sa.data.len(), sb.data.len());
                let rva0 = sa.va - a.image_base;
                // the patched dwords moved by delta, every other byte is unchanged
                let mut covered = vec![false; sa.data.len()];
                for &t in &targets {
                    if t >= rva0 && ((t - rva0) as usize) < sa.data.len() {
                        let o = (t - rva0) as usize;
                        let va = rd32(&sa.data, o);
                        let vb = rd32(&sb.data, o);
                        assert_eq!(vb, va.wrapping_add(delta), "{name} at RVA {t:#x}");
                        covered[o..o + 4].fill(true);
                        patched += 1;
                    }
                }
                for (o, c) in covered.iter().enumerate() {
                    if !c {
                        assert_eq!(sa.data[o], sb.data[o], "{name} {} +{o:#x}", sa.name);
                    }
                }
            }
            assert_eq!(
                patched,
                targets.len(),
                "{name}: every relocation target is in a section"
            );
            // imports, TLS move too; headers differ only in OptionalHeader.ImageBase
            for (ia, ib) in a.imports.iter().zip(&b.imports) {
                assert_eq!(ib.iat_addr, ia.iat_addr.wrapping_add(delta));
                assert_eq!((&ia.dll, &ia.name, ia.hint), (&ib.dll, &ib.name, ib.hint));
            }
            let moved: Vec<u32> = a
                .tls_callbacks
                .iter()
                .map(|c| c.wrapping_add(delta))
                .collect();
            assert_eq!(b.tls_callbacks, moved, "{name}");
            assert_eq!(
                b.tls_index_addr,
                a.tls_index_addr.map(|x| x.wrapping_add(delta))
            );
            assert_eq!(
                b.tls_template,
                a.tls_template
                    .map(|(s, e, z)| (s.wrapping_add(delta), e.wrapping_add(delta), z))
            );
            let ib = opt(&bytes) + 28;
            assert_eq!(rd32(&b.headers, ib), new_base);
            assert_eq!(a.headers[..ib], b.headers[..ib]);
            assert_eq!(a.headers[ib + 4..], b.headers[ib + 4..]);
        }
        // the relocated TLS callback list still points at the (moved) callbacks
        if let Some(cb) = a.tls_callbacks.first() {
            let b = load_pe(&bytes, Some(0x1000_0000)).unwrap();
            assert_eq!(*cb - 0x40_0000 + 0x1000_0000, b.tls_callbacks[0]);
        }
    }
}

#[test]
fn hello_tls_directory_is_relocated_in_memory() {
    // The TLS directory's own fields are pointers; after relocation they read the new addresses.
    let bytes = fixture("hello.exe");
    let b = load_pe(&bytes, Some(0x2000_0000)).unwrap();
    let tls = b.image_base + rd32(&bytes, dir(&bytes, 9));
    let (s, e, _) = b.tls_template.unwrap();
    assert_eq!(peek32(&b, tls), s);
    assert_eq!(peek32(&b, tls + 4), e);
    assert_eq!(peek32(&b, tls + 8), b.tls_index_addr.unwrap());
    let list = peek32(&b, tls + 12);
    assert_eq!(peek32(&b, list), b.tls_callbacks[0]);
    assert_eq!(peek32(&b, list + 4), b.tls_callbacks[1]);
    assert_eq!(peek32(&b, list + 8), 0);
}

#[test]
fn bad_load_bases_are_refused() {
    let bytes = fixture("threads.exe");
    assert!(err(&bytes, Some(0x1234_5000 + 0x10)).contains("not page-aligned"));
    assert!(err(&bytes, Some(0)).contains("base address 0"));
    assert!(err(&bytes, Some(0xffff_f000)).contains("4 GiB"));
}

#[test]
fn stripped_relocations_only_load_at_the_preferred_base() {
    let mut bytes = fixture("threads.exe");
    let c = coff(&bytes) + 18;
    let ch = u16::from_le_bytes([bytes[c], bytes[c + 1]]);
    wr16(&mut bytes, c, ch | 0x0001);
    assert!(load_pe(&bytes, None).is_ok());
    assert!(load_pe(&bytes, Some(0x40_0000)).is_ok());
    let e = err(&bytes, Some(0x50_0000));
    assert!(
        e.contains("no base relocations") && e.contains("0x400000"),
        "{e}"
    );
    // the same with the flag clear but no relocation directory
    let mut bytes = fixture("threads.exe");
    let d = dir(&bytes, 5);
    wr32(&mut bytes, d, 0);
    wr32(&mut bytes, d + 4, 0);
    assert!(err(&bytes, Some(0x50_0000)).contains("no base relocations"));
}

#[test]
fn unsupported_relocation_types_are_named() {
    let mut bytes = fixture("threads.exe");
    let r = rva_to_off(&bytes, rd32(&bytes, dir(&bytes, 5)));
    // first entry of the first block: make it DIR64 (10)
    let e = u16::from_le_bytes([bytes[r + 8], bytes[r + 9]]);
    wr16(&mut bytes, r + 8, (e & 0xfff) | 10 << 12);
    assert!(
        load_pe(&bytes, None).is_ok(),
        "relocations are not read at the preferred base"
    );
    let msg = err(&bytes, Some(0x1000_0000));
    assert!(msg.contains("type 10") && msg.contains("DIR64"), "{msg}");
    wr16(&mut bytes, r + 8, (e & 0xfff) | 1 << 12);
    assert!(err(&bytes, Some(0x1000_0000)).contains("HIGH)"));
}

#[test]
fn bad_relocation_blocks_are_refused() {
    let orig = fixture("threads.exe");
    let r = rva_to_off(&orig, rd32(&orig, dir(&orig, 5)));
    let dir_size = rd32(&orig, dir(&orig, 5) + 4);
    // a block longer than the directory
    let mut bytes = orig.clone();
    wr32(&mut bytes, r + 4, dir_size + 8);
    assert!(
        err(&bytes, Some(0x1000_0000)).contains("runs past the end of the relocation directory")
    );
    // a block shorter than its header
    let mut bytes = orig.clone();
    wr32(&mut bytes, r + 4, 6);
    assert!(err(&bytes, Some(0x1000_0000)).contains("must be even and >= 8"));
    // a block for a page outside the image
    let mut bytes = orig.clone();
    wr32(&mut bytes, r, 0x7000_0000);
    assert!(err(&bytes, Some(0x1000_0000)).contains("outside the image's sections"));
    // a block patching the headers
    let mut bytes = orig.clone();
    wr32(&mut bytes, r, 0);
    assert!(err(&bytes, Some(0x1000_0000)).contains("patches the headers"));
    // the directory itself outside the image
    let mut bytes = orig.clone();
    wr32(&mut bytes, dir(&orig, 5), 0x7000_0000);
    assert!(err(&bytes, Some(0x1000_0000)).contains("relocation directory"));
}

// --- refusing what ipcemu does not run ---------------------------------------------------------

#[test]
fn foreign_images_are_refused_with_their_reason() {
    let orig = fixture("chan_a.exe");
    let magic = opt(&orig);
    let machine = coff(&orig);
    let chars = coff(&orig) + 18;

    let mut b = orig.clone();
    wr16(&mut b, magic, 0x20b);
    wr16(&mut b, machine, 0x8664);
    assert_eq!(
        load_pe(&b, None).unwrap_err(),
        LoadError::Unsupported("64-bit PE32+ image; ipcemu runs 32-bit i386 programs".into())
    );

    let mut b = orig.clone();
    wr16(&mut b, machine, 0x1c4);
    let e = err(&b, None);
    assert!(e.contains("ARMv7") && e.contains("i386"), "{e}");

    let mut b = orig.clone();
    wr16(&mut b, magic, 0x107);
    assert!(err(&b, None).contains("ROM image"));

    let mut b = orig.clone();
    let c = u16::from_le_bytes([b[chars], b[chars + 1]]);
    wr16(&mut b, chars, c | 0x2000);
    assert!(err(&b, None).contains("a DLL"));

    let mut b = orig.clone();
    wr16(&mut b, chars, c & !0x0002);
    assert!(err(&b, None).contains("not an executable image"));

    let mut b = orig.clone();
    let d = dir(&b, 14);
    wr32(&mut b, d, 0x2008);
    wr32(&mut b, d + 4, 0x48);
    let e = err(&b, None);
    assert!(e.contains("a .NET assembly"), "{e}");
    assert!(matches!(load_pe(&b, None), Err(LoadError::Unsupported(_))));

    // not PE at all
    assert!(!is_pe(b"\x7fELF\x01\x01\x01"));
    let elf = std::fs::read(fixture_dir().join("../elf/chello.elf")).unwrap();
    assert!(!is_pe(&elf));
    assert!(err(b"\x7fELF\x01\x01\x01\0\0\0", None).contains("no MZ signature"));
    assert_eq!(load_pe(b"M", None).unwrap_err(), LoadError::TooShort(1));
    let mut dos = vec![0u8; 0x80];
    dos[..2].copy_from_slice(b"MZ");
    dos[0x3c] = 0x40;
    assert!(!is_pe(&dos));
    assert!(err(&dos, None).contains("without a PE signature"));
    dos[0x40..0x42].copy_from_slice(b"NE");
    assert!(err(&dos, None).contains("16-bit NE"));
    dos[0x3c] = 0xf0;
    assert!(err(&dos, None).contains("past the end of the file"));
}

#[test]
fn inconsistent_headers_are_refused() {
    let orig = fixture("events.exe");
    let o = opt(&orig);

    let mut b = orig.clone();
    wr32(&mut b, o + 56, MAX_IMAGE_SIZE + 0x1000);
    assert!(err(&b, None).contains("larger than the 1 GiB"));

    let mut b = orig.clone();
    wr32(&mut b, o + 56, 0x2000); // SizeOfImage smaller than the sections
    assert!(err(&b, None).contains("past SizeOfImage"));

    let mut b = orig.clone();
    wr32(&mut b, o + 56, 0);
    assert!(err(&b, None).contains("SizeOfImage is 0"));

    let mut b = orig.clone();
    wr32(&mut b, o + 32, 0x200); // section alignment
    assert!(err(&b, None).contains("below the 4 KiB page size"));

    let mut b = orig.clone();
    wr32(&mut b, o + 28, 0x40_0123); // image base
    assert!(err(&b, None).contains("not page-aligned"));

    let mut b = orig.clone();
    wr32(&mut b, o + 16, 0); // entry point
    assert!(err(&b, None).contains("no entry point"));
    wr32(&mut b, o + 16, 0x0fff_0000);
    assert!(err(&b, None).contains("outside every section"));

    let mut b = orig.clone();
    wr32(&mut b, o + 60, 0x10_0000); // SizeOfHeaders
    assert!(err(&b, None).contains("SizeOfHeaders"));

    // two sections at the same address
    let table = o + u16::from_le_bytes([orig[coff(&orig) + 16], orig[coff(&orig) + 17]]) as usize;
    let mut b = orig.clone();
    let first_va = rd32(&b, table + 12);
    wr32(&mut b, table + 40 + 12, first_va);
    assert!(err(&b, None).contains("overlaps section"));

    // a section whose file data is past the end of the file
    let mut b = orig.clone();
    wr32(&mut b, table + 20, orig.len() as u32);
    assert!(err(&b, None).contains("past the end of the file"));

    // a section at RVA 0 (over the headers)
    let mut b = orig.clone();
    wr32(&mut b, table + 12, 0);
    assert!(err(&b, None).contains("overlaps the headers"));

    // too many sections for the file
    let mut b = orig.clone();
    wr16(&mut b, coff(&orig) + 2, 90);
    assert!(err(&b, None).contains("SizeOfHeaders") || err(&b, None).contains("section table"));
    wr16(&mut b, coff(&orig) + 2, 0);
    assert!(err(&b, None).contains("no sections"));

    // optional header too small
    let mut b = orig.clone();
    wr16(&mut b, coff(&orig) + 16, 64);
    assert!(err(&b, None).contains("at least 96"));
}

#[test]
fn bad_imports_are_refused() {
    let orig = fixture("threads.exe");
    let desc = rva_to_off(&orig, rd32(&orig, dir(&orig, 1)));

    let mut b = orig.clone();
    wr32(&mut b, desc + 12, 0x7fff_0000); // DLL name RVA
    let e = err(&b, None);
    assert!(
        e.contains("DLL name") && e.contains("outside the image"),
        "{e}"
    );

    let mut b = orig.clone();
    wr32(&mut b, desc, 0x7fff_0000); // lookup table RVA
    assert!(err(&b, None).contains("lookup entry 0"));

    let mut b = orig.clone();
    wr32(&mut b, desc + 16, 0x7fff_0000); // IAT RVA
    assert!(err(&b, None).contains("address table slot 0"));

    let mut b = orig.clone();
    wr32(&mut b, dir(&orig, 1), 0x7fff_0000); // the directory
    assert!(err(&b, None).contains("import descriptor 0"));

    let ilt = rva_to_off(&orig, rd32(&orig, desc));
    let mut b = orig.clone();
    wr32(&mut b, ilt, 0x7fff_0000); // a hint/name entry
    assert!(err(&b, None).contains("hint/name entry 0"));

    // an import by ordinal is reported as such
    let mut b = orig.clone();
    wr32(&mut b, ilt, 0x8000_0005);
    let img = load_pe(&b, None).unwrap();
    let first = &img.imports[0];
    assert_eq!(
        (first.name.as_deref(), first.ordinal, first.hint),
        (None, Some(5), 0)
    );
    let good = load_pe(&orig, None).unwrap();
    assert_eq!(first.iat_addr, good.imports[0].iat_addr);
    assert_eq!(img.imports[1..], good.imports[1..]);
}

#[test]
fn bad_tls_directories_are_refused() {
    let orig = fixture("hello.exe");
    let tls = rva_to_off(&orig, rd32(&orig, dir(&orig, 9)));
    for (field, what) in [
        (0, "TLS template"),
        (8, "TLS index"),
        (12, "TLS callback list"),
    ] {
        let mut b = orig.clone();
        wr32(&mut b, tls + field, 0x7000_0000);
        let e = err(&b, None);
        assert!(e.contains(what), "{field}: {e}");
    }
    // a callback pointing outside the image
    let list = rva_to_off(&orig, rd32(&orig, tls + 12) - 0x40_0000);
    let mut b = orig.clone();
    wr32(&mut b, list, 0x10);
    assert!(err(&b, None).contains("TLS callback 0"));
    // no callbacks
    let mut b = orig.clone();
    wr32(&mut b, list, 0);
    assert!(load_pe(&b, None).unwrap().tls_callbacks.is_empty());
    // the directory outside the image
    let mut b = orig.clone();
    wr32(&mut b, dir(&orig, 9), 0x7000_0000);
    assert!(err(&b, None).contains("TLS directory"));
}

// --- never panic -------------------------------------------------------------------------------

/// Truncated files are refused, or (when only unloaded padding was cut) load exactly as whole.
#[test]
fn truncation_never_panics() {
    for (name, bytes) in fixtures() {
        let whole = load_pe(&bytes, None).unwrap();
        let moved = load_pe(&bytes, Some(0x1000_0000)).unwrap();
        let step = if bytes.len() > 8192 { 61 } else { 7 };
        let lens = (0..0x600.min(bytes.len())).chain((0x600..bytes.len()).step_by(step));
        for n in lens {
            let cut = &bytes[..n];
            match load_pe(cut, None) {
                Ok(img) => assert_eq!(img, whole, "{name} cut at {n} loads differently"),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
            if let Ok(img) = load_pe(cut, Some(0x1000_0000)) {
                assert_eq!(img, moved, "{name} cut at {n} (relocated)");
            }
            let _ = is_pe(cut);
        }
    }
}

/// A small deterministic generator (xorshift32).
struct Rng(u32);
impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() as usize) % n.max(1)
    }
}

/// Random byte changes, mostly in the headers and the tables the loader reads.
#[test]
fn random_damage_never_panics() {
    let mut rng = Rng(0x1234_5678);
    let mut loaded = 0;
    let mut refused = 0;
    for (name, bytes) in fixtures() {
        let whole = load_pe(&bytes, None).unwrap();
        // the file offsets of the import, relocation and TLS tables
        let mut hot: Vec<usize> = vec![0, opt(&bytes)];
        for d in [1, 5, 9] {
            let rva = rd32(&bytes, dir(&bytes, d));
            if rva != 0 {
                hot.push(rva_to_off(&bytes, rva));
            }
        }
        let iters = if name == "hello.exe" { 1500 } else { 600 };
        for _ in 0..iters {
            let mut b = bytes.clone();
            for _ in 0..1 + rng.below(4) {
                let at = match rng.below(4) {
                    0 => rng.below(b.len()),
                    1 => rng.below(0x400),
                    _ => hot[rng.below(hot.len())] + rng.below(0x100),
                }
                .min(b.len() - 1);
                b[at] = match rng.below(4) {
                    0 => b[at] ^ (1 << rng.below(8)),
                    1 => 0,
                    2 => 0xff,
                    _ => rng.next() as u8,
                };
            }
            for base in [None, Some(0x1000_0000), Some(0x0001_0000)] {
                match load_pe(&b, base) {
                    Ok(img) => {
                        loaded += 1;
                        // whatever loaded is self-consistent
                        assert!(img.size_of_image <= MAX_IMAGE_SIZE);
                        assert!(section_of(&img, img.entry).is_some());
                        for s in &img.sections {
                            assert!(s.data.len() as u64 <= s.size as u64);
                            assert!(s.va >= img.image_base);
                        }
                        for i in &img.imports {
                            assert!(section_of(&img, i.iat_addr).is_some());
                        }
                        if base.is_none() && b[..0x400] == bytes[..0x400] {
                            assert_eq!(img.sections.len(), whole.sections.len());
                        }
                    }
                    Err(e) => {
                        refused += 1;
                        assert!(!e.to_string().is_empty());
                    }
                }
            }
        }
    }
    assert!(
        loaded > 100 && refused > 100,
        "loaded {loaded}, refused {refused}"
    );
}

/// Headers of arbitrary bytes behind a valid-looking MZ/PE prefix.
#[test]
fn random_headers_never_panic() {
    let mut rng = Rng(0xdead_beef);
    for _ in 0..20_000 {
        let n = 0x60 + rng.below(0x600);
        let mut b: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        b[..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        b[0x40..0x44].copy_from_slice(b"PE\0\0");
        if rng.below(2) == 0 && b.len() >= 0x5e {
            b[0x44..0x46].copy_from_slice(&0x14cu16.to_le_bytes());
            b[0x58..0x5a].copy_from_slice(&0x10bu16.to_le_bytes());
            b[0x57] &= !0x20; // not a DLL
            b[0x56] |= 0x02; // an executable image
        }
        let _ = load_pe(&b, None);
        let _ = load_pe(&b, Some(0x2000_0000));
        assert!(is_pe(&b));
    }
}
