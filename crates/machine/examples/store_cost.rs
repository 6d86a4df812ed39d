//! How much a guest store costs in Unicorn (`mem_map` vs `mem_map_ptr`).
use std::time::Instant;
use unicorn_engine::unicorn_const::{Arch, Mode, Prot};
use unicorn_engine::{RegisterX86, Unicorn};

fn main() {
    // mov ecx, 10M ; l: mov [0x8000], ecx ; dec ecx ; jnz l ; hlt
    let code: &[u8] = &[
        0xB9, 0x80, 0x96, 0x98, 0x00, 0x89, 0x0D, 0x00, 0x80, 0x00, 0x00, 0x49, 0x75, 0xF7, 0xF4,
    ];
    for (ptr, split) in [(false, false), (true, false), (false, true)] {
        let mut uc = Unicorn::new(Arch::X86, Mode::MODE_32).unwrap();
        if split {
            uc.mem_map(0, 0x8000, Prot::ALL).unwrap();
            uc.mem_map(0x8000, 0x8000, Prot::READ | Prot::WRITE)
                .unwrap();
        } else if ptr {
            let buf = Box::leak(vec![0u8; 0x10000].into_boxed_slice());
            unsafe {
                uc.mem_map_ptr(0, 0x10000, Prot::ALL, buf.as_mut_ptr().cast())
                    .unwrap()
            };
        } else {
            uc.mem_map(0, 0x10000, Prot::ALL).unwrap();
        }
        uc.mem_write(0x1000, code).unwrap();
        uc.reg_write(RegisterX86::ESP, 0x9000).unwrap();
        let t = Instant::now();
        let _ = uc.emu_start(0x1000, 0, 0, 0);
        println!(
            "mem_map{}{}: {:.2} ns per store iteration",
            if ptr { "_ptr" } else { "" },
            if split {
                " (data page not executable)"
            } else {
                ""
            },
            t.elapsed().as_nanos() as f64 / 1e7
        );
    }
}
