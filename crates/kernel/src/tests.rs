use super::*;
use std::any::Any;

#[derive(Debug, PartialEq)]
struct TestWait(&'static str);
impl Blocker for TestWait {
    fn personality(&self) -> &'static str {
        "test"
    }
    fn what(&self) -> &'static str {
        "test"
    }
    fn describe(&self) -> String {
        format!("waits for {}", self.0)
    }
    fn on_timeout(&self) -> Wake {
        Wake::Eax(0)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn world(n: usize) -> (Kernel<VecMemory>, Vec<ThreadId>) {
    let mut k = Kernel::new(Config::default());
    let ts = (0..n)
        .map(|i| {
            k.spawn_process(
                &format!("dir/p{i}.bin"),
                VecMemory::new(0x1000),
                0x1000,
                "test",
                (0, 0),
            )
            .unwrap()
            .1
        })
        .collect();
    (k, ts)
}

#[test]
fn pids_slots_names() {
    let (mut k, ts) = world(3);
    // Slots and PIDs 1 and 2 are the system layout's (KolibriOS: IDLE and OS).
    assert_eq!(k.threads[ts[0]].pid, 3);
    assert_eq!(k.threads[ts[2]].slot, Slot(5));
    assert_eq!(k.procs[ProcId(1)].name, "p1");
    assert_eq!(k.thread_by_pid(4), Some(ts[1]));
    k.exit_thread(ts[1]);
    assert_eq!(k.thread_by_pid(4), None);
    assert_eq!(k.name_of_pid(4), Some("p1"));
    assert_eq!(k.take_exited(), vec![ts[1]]);
    // The freed slot is reused, the PID is not.
    let t = k.spawn_thread(ProcId(0), 0, 0).unwrap();
    assert_eq!((k.threads[t].slot, k.threads[t].pid), (Slot(4), 6));
    assert_eq!(file_stem("a/b/c.d.kex"), "c.d");
    assert_eq!(file_stem(".hidden"), ".hidden");
}

#[test]
fn blockers_wake_time_out_and_report_deadlock() {
    let (mut k, ts) = world(2);
    assert_eq!(k.pick_next(), Pick::Run(ts[0]));
    k.block_current(Box::new(TestWait("a")), Some(5_000));
    assert_eq!(k.pick_next(), Pick::Run(ts[1]));
    k.block_current(Box::new(TestWait("b")), None);
    // Nothing ready: the clock jumps to the deadline and the timeout value is delivered.
    assert_eq!(k.pick_next(), Pick::Run(ts[0]));
    assert_eq!(k.now_ns(), 5_000);
    assert!(matches!(k.threads[ts[0]].wake_ref(), Some(Wake::Eax(0))));
    assert!(k.blocker_of::<TestWait>(ts[1]).is_some());
    k.block_current(Box::new(TestWait("c")), None);
    match k.pick_next() {
        Pick::Deadlock(w) => {
            assert_eq!(w.len(), 2);
            assert!(w[0].contains("p0[3] slot 3: waits for c"), "{w:?}");
            assert!(w[1].contains("waits for b"));
        }
        p => panic!("{p:?}"),
    }
    k.wake(ts[1], Wake::Eax(7));
    assert_eq!(k.pick_next(), Pick::Run(ts[1]));
}

#[test]
fn an_ended_wait_gives_its_box_back_once() {
    let (mut k, ts) = world(1);
    let t = ts[0];
    assert_eq!(k.reuse_blocker::<TestWait>(t), None, "never waited");
    assert_eq!(k.pick_next(), Pick::Run(t));
    k.block_current(Box::new(TestWait("a")), None);
    assert_eq!(k.reuse_blocker::<TestWait>(t), None, "still waiting");
    k.wake(t, Wake::Eax(1));
    let b = k
        .reuse_blocker::<TestWait>(t)
        .expect("the ended wait's box");
    assert_eq!(b.0, "a");
    assert_eq!(k.reuse_blocker::<TestWait>(t), None, "given once");
    // block_current_on puts the next wait in that box.
    assert_eq!(k.pick_next(), Pick::Run(t));
    k.block_current_on(TestWait("again"), None);
    assert_eq!(k.blocker_of::<TestWait>(t), Some(&TestWait("again")));
    k.wake(t, Wake::Eax(1));
    // A box of another type is not handed out as this one.
    assert_eq!(k.pick_next(), Pick::Run(t));
    k.block_current_on(
        Sleep {
            personality: "test",
            text: "sleeps",
        },
        Some(10),
    );
    assert_eq!(
        k.pick_next(),
        Pick::Run(t),
        "the sleep ended at its deadline"
    );
    assert_eq!(k.reuse_blocker::<TestWait>(t), None);
}

struct Deny2;
impl MessageHook for Deny2 {
    fn name(&self) -> &str {
        "deny-2"
    }
    fn inspect(&mut self, ctx: &HookCtx<'_>, msg: &mut Message) -> Verdict {
        assert_eq!(ctx.from_name, "p0");
        if msg.data.first() == Some(&2) {
            Verdict::Deny("no twos".into())
        } else {
            msg.data.push(b'!');
            Verdict::Allow
        }
    }
}

#[test]
fn message_path_numbers_and_hooks_decide() {
    let (mut k, ts) = world(2);
    let ep = |k: &Kernel<VecMemory>, t: ThreadId| Endpoint {
        proc: Some(k.threads[t].proc),
        thread: Some(t),
        pid: k.threads[t].pid,
        address: k.threads[t].pid as u64,
    };
    let mut m = Message {
        seq: 0,
        personality: "test",
        kind: MsgKind::Datagram,
        from: ep(&k, ts[0]),
        to: ep(&k, ts[1]),
        channel: None,
        method: None,
        data: vec![1],
        reply_to: None,
        area_offset: None,
    };
    assert_eq!(k.transmit(&mut m), Verdict::Allow);
    assert_eq!((m.seq, m.data.as_slice()), (1, &[1u8][..]));
    k.add_hook(Box::new(Deny2));
    assert_eq!(k.transmit(&mut m), Verdict::Allow);
    assert_eq!(
        (m.seq, m.data.as_slice()),
        (2, &[1u8, b'!'][..]),
        "rewritten"
    );
    m.data = vec![2];
    assert_eq!(k.transmit(&mut m), Verdict::Deny("no twos".into()));
    assert_eq!(m.seq, 3);
}

#[test]
fn output_is_handed_on_at_the_buffer_bound_and_captured_up_to_max_output() {
    let (mut k, ts) = world(2);
    k.config.capture_output = true;
    k.config.max_output = 10;
    let seen = std::rc::Rc::new(std::cell::RefCell::new((0usize, 0usize)));
    let s = std::rc::Rc::clone(&seen);
    k.set_output_sink(Box::new(move |d, err| {
        let mut s = s.borrow_mut();
        if err {
            s.1 += d.len();
        } else {
            s.0 += d.len();
        }
    }));
    // Small writes stay in the buffer.
    k.output(ts[0], b"hello", false);
    assert_eq!(k.stdout, b"hello");
    assert_eq!(*seen.borrow(), (0, 0));
    // A write that would pass the bound hands everything on; the buffer never grows past it.
    let big = vec![b'x'; 4 * OUTPUT_BUFFER];
    k.output(ts[0], &big, false);
    assert!(k.stdout.is_empty());
    assert_eq!(seen.borrow().0, 5 + big.len());
    for _ in 0..100 {
        k.output(ts[1], &big[..1000], true);
        assert!(k.stderr.len() <= OUTPUT_BUFFER);
    }
    assert_eq!(seen.borrow().1 + k.stderr.len(), 100 * 1000);
    // Capture keeps max_output bytes per process and counts the rest.
    assert_eq!(k.procs[ProcId(0)].output, b"helloxxxxx");
    assert_eq!(k.output_dropped(ProcId(0)), big.len() as u64 - 5);
    assert_eq!(k.procs[ProcId(1)].output.len(), 10);
    assert_eq!(k.output_dropped(ProcId(1)), 100 * 1000 - 10);
    assert_eq!(
        k.output_dropped(ProcId(7)),
        0,
        "no such process: nothing dropped"
    );
}

#[test]
fn programs_that_start_later_are_deadlines_until_they_start() {
    let (mut k, ts) = world(1);
    k.schedule_start(5_000, 7);
    k.schedule_start(5_000, 3);
    k.schedule_start(9_000, 1);
    assert_eq!(k.pending_starts(), 3);
    assert!(!k.has_due_starts());
    assert_eq!(k.pick_next(), Pick::Run(ts[0]));
    k.block_current(Box::new(TestWait("a")), None);
    // Nothing ready, nothing else to wait for: the clock jumps to the first start, which the
    // run loop serves, earliest first and equal times in scheduling order.
    assert_eq!(k.pick_next(), Pick::Idle(5_000));
    assert_eq!(k.now_ns(), 5_000);
    assert_eq!(k.take_due_starts(), vec![3, 7]);
    assert_eq!(k.pick_next(), Pick::Idle(9_000));
    assert_eq!(k.take_due_starts(), vec![1]);
    assert_eq!(k.pending_starts(), 0);
    // Only then is the waiter a deadlock.
    assert!(matches!(k.pick_next(), Pick::Deadlock(_)));
}
