//! Bare-Unicorn reference: 100M iterations of a 5-instruction loop, with the hooks ipcemu adds
//! turned on one by one. `cargo run --release -p ipcemu-machine --example bare_loop`.
use std::time::Instant;
use unicorn_engine::unicorn_const::{Arch, HookType, Mode, Prot};
use unicorn_engine::{RegisterX86, Unicorn};

fn main() {
    // inner: add eax,ecx; xor ebx,eax; rol eax,1; dec ecx; jnz inner ; outer: dec edi; jnz ; int 0x40? no: hlt
    let code: &[u8] = &[
        0xB9, 0x40, 0x42, 0x0F, 0x00, // mov ecx, 1000000
        0x01, 0xC8, // add eax, ecx
        0x31, 0xC3, // xor ebx, eax
        0xD1, 0xC0, // rol eax, 1
        0x49, // dec ecx
        0x75, 0xF7, // jnz -9
        0x4F, // dec edi
        0x75, 0xEF, // jnz -17
        0xF4, // hlt
    ];
    for variant in ["none", "intr", "intr+meminvalid"] {
        let mut uc = Unicorn::new(Arch::X86, Mode::MODE_32).unwrap();
        uc.mem_map(0, 0x10000, Prot::ALL).unwrap();
        uc.mem_write(0x1000, code).unwrap();
        if variant.contains("intr") {
            uc.add_intr_hook(|_, _| {}).unwrap();
        }
        if variant.contains("meminvalid") {
            uc.add_mem_hook(HookType::MEM_INVALID, 1, 0, |_, _, _, _, _| false)
                .unwrap();
        }
        uc.reg_write(RegisterX86::EDI, 100).unwrap();
        uc.reg_write(RegisterX86::ESP, 0x8000).unwrap();
        let t = Instant::now();
        let _ = uc.emu_start(0x1000, 0, 0, 0);
        println!(
            "{variant:>18}: 100M iterations in {:.3} s",
            t.elapsed().as_secs_f64()
        );
    }
}
