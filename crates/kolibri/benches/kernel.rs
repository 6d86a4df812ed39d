//! Kernel-level paths without Unicorn (`cargo bench -p ipcemu-kernel`): what one message costs
//! the kernel itself, over plain byte-vector memory.
use criterion::{criterion_group, criterion_main, Criterion};
use ipcemu_kernel::{Config, GuestMemory, Kernel, Pick, ThreadId, VecMemory};
use ipcemu_kolibri::{Kolibri, Options, NAME};
use std::hint::black_box;

fn world() -> (Kernel<VecMemory>, Kolibri, ThreadId, ThreadId) {
    let mut k = Kernel::new(Config::default());
    let a = k
        .spawn_process("a.kex", VecMemory::new(0x10000), 0x10000, NAME, (0, 0))
        .unwrap()
        .1;
    let b = k
        .spawn_process("b.kex", VecMemory::new(0x10000), 0x10000, NAME, (0, 0))
        .unwrap()
        .1;
    let mut ko = Kolibri::new(Options::default());
    for t in [a, b] {
        ko.ipc_set_area(&mut k, t, 0x2000, 4096);
        let p = k.threads[t].proc;
        k.procs[p].mem.write_u32(0x2004, 8).unwrap();
        ko.set_event_mask(t, 0x40);
    }
    (k, ko, a, b)
}

fn benches(c: &mut Criterion) {
    c.bench_function("60.2 send 20 B + read event + reset offset", |bch| {
        let (mut k, mut ko, a, b) = world();
        let pb = k.threads[b].pid;
        let p = k.threads[b].proc;
        bch.iter(|| {
            black_box(ko.ipc_send(&mut k, a, pb, 0x100, 20).unwrap());
            black_box(ko.take_event(&k, b));
            k.procs[p].mem.write_u32(0x2004, 8).unwrap();
        })
    });
    c.bench_function(
        "ping-pong round trip: send, wake, pick, send, wake, pick",
        |bch| {
            let (mut k, mut ko, a, b) = world();
            let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
            let (qa, qb) = (k.threads[a].proc, k.threads[b].proc);
            // Steady state: a runs, b waits for an event.
            assert_eq!(k.pick_next(), Pick::Run(a));
            k.yield_current();
            assert_eq!(k.pick_next(), Pick::Run(b));
            assert_eq!(ko.wait_event(&mut k, b, None), None);
            assert_eq!(k.pick_next(), Pick::Run(a));
            bch.iter(|| {
                // a is running, b waits
                ko.ipc_send(&mut k, a, pb, 0x100, 20).unwrap();
                ko.wait_event(&mut k, a, None);
                let Pick::Run(_) = k.pick_next() else {
                    panic!()
                };
                k.procs[qb].mem.write_u32(0x2004, 8).unwrap();
                ko.ipc_send(&mut k, b, pa, 0x100, 20).unwrap();
                ko.wait_event(&mut k, b, None);
                let Pick::Run(_) = k.pick_next() else {
                    panic!()
                };
                k.procs[qa].mem.write_u32(0x2004, 8).unwrap();
            })
        },
    );
}

criterion_group!(kernel, benches);
criterion_main!(kernel);
