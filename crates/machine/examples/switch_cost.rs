//! Bare-Unicorn reference for context switches: two instances alternate, each running
//! `store; int 0x40; jmp` with the hook calling emu_stop. `cargo run --release --example switch_cost`.
use std::time::Instant;
use unicorn_engine::unicorn_const::{Arch, Mode, Prot};
use unicorn_engine::{RegisterX86, Unicorn};

fn main() {
    // 0x1000: mov [0x8000], eax ; inc eax ; int 0x40 ; jmp 0x1000
    let code: &[u8] = &[0xA3, 0x00, 0x80, 0x00, 0x00, 0x40, 0xCD, 0x40, 0xEB, 0xF6];
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    for (stores_same_page, alternate) in [(false, true), (true, true), (false, false)] {
        let mut ucs: Vec<Unicorn<()>> = (0..2)
            .map(|_| {
                let mut uc = Unicorn::new(Arch::X86, Mode::MODE_32).unwrap();
                uc.mem_map(0, 0x10000, Prot::ALL).unwrap();
                let mut c = code.to_vec();
                if stores_same_page {
                    c[2] = 0x10; // store to 0x1010: the code page
                    c[3] = 0x00;
                    c[1] = 0x10;
                }
                uc.mem_write(0x1000, &c).unwrap();
                uc.reg_write(RegisterX86::ESP, 0x9000).unwrap();
                uc.reg_write(RegisterX86::EIP, 0x1000).unwrap();
                uc.add_intr_hook(|uc, _| {
                    uc.emu_stop().unwrap();
                })
                .unwrap();
                uc
            })
            .collect();
        let t = Instant::now();
        for i in 0..n {
            let uc = &mut ucs[if alternate { (i & 1) as usize } else { 0 }];
            let pc = uc.reg_read(RegisterX86::EIP).unwrap();
            uc.emu_start(pc, 0, 0, 0).unwrap();
        }
        let ns = t.elapsed().as_nanos() as f64 / n as f64;
        println!(
            "store to {} page, {} instance(s): {ns:.0} ns per emu_start + trap + emu_stop",
            if stores_same_page {
                "the code"
            } else {
                "a data"
            },
            if alternate { 2 } else { 1 }
        );
    }
}
