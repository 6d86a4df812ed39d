use super::*;
use ipcemu_kernel::{Config, ExitStatus, Pick, ProcId, ThreadState, VecMemory};
use proptest::prelude::*;

fn world(n: usize) -> (Kernel<VecMemory>, Kolibri, Vec<ThreadId>) {
    let mut k = Kernel::new(Config::default());
    let ts = (0..n)
        .map(|i| {
            k.spawn_process(
                &format!("p{i}.kex"),
                VecMemory::new(0x10000),
                0x10000,
                NAME,
                (0, 0),
            )
            .unwrap()
            .1
        })
        .collect();
    (k, Kolibri::new(Options::default()), ts)
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
    let (k, _ko, ts) = world(2);
    assert_eq!(k.threads[ts[0]].pid, 3);
    assert_eq!(k.threads[ts[1]].pid, 4);
    assert_eq!(k.threads[ts[0]].slot, ipcemu_kernel::Slot(3));
    assert_eq!(Kolibri::slot_of_pid(&k, 4), 4);
    assert_eq!(Kolibri::slot_of_pid(&k, 1), 1);
    assert_eq!(Kolibri::slot_of_pid(&k, 2), 2);
    assert_eq!(Kolibri::slot_of_pid(&k, 99), 0);
    assert_eq!(kolibri_name("/a/b/echo_server_long.kex"), "echo_server");
    assert_eq!(k.procs[ProcId(0)].name, "p0");
    assert_eq!(kolibri_name("noext"), "noext");
    assert_eq!(kolibri_name(".hidden"), ".hidden");
}

