//! Bare-Unicorn reference figures for `just bench` (same machine, same run), printed as JSON:
//! - `compute_s`: 100M iterations of a 5-instruction loop (add/xor/rol/dec/jnz), no hooks;
//! - `compute_hooked_s`: the same with ipcemu's hooks installed (interrupt + invalid memory);
//! - `trap_ns`: one `int 0x40` through an interrupt hook that returns;
//! - `switch_ns`: `emu_start(until = 0)` + one trap + `emu_stop` in the hook, alternating between
//!   two instances (what one context switch between guest processes cost before session 9);
//! - `coswitch_ns`: the same trap, but each instance runs on a coroutine (crate `corosensei`) and
//!   the hook suspends it instead of stopping the instance (what ipcemu's switch costs since
//!   session 9, `crates/machine/src/runner.rs`);
//! - `store_ns`: one guest store to RAM (Unicorn 2.1 takes its slow store path for every store).
use std::time::Instant;
use unicorn_engine::unicorn_const::{Arch, HookType, Mode, Prot};
use unicorn_engine::{RegisterX86, Unicorn};

fn instance(code: &[u8]) -> Unicorn<'static, ()> {
    let mut uc = Unicorn::new(Arch::X86, Mode::MODE_32).unwrap();
    uc.mem_map(0, 0x10000, Prot::ALL).unwrap();
    uc.mem_write(0x1000, code).unwrap();
    uc.reg_write(RegisterX86::ESP, 0x9000).unwrap();
    uc.reg_write(RegisterX86::EIP, 0x1000).unwrap();
    uc
}

/// Nanoseconds per switch when each of two instances runs `emu_start` on a coroutine and its
/// interrupt hook suspends that coroutine (the instance waits in its hook until resumed).
fn coswitch_ns(n: u32) -> f64 {
    use corosensei::{Coroutine, Yielder};
    use std::cell::Cell;
    use std::rc::Rc;
    type Y = Yielder<(), ()>;
    let mut coros: Vec<Coroutine<(), (), ()>> = (0..2)
        .map(|_| {
            let mut uc = instance(&[0x40, 0xCD, 0x40, 0xEB, 0xFB]);
            let cell: Rc<Cell<*const Y>> = Rc::new(Cell::new(std::ptr::null()));
            let hook_cell = Rc::clone(&cell);
            uc.add_intr_hook(move |_, _| {
                // SAFETY: set by the coroutine below before its emu_start, which runs this hook.
                unsafe { (*hook_cell.get()).suspend(()) };
            })
            .unwrap();
            Coroutine::new(move |y: &Y, ()| {
                cell.set(y as *const Y);
                let _ = uc.emu_start(0x1000, 0, 0, 0);
            })
        })
        .collect();
    let t = Instant::now();
    for i in 0..n {
        let _ = coros[(i & 1) as usize].resume(());
    }
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    // The instances wait in their hooks: leak them rather than unwind Unicorn's C frames.
    std::mem::forget(coros);
    ns
}

fn best<F: FnMut() -> f64>(mut f: F) -> f64 {
    (0..3).map(|_| f()).fold(f64::MAX, f64::min)
}

fn main() {
    // mov ecx,1000000 ; l: add eax,ecx ; xor ebx,eax ; rol eax,1 ; dec ecx ; jnz l ; dec edi ; jnz outer ; hlt
    let compute: &[u8] = &[
        0xB9, 0x40, 0x42, 0x0F, 0x00, 0x01, 0xC8, 0x31, 0xC3, 0xD1, 0xC0, 0x49, 0x75, 0xF7, 0x4F,
        0x75, 0xEF, 0xF4,
    ];
    let run_compute = |hooked: bool| {
        best(|| {
            let mut uc = instance(compute);
            if hooked {
                uc.add_intr_hook(|_, _| {}).unwrap();
                uc.add_mem_hook(HookType::MEM_INVALID, 1, 0, |_, _, _, _, _| false)
                    .unwrap();
            }
            uc.reg_write(RegisterX86::EDI, 100).unwrap();
            let t = Instant::now();
            let _ = uc.emu_start(0x1000, 0, 0, 0);
            t.elapsed().as_secs_f64()
        })
    };
    if std::env::args().nth(1).as_deref() == Some("compute") {
        // Only the hooked compute loop (for interleaved comparisons).
        println!("{{\"compute_hooked_s\":{:.4}}}", run_compute(true));
        return;
    }
    let compute_s = run_compute(false);
    let compute_hooked_s = run_compute(true);

    // mov ecx, 5M ; l: int 0x40 ; dec ecx ; jnz l ; hlt
    let traps: &[u8] = &[
        0xB9, 0x40, 0x4B, 0x4C, 0x00, 0xCD, 0x40, 0x49, 0x75, 0xFB, 0xF4,
    ];
    let trap_ns = best(|| {
        let mut uc = instance(traps);
        uc.add_intr_hook(|_, _| {}).unwrap();
        let t = Instant::now();
        let _ = uc.emu_start(0x1000, 0, 0, 0);
        t.elapsed().as_nanos() as f64 / 5e6
    });

    // l: inc eax ; int 0x40 ; jmp l   (the hook stops emulation each time)
    let switch: &[u8] = &[0x40, 0xCD, 0x40, 0xEB, 0xFB];
    let n = 1_000_000u32;
    let switch_ns = best(|| {
        let mut ucs: Vec<_> = (0..2)
            .map(|_| {
                let mut uc = instance(switch);
                uc.add_intr_hook(|uc, _| {
                    let _ = uc.emu_stop();
                })
                .unwrap();
                uc
            })
            .collect();
        let t = Instant::now();
        for i in 0..n {
            let uc = &mut ucs[(i & 1) as usize];
            let pc = uc.reg_read(RegisterX86::EIP).unwrap();
            uc.emu_start(pc, 0, 0, 0).unwrap();
        }
        t.elapsed().as_nanos() as f64 / n as f64
    });

    let coswitch_ns = best(|| coswitch_ns(n));

    // mov ecx,10M ; l: mov [0x8000],ecx ; dec ecx ; jnz l ; hlt  (minus the same loop without the store)
    let store: &[u8] = &[
        0xB9, 0x80, 0x96, 0x98, 0x00, 0x89, 0x0D, 0x00, 0x80, 0x00, 0x00, 0x49, 0x75, 0xF7, 0xF4,
    ];
    let nostore: &[u8] = &[
        0xB9, 0x80, 0x96, 0x98, 0x00, 0x8B, 0x15, 0x00, 0x80, 0x00, 0x00, 0x49, 0x75, 0xF7, 0xF4,
    ];
    let loop_ns = |code: &[u8]| {
        best(|| {
            let mut uc = instance(code);
            let t = Instant::now();
            let _ = uc.emu_start(0x1000, 0, 0, 0);
            t.elapsed().as_nanos() as f64 / 1e7
        })
    };
    let store_ns = loop_ns(store) - loop_ns(nostore);

    println!(
        "{{\"compute_s\":{compute_s:.4},\"compute_hooked_s\":{compute_hooked_s:.4},\"trap_ns\":{trap_ns:.1},\"switch_ns\":{switch_ns:.1},\"coswitch_ns\":{coswitch_ns:.1},\"store_ns\":{store_ns:.1}}}"
    );
}
