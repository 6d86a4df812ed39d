mod pcipc_tests {
    use super::super::*;
    use ipcemu_kernel::{Config, Pick, ThreadState, VecMemory, Wake};

    fn world(n: usize) -> (Kernel<VecMemory>, Vec<ThreadId>) {
        let mut k = Kernel::new(Config::default());
        let ts = (0..n)
            .map(|i| {
                k.spawn_process(
                    &format!("p{i}.kex"),
                    VecMemory::new(0x10000),
                    0x10000,
                    "kolibri",
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
        k.mem_of(t)
    }

    thread_local! {
        static PC: std::cell::RefCell<PcIpc> = std::cell::RefCell::new(PcIpc::new(DEFAULT_VECTOR, PcIpcConfig::default()));
    }

    fn pcipc_call(
        k: &mut Kernel<VecMemory>,
        t: ThreadId,
        blk: u32,
        real: bool,
    ) -> Result<PcOutcome, ipcemu_kernel::MemFault> {
        PC.with(|p| p.borrow_mut().call(k, t, blk, real))
    }

    fn pcipc_free() -> u32 {
        PC.with(|p| p.borrow().free())
    }

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
        assert_eq!(pcipc_call(k, t, BLK, false), Ok(PcOutcome::Done));
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
        assert_eq!(pcipc_free(), 16384 - 13);
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
        assert_eq!(pcipc_free(), 0);
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
        assert_eq!(pcipc_free(), 16384, "reset drops messages");
        assert_eq!(
            call(&mut k, t, a, 0, cmd::READ, 0).3,
            err::BAD_SENDER,
            "reset drops IDs"
        );
    }

    /// A world of two threads where the first has installed PC-IPC, taken an ID and called
    /// read-wait with this to field and stated size (data at DATA), and now waits; the second
    /// runs. Returns (world, reader, sender, the reader's ID).
    fn waiting_reader(to: u16, size: u16) -> (Kernel<VecMemory>, ThreadId, ThreadId, u16) {
        let (mut k, ts) = world(2);
        let (r, s) = (ts[0], ts[1]);
        assert_eq!(k.pick_next(), Pick::Run(r));
        call(&mut k, r, 0, 0, cmd::INSTALL, 0);
        let id = call(&mut k, r, 0, 0, cmd::REQ_ID, 0).0;
        let m = mem_mut(&mut k, r);
        for (o, v) in [(0, id), (2, to), (4, cmd::READ_WAIT), (10, size)] {
            m.write_u16(BLK + o, v).unwrap();
        }
        m.write_u32(BLK + 12, DATA).unwrap();
        assert_eq!(pcipc_call(&mut k, r, BLK, false), Ok(PcOutcome::Blocked));
        assert!(k.blocker_of::<PcWait>(r).is_some());
        assert!(matches!(k.pick_next(), Pick::Run(x) if x == s));
        (k, r, s, id)
    }

    #[test]
    fn read_wait_blocks_and_is_completed_by_a_send() {
        let (mut k, r, s, id) = waiting_reader(0, 0);
        mem_mut(&mut k, s).write(DATA, b"ping").unwrap();
        assert_eq!(call(&mut k, s, 0, id, cmd::SEND, 4).3, 0);
        assert_eq!(k.threads[r].state, ThreadState::Ready);
        // Data and block are written at the send (as function 60 writes a receiver's area);
        // the resumed thread has nothing more to do.
        let w = k.threads[r].take_wake().unwrap();
        assert!(matches!(w, Wake::Done), "complete, not to be made again");
        let m = mem(&k, r);
        assert_eq!(m.read_u16(BLK + 2), Ok(0), "sender ID");
        assert_eq!(m.read_u16(BLK + 10), Ok(4));
        assert_eq!(&m.bytes[DATA as usize..DATA as usize + 4], b"ping");
        assert_eq!(pcipc_free(), 16384);
    }

    #[test]
    fn a_read_wait_keeps_the_fields_it_was_called_with() {
        // The stated size (2) is too small for the message that comes: error 08h, and the to
        // field the caller wrote (7) comes back unchanged, as with an immediate read.
        let (mut k, r, s, id) = waiting_reader(7, 2);
        assert_eq!(call(&mut k, s, 0, id, cmd::SEND, 4).3, 0);
        assert_eq!(k.threads[r].state, ThreadState::Ready);
        let m = mem(&k, r);
        assert_eq!(m.read_u16(BLK + 8), Ok(err::BAD_DATA));
        assert_eq!(m.read_u16(BLK + 2), Ok(7), "to as the caller wrote it");
        assert_eq!(m.read_u16(BLK + 10), Ok(2), "size as stated");
        assert_eq!(
            &m.bytes[DATA as usize..DATA as usize + 4],
            &[0; 4],
            "nothing written"
        );
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
        assert_eq!(pcipc_call(&mut k, t, 0x1000, true), Ok(PcOutcome::Done));
        let m = mem(&k, t);
        assert_eq!(&m.bytes[0x2010..0x2010 + 11], b"PC-IPC 1.00");
        assert_eq!(m.read_u16(0x100a), Ok(11));
        assert!(
            pcipc_call(&mut k, t, 0xFFF8, true).is_err(),
            "a block outside memory faults"
        );
    }

    #[test]
    fn own_ids_refuses_another_process_id() {
        for own in [false, true] {
            let (mut k, ts) = world(2);
            let (a, b) = (ts[0], ts[1]);
            let mut pc = PcIpc::new(
                DEFAULT_VECTOR,
                PcIpcConfig {
                    preinstalled: true,
                    own_ids: own,
                    ..PcIpcConfig::default()
                },
            );
            let mut call = |k: &mut Kernel<VecMemory>, t, caller: u16, to: u16, c: u16| {
                let m = k.mem_of(t);
                for (o, v) in [(0, caller), (2, to), (4, c), (6, 0), (8, 0), (10, 4)] {
                    m.write_u16(BLK + o, v).unwrap();
                }
                m.write_u32(BLK + 12, DATA).unwrap();
                assert_eq!(pc.call(k, t, BLK, false), Ok(PcOutcome::Done));
                let m = mem(k, t);
                (m.read_u16(BLK).unwrap(), m.read_u16(BLK + 8).unwrap())
            };
            // a takes ID 1, b takes ID 2.
            let (ida, e) = call(&mut k, a, 0, 0, cmd::REQ_ID);
            assert_eq!((ida, e), (1, err::OK));
            let (idb, _) = call(&mut k, b, 0, 0, cmd::REQ_ID);
            assert_eq!(idb, 2);
            // b sends as a's ID 1.
            let (_, e) = call(&mut k, b, 1, 2, cmd::SEND);
            assert_eq!(
                e,
                if own { err::BAD_SENDER } else { err::OK },
                "own_ids {own}"
            );
            // its own ID and ID 0 always work.
            assert_eq!(call(&mut k, b, 2, 1, cmd::SEND).1, err::OK);
            assert_eq!(call(&mut k, b, 0, 1, cmd::SEND).1, err::OK);
            // b cannot delete a's ID either.
            let (_, e) = call(&mut k, b, 1, 0, cmd::DEL_ID);
            assert_eq!(
                e,
                if own { err::BAD_SENDER } else { err::OK },
                "own_ids {own}"
            );
        }
    }

    #[test]
    fn id_set_behaves_as_a_btree_set() {
        use std::collections::BTreeSet;
        let mut a = state::IdSet::default();
        let mut b = BTreeSet::new();
        // A fixed pseudo-random walk over IDs on both sides of word boundaries.
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let id = [0u16, 1, 2, 63, 64, 65, 127, 128, 200, 65535][(x >> 16) as usize % 10];
            if x & 1 == 0 {
                a.insert(id);
                b.insert(id);
            } else {
                a.remove(id);
                b.remove(&id);
            }
            assert_eq!(a.contains(id), b.contains(&id));
            assert_eq!(
                a.iter().collect::<Vec<_>>(),
                b.iter().copied().collect::<Vec<_>>()
            );
            assert_eq!(a.is_empty(), b.is_empty());
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "trace records print it");
            assert_eq!(
                a.first_free(130),
                (1..=130).find(|i| !b.contains(i)),
                "request-ID takes the lowest free ID"
            );
        }
    }

    #[test]
    fn queue_counts_follow_the_queue() {
        // status/inquire read a count per ID; it must match a walk of the queue after sends,
        // reads, delete-ID and reset.
        let (mut k, ts) = world(1);
        let t = ts[0];
        call(&mut k, t, 0, 0, cmd::INSTALL, 0);
        let a = call(&mut k, t, 0, 0, cmd::REQ_ID, 0).0;
        let b = call(&mut k, t, 0, 0, cmd::REQ_ID, 0).0;
        let check = |_: &mut Kernel<VecMemory>| {
            PC.with(|p| {
                let p = p.borrow();
                for id in [0, a, b] {
                    let walk = p.st.queue.iter().filter(|m| m.to == id).count();
                    assert_eq!(p.st.pending_for(id), walk, "ID {id}");
                }
            })
        };
        for to in [a, b, a, 0, a] {
            assert_eq!(call(&mut k, t, 0, to, cmd::SEND, 4).3, 0);
            check(&mut k);
        }
        assert_eq!(call(&mut k, t, a, 0, cmd::READ, 0).3, 0);
        check(&mut k);
        assert_eq!(call(&mut k, t, a, 0, cmd::DEL_ID, 0).3, 0);
        check(&mut k);
        assert_eq!(PC.with(|p| p.borrow().st.pending_for(b)), 1);
        call(&mut k, t, 0, 0, cmd::INSTALL, 0);
        check(&mut k);
        assert_eq!(PC.with(|p| p.borrow().st.queue.len()), 0);
    }
}
