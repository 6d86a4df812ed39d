//! Kernel-level paths without Unicorn (`cargo bench -p ipcemu-kernel`): what one message costs
//! the kernel itself, over plain byte-vector memory.
use criterion::{criterion_group, criterion_main, Criterion};
use ipcemu_kernel::pcipc::cmd;
use ipcemu_kernel::{Config, Flavor, GuestMemory, Kernel, Pick, VecMemory};
use std::hint::black_box;

fn world() -> (Kernel<VecMemory>, usize, usize) {
    let mut k = Kernel::new(Config::default());
    let a = k
        .spawn_process(
            "a.kex",
            VecMemory::new(0x10000),
            0x10000,
            Flavor::Kolibri,
            (0, 0),
        )
        .unwrap()
        .1;
    let b = k
        .spawn_process(
            "b.kex",
            VecMemory::new(0x10000),
            0x10000,
            Flavor::Kolibri,
            (0, 0),
        )
        .unwrap()
        .1;
    for t in [a, b] {
        k.ipc_set_area(t, 0x2000, 4096);
        let p = k.threads[t].proc;
        k.procs[p].mem.write_u32(0x2004, 8).unwrap();
        k.set_event_mask(t, 0x40);
    }
    (k, a, b)
}

fn benches(c: &mut Criterion) {
    c.bench_function("60.2 send 20 B + read event + reset offset", |bch| {
        let (mut k, a, b) = world();
        let pb = k.threads[b].pid;
        let p = k.threads[b].proc;
        bch.iter(|| {
            black_box(k.ipc_send(a, pb, 0x100, 20).unwrap());
            black_box(k.take_event(b));
            k.procs[p].mem.write_u32(0x2004, 8).unwrap();
        })
    });
    c.bench_function(
        "ping-pong round trip: send, wake, pick, send, wake, pick",
        |bch| {
            let (mut k, a, b) = world();
            let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
            let (qa, qb) = (k.threads[a].proc, k.threads[b].proc);
            // Steady state: a runs, b waits for an event.
            assert_eq!(k.pick_next(), Pick::Run(a));
            k.yield_current();
            assert_eq!(k.pick_next(), Pick::Run(b));
            assert_eq!(k.wait_event(b, None), None);
            assert_eq!(k.pick_next(), Pick::Run(a));
            bch.iter(|| {
                // a is running, b waits
                k.ipc_send(a, pb, 0x100, 20).unwrap();
                k.wait_event(a, None);
                let Pick::Run(_) = k.pick_next() else {
                    panic!()
                };
                k.procs[qb].mem.write_u32(0x2004, 8).unwrap();
                k.ipc_send(b, pa, 0x100, 20).unwrap();
                k.wait_event(b, None);
                let Pick::Run(_) = k.pick_next() else {
                    panic!()
                };
                k.procs[qa].mem.write_u32(0x2004, 8).unwrap();
            })
        },
    );
    c.bench_function("PC-IPC send 20 B + read", |bch| {
        let (mut k, a, _) = world();
        let p = k.threads[a].proc;
        let blk = |k: &mut Kernel<VecMemory>, caller: u16, to: u16, c: u16, size: u16| {
            let m = &mut k.procs[p].mem;
            for (o, v) in [(0u32, caller), (2, to), (4, c), (10, size)] {
                m.write_u16(0x1000 + o, v).unwrap();
            }
            m.write_u32(0x100c, 0x3000).unwrap();
            k.pcipc_call(a, 0x1000, false).unwrap();
        };
        blk(&mut k, 0, 0, cmd::INSTALL, 0);
        blk(&mut k, 0, 0, cmd::REQ_ID, 0);
        bch.iter(|| {
            blk(&mut k, 1, 1, cmd::SEND, 20);
            blk(&mut k, 1, 0, cmd::READ, 0);
        })
    });
}

criterion_group!(kernel, benches);
criterion_main!(kernel);
