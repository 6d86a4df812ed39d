use super::*;
use proptest::prelude::*;

fn world(n: usize) -> (Kernel<VecMemory>, Vec<ThreadId>) {
    let mut k = Kernel::new(Config::default());
    let ts = (0..n)
        .map(|i| {
            k.spawn_process(
                &format!("p{i}.kex"),
                VecMemory::new(0x10000),
                0x10000,
                Flavor::Kolibri,
                (0, 0),
            )
            .unwrap()
            .1
        })
        .collect();
    (k, ts)
}

fn mem(k: &Kernel<VecMemory>, t: ThreadId) -> &VecMemory {
    &k.procs[k.threads[t].proc].mem
}

fn mem_mut(k: &mut Kernel<VecMemory>, t: ThreadId) -> &mut VecMemory {
    let p = k.threads[t].proc;
    &mut k.procs[p].mem
}

#[test]
fn pids_slots_and_names() {
    let (k, ts) = world(2);
    assert_eq!(k.threads[ts[0]].pid, 2);
    assert_eq!(k.threads[ts[1]].pid, 3);
    assert_eq!(k.threads[ts[0]].slot, 2);
    assert_eq!(k.slot_of_pid(3), 3);
    assert_eq!(k.slot_of_pid(1), 1);
    assert_eq!(k.slot_of_pid(99), 0);
    assert_eq!(kolibri_name("/a/b/echo_server_long.kex"), "echo_server");
    assert_eq!(kolibri_name("noext"), "noext");
    assert_eq!(kolibri_name(".hidden"), ".hidden");
}