#[test]
fn send_error_codes_in_kernel_order() {
    let (mut k, mut ko, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let pb = k.threads[b].pid;
    assert_eq!(ko.ipc_send(&mut k, a, 77, 0x100, 4), Ok(SendResult::NoPid));
    assert_eq!(
        ko.ipc_send(&mut k, a, IDLE_PID, 0x100, 4),
        Ok(SendResult::NoArea)
    );
    assert_eq!(ko.ipc_send(&mut k, a, pb, 0x100, 4), Ok(SendResult::NoArea));
    ko.ipc_set_area(&mut k, b, 0x2000, 32);
    mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
    mem_mut(&mut k, b).write_u32(0x2000, 1).unwrap();
    assert_eq!(ko.ipc_send(&mut k, a, pb, 0x100, 4), Ok(SendResult::Locked));
    mem_mut(&mut k, b).write_u32(0x2000, 0).unwrap();
    assert_eq!(
        ko.ipc_send(&mut k, a, pb, 0x100, 17),
        Ok(SendResult::Overflow)
    );
    assert_eq!(
        mem(&k, b).read_u32(0x2004),
        Ok(8),
        "overflow changes nothing"
    );
    assert_eq!(
        ko.ipc_send(&mut k, a, pb, 0x100, 16),
        Ok(SendResult::Ok),
        "exact fit"
    );
    assert_eq!(mem(&k, b).read_u32(0x2004), Ok(32));
    assert_eq!(
        ko.ipc_send(&mut k, a, pb, 0x100, 0),
        Ok(SendResult::Overflow)
    );
}

#[test]
fn delivery_layout_and_event() {
    let (mut k, mut ko, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
    mem_mut(&mut k, a).write(0x100, b"hello").unwrap();
    ko.ipc_set_area(&mut k, b, 0x2000, 64);
    mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
    ko.set_event_mask(b, 0x40);
    assert_eq!(ko.ipc_send(&mut k, a, pb, 0x100, 5), Ok(SendResult::Ok));
    assert_eq!(ko.ipc_send(&mut k, a, pb, 0x101, 2), Ok(SendResult::Ok));
    let m = mem(&k, b);
    assert_eq!(m.read_u32(0x2004), Ok(8 + 13 + 10));
    assert_eq!(m.read_u32(0x2008), Ok(pa));
    assert_eq!(m.read_u32(0x200c), Ok(5));
    assert_eq!(&m.bytes[0x2010..0x2015], b"hello");
    assert_eq!(m.read_u32(0x2015), Ok(pa));
    assert_eq!(m.read_u32(0x2019), Ok(2));
    assert_eq!(&m.bytes[0x201d..0x201f], b"el");
    assert_eq!(ko.take_event(&k, b), 7, "two messages, one event");
    assert_eq!(ko.take_event(&k, b), 0);
}

#[test]
fn offset_zero_receiver_gets_header_over_lock_and_offset() {
    let (mut k, mut ko, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
    ko.ipc_set_area(&mut k, b, 0x2000, 64);
    assert_eq!(ko.ipc_send(&mut k, a, pb, 0x100, 3), Ok(SendResult::Ok));
    let m = mem(&k, b);
    assert_eq!(
        m.read_u32(0x2000),
        Ok(pa),
        "sender PID became the lock dword"
    );
    assert_eq!(m.read_u32(0x2004), Ok(3), "length overwrote the new offset");
    assert_eq!(ko.ipc_send(&mut k, a, pb, 0x100, 3), Ok(SendResult::Locked));
}

#[test]
fn offset_wraps_in_32_bits() {
    let (mut k, mut ko, ts) = world(1);
    let a = ts[0];
    let pa = k.threads[a].pid;
    ko.ipc_set_area(&mut k, a, 0x2010, 64);
    mem_mut(&mut k, a).write_u32(0x2014, 0xFFFF_FFF8).unwrap();
    assert_eq!(ko.ipc_send(&mut k, a, pa, 0x100, 0), Ok(SendResult::Ok));
    let m = mem(&k, a);
    assert_eq!(m.read_u32(0x2014), Ok(0));
    assert_eq!(m.read_u32(0x2008), Ok(pa));
    assert_eq!(m.read_u32(0x200c), Ok(0));
    mem_mut(&mut k, a).write_u32(0x2014, 0xFFFF_FFF0).unwrap();
    assert_eq!(
        ko.ipc_send(&mut k, a, pa, 0x100, 0),
        Ok(SendResult::Overflow)
    );
}

#[test]
fn bad_pointers_never_panic() {
    let (mut k, mut ko, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let pb = k.threads[b].pid;
    ko.ipc_set_area(&mut k, b, 0xFFFF_FFFC, 64);
    assert_eq!(ko.ipc_send(&mut k, a, pb, 0x100, 1), Ok(SendResult::NoArea));
    ko.ipc_set_area(&mut k, b, 0xFFF0, 0x1000);
    mem_mut(&mut k, b).write_u32(0xFFF4, 8).unwrap();
    assert_eq!(
        ko.ipc_send(&mut k, a, pb, 0x100, 64),
        Ok(SendResult::Overflow)
    );
    ko.ipc_set_area(&mut k, b, 0x2000, 0x1000);
    mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
    assert!(matches!(
        ko.ipc_send(&mut k, a, pb, 0xFFFF, 4),
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
    let (mut k, mut ko, ts) = world(1);
    let a = ts[0];
    let pa = k.threads[a].pid;
    assert_eq!(ko.take_event(&k, a), 1);
    assert_eq!(ko.take_event(&k, a), 1, "redraw stays until function 0");
    ko.ipc_set_area(&mut k, a, 0x2000, 64);
    mem_mut(&mut k, a).write_u32(0x2004, 8).unwrap();
    assert_eq!(ko.set_event_mask(a, 0), 7);
    ko.ipc_send(&mut k, a, pa, 0x100, 1).unwrap();
    assert_eq!(ko.take_event(&k, a), 0);
    ko.set_event_mask(a, 0x41);
    assert_eq!(ko.take_event(&k, a), 7, "IPC before redraw");
    assert_eq!(ko.take_event(&k, a), 1);
    ko.thread(a).redraw = false;
    assert_eq!(ko.take_event(&k, a), 0);
}

#[test]
fn waits_wake_on_event_and_deadline() {
    let (mut k, mut ko, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let pb = k.threads[b].pid;
    assert_eq!(k.pick_next(), Pick::Run(a));
    assert_eq!(k.pick_next(), Pick::Run(b));
    ko.set_event_mask(b, 0x40);
    ko.ipc_set_area(&mut k, b, 0x2000, 64);
    mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
    assert_eq!(ko.wait_event(&mut k, b, None), None);
    assert!(k.blocker_of::<EventWait>(b).is_some());
    // a is "current" for the send (it is only bookkeeping here)
    ko.ipc_send(&mut k, a, pb, 0x100, 1).unwrap();
    assert_eq!(k.threads[b].state, ThreadState::Ready);
    assert!(matches!(k.threads[b].wake_ref(), Some(Wake::Eax(7))));
    assert_eq!(k.pick_next(), Pick::Run(b));
    // b waits 50 ticks with nothing to come: the clock jumps.
    assert_eq!(ko.wait_event(&mut k, b, Some(50)), None);
    assert_eq!(k.pick_next(), Pick::Run(b));
    assert!(matches!(k.threads[b].wake_ref(), Some(Wake::Eax(0))));
    assert!(k.now_ns() / TICK_NS >= 50);
    // a sleeping thread and b waiting forever: after a wakes and exits, deadlock.
    k.exit_thread(a);
    assert_eq!(ko.wait_event(&mut k, b, None), None);
    assert!(matches!(k.pick_next(), Pick::Deadlock(w) if w.len() == 1));
}

#[test]
fn slots_are_reused_lowest_first_pids_never() {
    let (mut k, ko, ts) = world(3);
    k.exit_thread(ts[0]);
    assert_eq!(k.threads[ts[0]].state, ThreadState::Ended);
    assert_eq!(k.procs[ProcId(0)].exit, Some(ExitStatus::Normal(0)));
    let t = k.spawn_thread(ProcId(1), 0, 0).unwrap();
    assert_eq!(k.threads[t].slot, ipcemu_kernel::Slot(3));
    assert_eq!(k.threads[t].pid, 6);
    assert_eq!(k.max_slot(), ipcemu_kernel::Slot(5));
    let mut m = VecMemory::new(0x10000);
    std::mem::swap(&mut m, &mut k.procs[ProcId(1)].mem);
    std::mem::swap(&mut m, &mut k.procs[ProcId(1)].mem);
    let me = ts[1];
    // free slot: only +50 is written
    mem_mut(&mut k, me).bytes[0x3000..0x3400].fill(0xAA);
    assert_eq!(ko.thread_info(&mut k, me, 200, 0x3000), Ok(5));
    let m = mem(&k, me);
    assert_eq!(m.read_u16(0x3000 + 50), Ok(9));
    assert_eq!(m.bytes[0x3000], 0xAA);
    assert_eq!(m.bytes[0x3000 + 10], 0xAA);
    assert_eq!(ko.thread_info(&mut k, me, u32::MAX, 0x3000), Ok(5));
    let m = mem(&k, me);
    assert_eq!(&m.bytes[0x3000 + 10..0x3000 + 13], b"p1\0");
    assert_eq!(m.read_u32(0x3000 + 30), Ok(k.threads[me].pid));
    assert_eq!(m.read_u32(0x3000 + 26), Ok(0xFFFF));
    // the full record: event mask at +71 (default 7), nothing written past +75
    assert_eq!(m.read_u32(0x3000 + 71), Ok(7));
    assert_eq!(m.bytes[0x3000 + 75], 0);
    assert_eq!(m.bytes[0x3000 + 76], 0xAA);
    // the kernel's own slots
    assert_eq!(ko.thread_info(&mut k, me, 2, 0x3000), Ok(5));
    let m = mem(&k, me);
    assert_eq!(&m.bytes[0x3000 + 10..0x3000 + 13], b"OS\0");
    assert_eq!(m.read_u32(0x3000 + 30), Ok(2));
    assert_eq!(m.read_u32(0x3000 + 50), Ok(0));
    // a buffer reaching the kernel's half: -1, as `is_region_userspace` refuses it
    assert_eq!(ko.thread_info(&mut k, me, 3, 0x7FFF_FFC0), Ok(u32::MAX));
}

#[test]
fn missing_functions_fail_with_the_kernels_value() {
    use crate::compat::{failure_value, function_name};
    assert_eq!(failure_value(68, 19), Some(0));
    assert_eq!(failure_value(68, 15), Some(0));
    assert_eq!(failure_value(68, 0), Some(u32::MAX));
    assert_eq!(failure_value(18, 3), Some(u32::MAX));
    assert_eq!(failure_value(18, 26), None);
    assert_eq!(failure_value(63, 3), None);
    assert_eq!(failure_value(6, 0), Some(u32::MAX));
    assert_eq!(function_name(68, 19), "68.19");
    assert_eq!(function_name(6, 7), "6");
    assert_eq!(function_name(u32::MAX - 1, 0), "-2");
}

#[test]
fn board_keeps_unread_bytes() {
    let (mut k, mut ko, _) = world(1);
    for b in b"ab" {
        ko.board_write(&mut k, ThreadId(0), *b);
    }
    assert_eq!(ko.board_read(), Some(b'a'));
    assert_eq!(ko.board_read(), Some(b'b'));
    assert_eq!(ko.board_read(), None);
    assert_eq!(k.stdout, b"ab");
}

proptest! {
    /// Whatever the area, offset and length, a send either changes nothing (codes 1-3) or
    /// advances the offset by exactly 8 + len and writes the header at the old offset.
    #[test]
    fn send_is_all_or_nothing(area in 0u32..0x11000, size in 0u32..0x2000,
                              off in prop_oneof![0u32..64, any::<u32>()],
                              len in 0u32..0x3000, lock in prop_oneof![Just(0u32), any::<u32>()]) {
        let (mut k, mut ko, ts) = world(2);
        let (a, b) = (ts[0], ts[1]);
        let (pa, pb) = (k.threads[a].pid, k.threads[b].pid);
        ko.ipc_set_area(&mut k, b, area, size);
        let _ = mem_mut(&mut k, b).write_u32(area, lock);
        let _ = mem_mut(&mut k, b).write_u32(area.wrapping_add(4), off);
        let before = mem(&k, b).bytes.clone();
        let r = ko.ipc_send(&mut k, a, pb, 0x100, len).unwrap();
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
                // The offset field keeps the new end unless the header or the data just
                // written cover it (offset 0 puts the header over the lock and offset).
                let written = (dst as u64, dst as u64 + 8 + len as u64);
                let field = (area.wrapping_add(4) as u64, area.wrapping_add(4) as u64 + 4);
                if written.1 <= field.0 || field.1 <= written.0 {
                    prop_assert_eq!(m.read_u32(area.wrapping_add(4)), Ok(new));
                }
                prop_assert_eq!(ko.thread(b).events & 0x40, 0x40);
            }
            _ => {
                prop_assert_eq!(&before, after);
                prop_assert_eq!(ko.thread(b).events, 0);
            }
        }
    }
}

#[test]
fn key_codes_are_scancode_and_ascii() {
    use crate::input::key_code;
    assert_eq!(key_code(b'a'), 0x1e6100);
    assert_eq!(key_code(b'A'), 0x1e4100, "shifted: same key");
    assert_eq!(key_code(b'1'), 0x023100);
    assert_eq!(key_code(b'!'), 0x022100);
    assert_eq!(key_code(b'/'), 0x352f00);
    assert_eq!(key_code(b'\\'), 0x2b5c00);
    assert_eq!(key_code(13), 0x1c0d00);
    assert_eq!(key_code(b' '), 0x392000);
}

#[test]
fn input_keys_buttons_and_the_key_buffer_limit() {
    use crate::input::{Input, InputError, KEY_BUFFER};
    let (mut k, mut ko, ts) = world(1);
    let a = ts[0];
    let p = k.threads[a].proc;
    assert_eq!(
        ko.input(&mut k, p, Input::Button(2)),
        Err(InputError::NoWindow)
    );
    ko.thread(a).redraw = false;
    ko.thread(a).win = Some(Box::new(gui::Window::new(99, 99, 0xffffff)));
    ko.thread(a)
        .win
        .as_mut()
        .unwrap()
        .button(10 << 16 | 5, 10 << 16 | 5, 2, 0);
    assert_eq!(
        ko.input(&mut k, p, Input::Button(9)),
        Err(InputError::NoButton(9))
    );
    ko.input(&mut k, p, Input::Keys(vec![b'x'; KEY_BUFFER + 5]))
        .unwrap();
    assert_eq!(
        ko.thread(a).keys.len(),
        KEY_BUFFER,
        "the kernel's buffer holds 120"
    );
    ko.input(&mut k, p, Input::Button(2)).unwrap();
    assert_eq!(
        ko.take_event(&k, a),
        3,
        "button before key: highest code first"
    );
    assert_eq!(ko.get_button(a), 2 << 8);
    assert_eq!(ko.get_button(a), 1);
    assert_eq!(ko.take_event(&k, a), 2);
    ko.set_event_mask(a, 0);
    assert_eq!(ko.take_event(&k, a), 0, "masked");
}

#[test]
fn framebuffer_geometry() {
    let mut w = gui::Window::new(10 << 16 | 19, 20 << 16 | 9, 0x0000_1234);
    assert_eq!((w.width, w.height), (20, 10));
    assert!(w.pixels.iter().all(|&p| p == 0x1234));
    w.rect(2 << 16 | 3, 1 << 16 | 2, 0xff);
    let lit: Vec<(u32, u32)> = (0..10)
        .flat_map(|y| (0..20).map(move |x| (x, y)))
        .filter(|&(x, y)| w.get(x, y) == Some(0xff))
        .collect();
    assert_eq!(lit, vec![(2, 1), (3, 1), (4, 1), (2, 2), (3, 2), (4, 2)]);
    w.line(3, 9 << 16 | 6, 0x01_000000); // (0,9) to (3,6)
    assert_eq!(w.get(0, 9), Some(!0x1234 & 0xff_ffff), "bit 24 inverts");
    assert_eq!(w.get(3, 6), Some(!0x1234 & 0xff_ffff), "both ends");
    let big = gui::Window::new(5000, 5000, 0x0100_0000);
    assert_eq!(
        (big.width, big.height),
        (gui::SCREEN_W, gui::SCREEN_H),
        "at most the screen"
    );
    assert!(big.pixels.iter().all(|&p| p == 0), "style 1 draws nothing");
}

#[test]
fn text_into_a_user_buffer() {
    use ipcemu_kernel::RegFile;
    let (mut k, mut ko, ts) = world(1);
    let a = ts[0];
    // A 13x9 buffer at 0x3000 (two 6x9 cells and a column), every pixel 0x11223344.
    let (w, h) = (13u32, 9u32);
    let m = mem_mut(&mut k, a);
    m.write_u32(0x3000, w).unwrap();
    m.write_u32(0x3004, h).unwrap();
    m.write(
        0x3008,
        &0x1122_3344u32.to_le_bytes().repeat((w * h) as usize),
    )
    .unwrap();
    m.write(0x2000, b"Hi").unwrap();
    let mut cpu = RegFile::default();
    cpu.set(Reg::Eax, 4);
    cpu.set(Reg::Ebx, 0);
    cpu.set(Reg::Ecx, 0x0800_00ff); // flag C, blue
    cpu.set(Reg::Edx, 0x2000);
    cpu.set(Reg::Esi, 2);
    cpu.set(Reg::Edi, 0x3000);
    ko.syscall(&mut k, a, &mut cpu);
    let mut px = vec![0u8; (w * h * 4) as usize];
    mem(&k, a).read(0x3008, &mut px).unwrap();
    let px: Vec<u32> = px
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let drawn = px.iter().filter(|&&p| p == 0xff00_00ff).count();
    let kept = px.iter().filter(|&&p| p == 0x1122_3344).count();
    assert!(drawn > 10, "text drew {drawn} pixels");
    assert_eq!(drawn + kept, px.len(), "only drawn pixels change");
    assert!(
        (0..h).all(|y| px[(y * w + 12) as usize] == 0x1122_3344),
        "two cells only"
    );
    assert!(ko.thread(a).win.is_none(), "no window needed");
}

/// With tracing on, a receiver that resets its area without ever reading event 7 keeps at most
/// UNREAD_MAX message numbers for its next `event_read` record (the newest), not one per
/// message of the whole run.
#[test]
fn unread_message_list_is_bounded() {
    let (mut k, mut ko, ts) = world(2);
    let (a, b) = (ts[0], ts[1]);
    let pb = k.threads[b].pid;
    k.trace_on = true;
    ko.ipc_set_area(&mut k, b, 0x2000, 64);
    let n = 3 * UNREAD_MAX as u64;
    for _ in 0..n {
        mem_mut(&mut k, b).write_u32(0x2004, 8).unwrap();
        assert_eq!(ko.ipc_send(&mut k, a, pb, 0x100, 4), Ok(SendResult::Ok));
    }
    let unread = &ko.thread(b).unread;
    assert!(unread.len() <= UNREAD_MAX, "{} kept", unread.len());
    assert!(unread.len() >= UNREAD_MAX / 2);
    assert!(unread.windows(2).all(|w| w[0] < w[1]), "in order");
    let last = *unread.last().unwrap();
    ko.set_event_mask(b, 1 << 6); // IPC only (the start's redraw stays pending)
    assert_eq!(ko.take_event(&k, b), 7);
    assert!(ko.thread(b).unread.is_empty());
    // The newest message is the last one sent.
    assert!(last >= n, "newest kept: {last}");
}
