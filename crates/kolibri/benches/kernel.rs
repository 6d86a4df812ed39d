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

/// A trace tap that drops what it gets: what packing the records costs the emulation thread.
struct Discard;
impl ipcemu_kernel::trace::TraceTap for Discard {
    fn take(&self, buf: &mut Vec<u8>) {
        buf.clear();
    }
}

/// One ping-pong round trip from the steady state (a runs, b waits for an event).
fn round_trip(k: &mut Kernel<VecMemory>, ko: &mut Kolibri, a: ThreadId, b: ThreadId) {
    let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
    let (qa, qb) = (k.threads[a].proc, k.threads[b].proc);
    ko.ipc_send(k, a, pb, 0x100, 20).unwrap();
    ko.wait_event(k, a, None);
    let Pick::Run(_) = k.pick_next() else {
        panic!()
    };
    k.procs[qb].mem.write_u32(0x2004, 8).unwrap();
    ko.ipc_send(k, b, pa, 0x100, 20).unwrap();
    ko.wait_event(k, b, None);
    let Pick::Run(_) = k.pick_next() else {
        panic!()
    };
    k.procs[qa].mem.write_u32(0x2004, 8).unwrap();
}

/// The world of [`world`] in its ping-pong steady state: a runs, b waits for an event.
fn steady() -> (Kernel<VecMemory>, Kolibri, ThreadId, ThreadId) {
    let (mut k, mut ko, a, b) = world();
    assert_eq!(k.pick_next(), Pick::Run(a));
    k.yield_current();
    assert_eq!(k.pick_next(), Pick::Run(b));
    assert_eq!(ko.wait_event(&mut k, b, None), None);
    assert_eq!(k.pick_next(), Pick::Run(a));
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
            let (mut k, mut ko, a, b) = steady();
            bch.iter(|| round_trip(&mut k, &mut ko, a, b))
        },
    );
    c.bench_function(
        "the same round trip, traced (six records packed, the tap drops them)",
        |bch| {
            let (mut k, mut ko, a, b) = steady();
            k.set_trace_tap(std::sync::Arc::new(Discard));
            bch.iter(|| round_trip(&mut k, &mut ko, a, b))
        },
    );
}

criterion_group!(kernel, benches);
criterion_main!(kernel);