#[test]
fn send_error_codes_in_kernel_order() {
    let (mut k, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let pb = k.threads[b].pid;
    assert_eq!(k.ipc_send(a, 77, 0x100, 4), Ok(SendResult::NoPid));
    assert_eq!(k.ipc_send(a, IDLE_PID, 0x100, 4), Ok(SendResult::NoArea));
    assert_eq!(k.ipc_send(a, pb, 0x100, 4), Ok(SendResult::NoArea));
    k.ipc_set_area(b, 0x2000, 32);
    mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
    mem_mut(&mut k, b).write_u32(0x2000, 1).unwrap();
    assert_eq!(k.ipc_send(a, pb, 0x100, 4), Ok(SendResult::Locked));
    mem_mut(&mut k, b).write_u32(0x2000, 0).unwrap();
    assert_eq!(k.ipc_send(a, pb, 0x100, 17), Ok(SendResult::Overflow));
    assert_eq!(
        mem(&k, b).read_u32(0x2004),
        Ok(8),
        "overflow changes nothing"
    );
    assert_eq!(
        k.ipc_send(a, pb, 0x100, 16),
        Ok(SendResult::Ok),
        "exact fit"
    );
    assert_eq!(mem(&k, b).read_u32(0x2004), Ok(32));
    assert_eq!(k.ipc_send(a, pb, 0x100, 0), Ok(SendResult::Overflow));
}

#[test]
fn delivery_layout_and_event() {
    let (mut k, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
    mem_mut(&mut k, a).write(0x100, b"hello").unwrap();
    k.ipc_set_area(b, 0x2000, 64);
    mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
    k.set_event_mask(b, 0x40);
    assert_eq!(k.ipc_send(a, pb, 0x100, 5), Ok(SendResult::Ok));
    assert_eq!(k.ipc_send(a, pb, 0x101, 2), Ok(SendResult::Ok));
    let m = mem(&k, b);
    assert_eq!(m.read_u32(0x2004), Ok(8 + 13 + 10));
    assert_eq!(m.read_u32(0x2008), Ok(pa));
    assert_eq!(m.read_u32(0x200c), Ok(5));
    assert_eq!(&m.bytes[0x2010..0x2015], b"hello");
    assert_eq!(m.read_u32(0x2015), Ok(pa));
    assert_eq!(m.read_u32(0x2019), Ok(2));
    assert_eq!(&m.bytes[0x201d..0x201f], b"el");
    assert_eq!(k.take_event(b), 7, "two messages, one event");
    assert_eq!(k.take_event(b), 0);
}

#[test]
fn offset_zero_receiver_gets_header_over_lock_and_offset() {
    let (mut k, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
    k.ipc_set_area(b, 0x2000, 64);
    assert_eq!(k.ipc_send(a, pb, 0x100, 3), Ok(SendResult::Ok));
    let m = mem(&k, b);
    assert_eq!(
        m.read_u32(0x2000),
        Ok(pa),
        "sender PID became the lock dword"
    );
    assert_eq!(m.read_u32(0x2004), Ok(3), "length overwrote the new offset");
    assert_eq!(k.ipc_send(a, pb, 0x100, 3), Ok(SendResult::Locked));
}

#[test]
fn offset_wraps_in_32_bits() {
    let (mut k, ts) = world(1);
    let a = ts[0];
    let pa = k.threads[a].pid;
    k.ipc_set_area(a, 0x2010, 64);
    mem_mut(&mut k, a).write_u32(0x2014, 0xFFFF_FFF8).unwrap();
    assert_eq!(k.ipc_send(a, pa, 0x100, 0), Ok(SendResult::Ok));
    let m = mem(&k, a);
    assert_eq!(m.read_u32(0x2014), Ok(0));
    assert_eq!(m.read_u32(0x2008), Ok(pa));
    assert_eq!(m.read_u32(0x200c), Ok(0));
    mem_mut(&mut k, a).write_u32(0x2014, 0xFFFF_FFF0).unwrap();
    assert_eq!(k.ipc_send(a, pa, 0x100, 0), Ok(SendResult::Overflow));
}

#[test]
fn bad_pointers_never_panic() {
    let (mut k, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let pb = k.threads[b].pid;
    k.ipc_set_area(b, 0xFFFF_FFFC, 64);
    assert_eq!(k.ipc_send(a, pb, 0x100, 1), Ok(SendResult::NoArea));
    k.ipc_set_area(b, 0xFFF0, 0x1000);
    mem_mut(&mut k, b).write_u32(0xFFF4, 8).unwrap();
    assert_eq!(k.ipc_send(a, pb, 0x100, 64), Ok(SendResult::Overflow));
    k.ipc_set_area(b, 0x2000, 0x1000);
    mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
    assert!(matches!(
        k.ipc_send(a, pb, 0xFFFF, 4),
        Err(SendError::BadMessage(_))
    ));
    assert_eq!(
        mem(&k, b).read_u32(0x2004),
        Ok(8),
        "a faulting send changes nothing"
    );
}

#[test]
fn masked_events_are_kept_and_redraw_is_a_flag() {
    let (mut k, ts) = world(1);
    let a = ts[0];
    let pa = k.threads[a].pid;
    assert_eq!(k.take_event(a), 1);
    assert_eq!(k.take_event(a), 1, "redraw stays until function 0");
    k.ipc_set_area(a, 0x2000, 64);
    mem_mut(&mut k, a).write_u32(0x2004, 8).unwrap();
    assert_eq!(k.set_event_mask(a, 0), 7);
    k.ipc_send(a, pa, 0x100, 1).unwrap();
    assert_eq!(k.take_event(a), 0);
    k.set_event_mask(a, 0x41);
    assert_eq!(k.take_event(a), 7, "IPC before redraw");
    assert_eq!(k.take_event(a), 1);
    k.clear_redraw(a);
    assert_eq!(k.take_event(a), 0);
}

#[test]
fn waits_wake_on_event_and_deadline() {
    let (mut k, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let pb = k.threads[b].pid;
    assert_eq!(k.pick_next(), Pick::Run(a));
    assert_eq!(k.pick_next(), Pick::Run(b));
    k.set_event_mask(b, 0x40);
    k.ipc_set_area(b, 0x2000, 64);
    mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
    assert_eq!(k.wait_event(b, None), None);
    assert_eq!(k.threads[b].state, ThreadState::Waiting(Wait::Event));
    // a is "current" for the send (it is only bookkeeping here)
    k.ipc_send(a, pb, 0x100, 1).unwrap();
    assert_eq!(k.threads[b].state, ThreadState::Ready);
    assert_eq!(k.threads[b].wake_value, Some(7));
    assert_eq!(k.pick_next(), Pick::Run(b));
    // b waits 50 ticks with nothing to come: the clock jumps.
    assert_eq!(k.wait_event(b, Some(50)), None);
    assert_eq!(k.pick_next(), Pick::Run(b));
    assert_eq!(k.threads[b].wake_value, Some(0));
    assert!(k.ticks() >= 50);
    // a sleeping thread and b waiting forever: after a wakes and exits, deadlock.
    k.exit_thread(a);
    assert_eq!(k.wait_event(b, None), None);
    assert!(matches!(k.pick_next(), Pick::Deadlock(w) if w.len() == 1));
}

#[test]
fn slots_are_reused_lowest_first_pids_never() {
    let (mut k, ts) = world(3);
    k.exit_thread(ts[0]);
    assert_eq!(k.threads[ts[0]].state, ThreadState::Ended);
    assert_eq!(k.procs[0].exit, Some(ExitStatus::Normal(0)));
    let t = k.spawn_thread(1, 0, 0).unwrap();
    assert_eq!(k.threads[t].slot, 2);
    assert_eq!(k.threads[t].pid, 5);
    assert_eq!(k.max_slot(), 4);
    let mut m = VecMemory::new(0x10000);
    std::mem::swap(&mut m, &mut k.procs[1].mem);
    std::mem::swap(&mut m, &mut k.procs[1].mem);
    let me = ts[1];
    // free slot: only +50 is written
    mem_mut(&mut k, me).bytes[0x3000..0x3400].fill(0xAA);
    assert_eq!(k.thread_info(me, 200, 0x3000), Ok(4));
    let m = mem(&k, me);
    assert_eq!(m.read_u16(0x3000 + 50), Ok(9));
    assert_eq!(m.bytes[0x3000], 0xAA);
    assert_eq!(m.bytes[0x3000 + 10], 0xAA);
    assert_eq!(k.thread_info(me, u32::MAX, 0x3000), Ok(4));
    let m = mem(&k, me);
    assert_eq!(&m.bytes[0x3000 + 10..0x3000 + 13], b"p1\0");
    assert_eq!(m.read_u32(0x3000 + 30), Ok(k.threads[me].pid));
    assert_eq!(m.read_u32(0x3000 + 26), Ok(0xFFFF));
}

#[test]
fn board_keeps_unread_bytes() {
    let (mut k, _) = world(1);
    for b in b"ab" {
        k.board_write(0, *b);
    }
    assert_eq!(k.board_read(), Some(b'a'));
    assert_eq!(k.board_read(), Some(b'b'));
    assert_eq!(k.board_read(), None);
    assert_eq!(k.stdout, b"ab");
}

proptest! {
    /// Whatever the area, offset and length, a send either changes nothing (codes 1-3) or
    /// advances the offset by exactly 8 + len and writes the header at the old offset.
    #[test]
    fn send_is_all_or_nothing(area in 0u32..0x11000, size in 0u32..0x2000, off in any::<u32>(),
                              len in 0u32..0x3000, lock in prop_oneof![Just(0u32), any::<u32>()]) {
        let (mut k, ts) = world(2);
        let (a, b) = (ts[0], ts[1]);
        let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
        k.ipc_set_area(b, area, size);
        let _ = mem_mut(&mut k, b).write_u32(area, lock);
        let _ = mem_mut(&mut k, b).write_u32(area.wrapping_add(4), off);
        let before = mem(&k, b).bytes.clone();
        let r = k.ipc_send(a, pb, 0x100, len).unwrap();
        let after = &mem(&k, b).bytes;
        match r {
            SendResult::Ok => {
                prop_assert_eq!(lock, 0);
                let new = off.wrapping_add(8).wrapping_add(len);
                prop_assert!(new <= size);
                let dst = area.wrapping_add(off);
                let m = mem(&k, b);
                prop_assert_eq!(m.read_u32(dst), Ok(pa));
                prop_assert_eq!(m.read_u32(dst.wrapping_add(4)), Ok(len));
                if dst.wrapping_add(4) != area.wrapping_add(4) && dst != area.wrapping_add(4) {
                    prop_assert_eq!(m.read_u32(area.wrapping_add(4)), Ok(new));
                }
                prop_assert_eq!(k.threads[b].events & 0x40, 0x40);
            }
            _ => {
                prop_assert_eq!(&before, after);
                prop_assert_eq!(k.threads[b].events, 0);
            }
        }
    }
}

mod pcipc_tests {
    use super::*;
    use crate::pcipc::{cmd, err, ST_ENABLED, ST_ERROR, ST_INSTALLED, ST_MESSAGES};

    const BLK: u32 = 0x1000;
    const DATA: u32 = 0x2000;

    /// Run one command for thread `t` with a linear block; returns (caller, to, status, error, size).
    fn call(
        k: &mut Kernel<VecMemory>,
        t: ThreadId,
        caller: u16,
        to: u16,
        c: u16,
        size: u16,
    ) -> (u16, u16, u16, u16, u16) {
        let m = mem_mut(k, t);
        for (o, v) in [
            (0, caller),
            (2, to),
            (4, c),
            (6, 0xAAAA),
            (8, 0xAAAA),
            (10, size),
        ] {
            m.write_u16(BLK + o, v).unwrap();
        }
        m.write_u32(BLK + 12, DATA).unwrap();
        assert_eq!(k.pcipc_call(t, BLK, false), Ok(PcOutcome::Done));
        let m = mem(k, t);
        let r = |o| m.read_u16(BLK + o).unwrap();
        (r(0), r(2), r(6), r(8), r(10))
    }

    #[test]
    fn install_ids_send_read() {
        let (mut k, ts) = world(1);
        let t = ts[0];
        let (_, _, st, e, _) = call(&mut k, t, 0, 0, cmd::SEND, 1);
        assert_eq!((st, e), (ST_ERROR, err::NOT_INSTALLED));
        assert_eq!(
            call(&mut k, t, 3, 0, cmd::INSTALL, 0).3,
            err::ONLY_ZERO_INSTALLS
        );
        let (_, _, st, e, _) = call(&mut k, t, 0, 0, cmd::INSTALL, 0);
        assert_eq!((st, e), (ST_ENABLED | ST_INSTALLED, 0));
        let a = call(&mut k, t, 0, 0, cmd::REQ_ID, 0).0;
        let b = call(&mut k, t, 0, 0, cmd::REQ_ID, 0).0;
        assert_eq!((a, b), (1, 2));
        assert_eq!(
            call(&mut k, t, 9, 0, cmd::INSTALL, 0).3,
            err::CANNOT_INSTALL
        );
        mem_mut(&mut k, t).write(DATA, b"hello").unwrap();
        assert_eq!(call(&mut k, t, a, b, cmd::SEND, 5).3, 0);
        assert_eq!(k.pcipc_free(), 16384 - 13);
        let (_, _, st, e, n) = call(&mut k, t, b, 0, cmd::INQUIRE, 0);
        assert_eq!((st & ST_MESSAGES, e, n), (ST_MESSAGES, 0, 1));
        assert_eq!(mem(&k, t).read_u16(DATA), Ok(16384 - 13));
        assert_eq!(
            call(&mut k, t, b, 0, cmd::READ, 2).3,
            err::BAD_DATA,
            "too small: kept"
        );
        mem_mut(&mut k, t).write(DATA, b"xxxxx").unwrap();
        let (_, from, st, e, n) = call(&mut k, t, b, 0, cmd::READ, 0);
        assert_eq!((from, st & ST_MESSAGES, e, n), (a, 0, 0, 5));
        assert_eq!(
            &mem(&k, t).bytes[DATA as usize..DATA as usize + 5],
            b"hello"
        );
        assert_eq!(
            call(&mut k, t, b, 0, cmd::READ, 0).4,
            0,
            "nothing left: size 0"
        );
        assert_eq!(call(&mut k, t, 7, b, cmd::SEND, 0).3, err::BAD_SENDER);
        assert_eq!(call(&mut k, t, a, 7, cmd::SEND, 0).3, err::BAD_DEST);
        assert_eq!(
            call(&mut k, t, 0, 0, cmd::DEL_ID, 0).3,
            err::CANNOT_RELINQUISH
        );
        assert_eq!(call(&mut k, t, a, 0, 0x05, 0).3, err::INVALID);
    }

    #[test]
    fn space_full_changes_nothing_and_disable_rules() {
        let (mut k, ts) = world(1);
        let t = ts[0];
        call(&mut k, t, 0, 0, cmd::INSTALL, 0);
        let a = call(&mut k, t, 0, 0, cmd::REQ_ID, 0).0;
        assert_eq!(call(&mut k, t, a, a, cmd::SEND, 16384 - 8).3, 0);
        assert_eq!(call(&mut k, t, a, a, cmd::SEND, 0).3, err::SPACE_FULL);
        assert_eq!(k.pcipc_free(), 0);
        assert_eq!(call(&mut k, t, a, 0, cmd::DISABLE, 0).3, 0);
        assert_eq!(
            call(&mut k, t, 0, 0, cmd::DISABLE, 0).3,
            err::CANNOT_DISABLE
        );
        assert_eq!(call(&mut k, t, a, a, cmd::SEND, 0).3, err::NOT_ENABLED);
        let (_, _, st, e, _) = call(&mut k, t, 0, 0, cmd::ENABLE, 0);
        assert_eq!(
            (st & ST_ENABLED, e),
            (0, 0),
            "another ID's enable is ignored"
        );
        assert_eq!(
            call(&mut k, t, a, 0, cmd::ENABLE, 0).2 & ST_ENABLED,
            ST_ENABLED
        );
        call(&mut k, t, 0, 0, cmd::INSTALL, 0);
        assert_eq!(k.pcipc_free(), 16384, "reset drops messages");
        assert_eq!(
            call(&mut k, t, a, 0, cmd::READ, 0).3,
            err::BAD_SENDER,
            "reset drops IDs"
        );
    }

    #[test]
    fn read_wait_blocks_and_is_completed_by_a_send() {
        let (mut k, ts) = world(2);
        let (r, s) = (ts[0], ts[1]);
        assert_eq!(k.pick_next(), Pick::Run(r));
        call(&mut k, r, 0, 0, cmd::INSTALL, 0);
        let id = call(&mut k, r, 0, 0, cmd::REQ_ID, 0).0;
        let m = mem_mut(&mut k, r);
        for (o, v) in [(0, id), (2, 0), (4, cmd::READ_WAIT), (10, 0)] {
            m.write_u16(BLK + o, v).unwrap();
        }
        m.write_u32(BLK + 12, DATA).unwrap();
        assert_eq!(k.pcipc_call(r, BLK, false), Ok(PcOutcome::Blocked));
        assert_eq!(k.threads[r].state, ThreadState::Waiting(Wait::PcIpc));
        assert!(matches!(k.pick_next(), Pick::Run(x) if x == s));
        mem_mut(&mut k, s).write(DATA, b"ping").unwrap();
        assert_eq!(call(&mut k, s, 0, id, cmd::SEND, 4).3, 0);
        assert_eq!(k.threads[r].state, ThreadState::Ready);
        let m = mem(&k, r);
        assert_eq!(m.read_u16(BLK + 2), Ok(0), "sender ID");
        assert_eq!(m.read_u16(BLK + 10), Ok(4));
        assert_eq!(&m.bytes[DATA as usize..DATA as usize + 4], b"ping");
        assert_eq!(k.pcipc_free(), 16384);
    }

    #[test]
    fn real_mode_far_pointers() {
        let (mut k, ts) = world(1);
        let t = ts[0];
        // block at 0100:0000 = 0x1000, data pointer 0200:0010 = 0x2010
        let m = mem_mut(&mut k, t);
        for (o, v) in [(0u32, 0u16), (4, cmd::VERSION), (10, 0)] {
            m.write_u16(0x1000 + o, v).unwrap();
        }
        m.write_u32(0x100c, 0x0200_0010).unwrap();
        assert_eq!(k.pcipc_call(t, 0x1000, true), Ok(PcOutcome::Done));
        let m = mem(&k, t);
        assert_eq!(&m.bytes[0x2010..0x2010 + 11], b"PC-IPC 1.00");
        assert_eq!(m.read_u16(0x100a), Ok(11));
        assert!(
            k.pcipc_call(t, 0xFFF8, true).is_err(),
            "a block outside memory faults"
        );
    }
}
