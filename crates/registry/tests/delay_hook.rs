//! `Verdict::Delay` on the kernel's one message path, for every personality that sends: a hook
//! that holds each message for 2 ms of guest time. The programs see no difference (same output,
//! same exit), the guest clock shows the holds, and the trace has a `delay` record per message
//! held. Real guests from fixtures/.

use ipcemu_kernel::{HookCtx, Message, MessageHook, Verdict};
use ipcemu_machine::{End, GuestSpec, WorldConfig};
use ipcemu_registry::{parse_connect, Personalities};
use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

const HOLD_NS: u64 = 2_000_000;

/// Holds every message it sees (a message made again after its hold passes: the kernel does
/// not ask twice).
struct Hold {
    seen: Rc<RefCell<u64>>,
}

impl MessageHook for Hold {
    fn name(&self) -> &str {
        "hold-2ms"
    }
    fn inspect(&mut self, _ctx: &HookCtx<'_>, _msg: &mut Message) -> Verdict {
        *self.seen.borrow_mut() += 1;
        Verdict::Delay(HOLD_NS)
    }
}

#[derive(Clone, Default)]
struct Buf(Rc<RefCell<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A world of `guests` (fixture paths with parameters), with the holding hook if `hold`: the
/// world, its output, and the count of messages the hook saw.
fn world(
    pers: &Personalities,
    guests: &[(&str, Option<&str>)],
    hold: bool,
) -> (ipcemu_machine::World, Buf, Rc<RefCell<u64>>) {
    let out = Buf::default();
    let mut w = pers
        .world(
            WorldConfig::default(),
            Box::new(out.clone()),
            Box::new(std::io::sink()),
        )
        .expect("world");
    let seen = Rc::new(RefCell::new(0));
    if hold {
        w.add_message_hook(Box::new(Hold {
            seen: Rc::clone(&seen),
        }));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    for (g, params) in guests {
        let spec = GuestSpec::from_file(root.join(g), *params).expect("fixture");
        w.add_guest(&spec).expect("guest");
    }
    (w, out, seen)
}

/// Run `guests` with or without the hook: (output, end, guest ns, messages the hook saw).
fn run(
    pers: &Personalities,
    guests: &[(&str, Option<&str>)],
    hold: bool,
) -> (String, End, u64, u64) {
    let (mut w, out, seen) = world(pers, guests, hold);
    let r = w.run();
    let text = String::from_utf8_lossy(&out.0.borrow()).into_owned();
    let n = *seen.borrow();
    (text, r.end, r.virtual_ns, n)
}

fn check(pers: Personalities, guests: &[(&str, Option<&str>)], min_holds: u64) {
    check_with(pers, guests, min_holds, false);
}

/// `check`, with `any_order`: the lines of programs that run side by side may come in another
/// order when messages are held (each program's own lines keep theirs).
fn check_with(
    pers: Personalities,
    guests: &[(&str, Option<&str>)],
    min_holds: u64,
    any_order: bool,
) {
    let (plain, end0, t0, _) = run(&pers, guests, false);
    let (held, end1, t1, seen) = run(&pers, guests, true);
    assert_eq!(end0, End::AllExited, "{plain}");
    assert_eq!(end1, End::AllExited, "{held}");
    assert!(!plain.contains("FAIL"), "{plain}");
    if any_order {
        fn per_program(text: &str) -> std::collections::BTreeMap<&str, Vec<&str>> {
            let mut by: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            for l in text.lines() {
                let who = l.split_whitespace().nth(1).unwrap_or("");
                by.entry(who).or_default().push(l);
            }
            by
        }
        assert_eq!(
            per_program(&plain),
            per_program(&held),
            "the programs see no difference"
        );
    } else {
        assert_eq!(plain, held, "the programs see no difference");
    }
    // A held message is seen twice (held, then made again); answers given while a window
    // procedure returns cannot be held and are seen once.
    assert!(seen >= 2 * min_holds, "hook saw {seen} messages");
    // These holds happen one after the other: the guest clock shows each (other work may
    // overlap them).
    assert!(
        t1 > t0 && t1 >= min_holds * HOLD_NS,
        "guest time {t1} ns should include {min_holds} holds of {HOLD_NS} ns (plain run {t0} ns)"
    );
}

#[test]
fn kolibri_sends_are_held() {
    check(
        Personalities::default(),
        &[
            ("kolibri/pp_srv.kex", None),
            ("kolibri/pp_cli.kex", Some("20")),
        ],
        40,
    );
}

#[test]
fn pcipc_sends_are_held() {
    check(
        Personalities::default(),
        &[("dos/pcsrv.com", None), ("dos/pccli.com", None)],
        1,
    );
}

#[test]
fn kos_calls_and_replies_are_held() {
    let pers = Personalities {
        kos_connections: vec![parse_connect("echo_cli:echo_connection=echo_srv").expect("c")],
        ..Personalities::default()
    };
    check(
        pers,
        &[("kos/echo_srv.elf", None), ("kos/echo_cli.elf", Some("10"))],
        22,
    );
}

#[test]
fn win32_pipe_writes_and_messages_are_held() {
    check(
        Personalities::default(),
        &[("win32/pipe_parent.exe", None)],
        3,
    );
    check(
        Personalities::default(),
        &[
            ("win32/copydata_a.exe", Some("5")),
            ("win32/copydata_b.exe", Some("5")),
        ],
        6,
    );
}

#[test]
fn win32_overlapped_writes_mailslots_and_ports_are_held() {
    // An overlapped server with three clients writing at once: writes that finish later for
    // another thread's call are made with transmit_now (not held); the clients' writes are.
    check(
        Personalities::default(),
        &[("win32/ovpipe.exe", Some("5"))],
        15,
    );
    // Three writers held at once (each was held again and again when one slot kept the
    // kernel's "held once" mark).
    check_with(
        Personalities::default(),
        &[
            ("win32/mslot_srv.exe", Some("5")),
            ("win32/mslot_cli.exe", Some("5")),
            ("win32/mslot_cli.exe", Some("5")),
        ],
        10,
        true,
    );
}

/// A held send puts the thread's eip back on its `int 0x40` from inside the interrupt hook,
/// and the thread then waits in that hook (its Unicorn instance stays in `emu_start`) until the
/// hold passes. A run paused in the long loop after the send (a stop between two blocks) must
/// resume at the loop, not at that old eip: the code after the send runs once and the checksum
/// is the plain run's (patches/unicorn/...-pc-write-sync.patch).
#[test]
fn a_pause_after_a_held_send_resumes_where_the_guest_was() {
    use ipcemu_machine::{Step, StopReason};
    let pers = Personalities::default();
    let guests = [("kolibri/held_loop.kex", Some("60"))];
    let (plain, end0, _, _) = run(&pers, &guests, false);
    assert_eq!(end0, End::AllExited, "{plain}");
    let (mut w, out, seen) = world(&pers, &guests, true);
    // Pause from another thread once the loop runs: the held send takes no wall time (the
    // guest clock jumps over the hold), the loop takes hundreds of milliseconds.
    let handle = w.stop_handle();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pauser = {
        let done = std::sync::Arc::clone(&done);
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(40));
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            // Repeated until the run loop takes it (a stop can be lost right before a start).
            handle.pause();
            while handle.pause_pending() && !done.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(1));
                handle.pause();
            }
        })
    };
    let mut paused = 0;
    loop {
        match w.step() {
            Step::Ran(_, StopReason::Paused) => {
                paused += 1;
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            Step::Ran(..) => {}
            Step::Over(end) => {
                assert_eq!(end, End::AllExited);
                break;
            }
        }
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    pauser.join().expect("pauser");
    // Over: this returns at once and hands the guests' output to the writers.
    assert_eq!(w.run().end, End::AllExited);
    let held = String::from_utf8_lossy(&out.0.borrow()).into_owned();
    assert_eq!(plain, held, "the paused run differs from the plain one");
    assert!(!held.contains("FAIL"), "{held}");
    assert!(paused >= 1, "the run was not paused");
    assert!(*seen.borrow() >= 2, "the send was not held");
}
