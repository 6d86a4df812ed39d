//! Input from the host (the CLI's `--keys`, `--button`, `--mouse`, a scenario's steps): keys,
//! button presses and the mouse, delivered to a process's window as the kernel delivers them.
//!
//! - Keys (function 2, `sys_getkey` in `kernel/trunk/hid/keyboard.inc`): a queue of at most 120
//!   keys (`KEY_BUFF`); eax = scancode << 16 | ASCII << 8 (al = 0, ASCII mode); 1 when empty.
//!   Event 2 is pending while the queue is not empty.
//! - Buttons (function 17, `sys_getbutton` in `kernel/trunk/gui/button.inc`;
//!   `sys_button_perform_handler` stores `id << 8 | mouse buttons`): one pending press
//!   (`BTN_COUNT` is cleared when read); eax = id << 8 with the left-button bit cleared; 1 when
//!   none. Event 3 is pending while a press is.
//! - Mouse (function 37, event 6): one pointer for the screen; a move or a change of buttons
//!   raises event 6 (reset when read) for the process's window thread.
//!
//! Input goes to the thread of the process that defined a window (the lowest thread id with
//! one), or to its first live thread when none has: the "active window" of a headless world.

use crate::{EventWait, Kolibri};
use ipcemu_kernel::{GuestMemory, Kernel, ProcId, ThreadId, Wake};

/// Keys the kernel's buffer holds (`KEY_BUFF`, 120 bytes).
pub const KEY_BUFFER: usize = 120;

/// One piece of input for a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Keys typed, as ASCII codes (each gets its US-layout scancode).
    Keys(Vec<u8>),
    /// A press (and release) of the button with this identifier with the left mouse button.
    Button(u32),
    /// The mouse moves to (x, y) on the screen with these buttons down (bit 0 left, 1 right,
    /// 2 middle).
    Mouse {
        /// Screen x.
        x: u32,
        /// Screen y.
        y: u32,
        /// Buttons held.
        buttons: u32,
    },
}

/// Why input could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The process has no live thread.
    #[error("the process has ended")]
    Ended,
    /// The process's window has no button with this identifier.
    #[error("its window has no button {0} (function 8 defines buttons)")]
    NoButton(u32),
    /// The process has not defined a window.
    #[error("it has not defined a window (function 0)")]
    NoWindow,
}

/// The set-1 scancode of the key that types ASCII `c` on a US keyboard (0 when none).
pub fn scancode(c: u8) -> u8 {
    const ROW1: &[u8] = b"1234567890-=";
    const ROW1S: &[u8] = b"!@#$%^&*()_+";
    const ROW2: &[u8] = b"qwertyuiop[]";
    const ROW2S: &[u8] = b"QWERTYUIOP{}";
    const ROW3: &[u8] = b"asdfghjkl;'`";
    const ROW3S: &[u8] = b"ASDFGHJKL:\"~";
    const ROW4: &[u8] = b"\\zxcvbnm,./";
    const ROW4S: &[u8] = b"|ZXCVBNM<>?";
    let find = |a: &[u8], b: &[u8]| a.iter().chain(b).position(|&x| x == c).map(|i| i % a.len());
    if let Some(i) = find(ROW1, ROW1S) {
        return 0x02 + i as u8;
    }
    if let Some(i) = find(ROW2, ROW2S) {
        return 0x10 + i as u8;
    }
    if let Some(i) = find(ROW3, ROW3S) {
        return 0x1e + i as u8;
    }
    if let Some(i) = find(ROW4, ROW4S) {
        return 0x2b + i as u8;
    }
    match c {
        27 => 0x01,
        8 => 0x0e,
        9 => 0x0f,
        13 => 0x1c,
        b' ' => 0x39,
        _ => 0,
    }
}

/// Function 2's value for ASCII `c`: scancode << 16 | c << 8.
pub fn key_code(c: u8) -> u32 {
    (scancode(c) as u32) << 16 | (c as u32) << 8
}

impl Kolibri {
    /// The thread of process `p` that gets its input: the lowest live thread with a window,
    /// else the first live thread.
    pub fn input_thread<M: GuestMemory>(&self, k: &Kernel<M>, p: ProcId) -> Option<ThreadId> {
        let mut first = None;
        for t in k.threads_alive_in(p) {
            first.get_or_insert(t);
            if self.thread_ref(t).is_some_and(|th| th.win.is_some()) {
                return Some(t);
            }
        }
        first
    }

    /// Deliver input to process `p` (see the module's text).
    pub fn input<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        p: ProcId,
        input: Input,
    ) -> Result<(), InputError> {
        let t = self.input_thread(k, p).ok_or(InputError::Ended)?;
        match input {
            Input::Keys(keys) => {
                let th = self.thread(t);
                for c in keys {
                    if th.keys.len() < KEY_BUFFER {
                        th.keys.push_back(key_code(c));
                    }
                }
            }
            Input::Button(id) => {
                let th = self.thread(t);
                let win = th.win.as_ref().ok_or(InputError::NoWindow)?;
                if !win.has_button(id) {
                    return Err(InputError::NoButton(id));
                }
                // `sys_button_perform_handler` appends; function 17 reads the first and
                // empties the buffer, so only the first press before a read counts.
                th.button.get_or_insert((id & 0xff_ffff) << 8 | 1);
            }
            Input::Mouse { x, y, buttons } => {
                self.mouse = [
                    x.min(crate::gui::SCREEN_W - 1),
                    y.min(crate::gui::SCREEN_H - 1),
                    buttons & 7,
                ];
                self.thread(t).events |= 1 << 5;
            }
        }
        self.poke(k, t);
        Ok(())
    }

    /// Wake thread `t` if it waits for an event it now has.
    fn poke<M: GuestMemory>(&mut self, k: &mut Kernel<M>, t: ThreadId) {
        if k.blocker_of::<EventWait>(t).is_some() {
            let ev = self.take_event(k, t);
            if ev != 0 {
                k.wake(t, Wake::Eax(ev));
            }
        }
    }

    /// Function 2: the oldest key, or 1 when there is none.
    pub fn get_key(&mut self, t: ThreadId) -> u32 {
        self.thread(t).keys.pop_front().unwrap_or(1)
    }

    /// Function 17: the pending button press (`id << 8`, the left-button bit cleared), or 1.
    pub fn get_button(&mut self, t: ThreadId) -> u32 {
        self.thread(t).button.take().map_or(1, |v| v & !1)
    }

    /// Function 37 subfunctions 0..3: the pointer on the screen, relative to the caller's
    /// window (signed words), the buttons held (3: the same, no click events); others 0.
    pub fn mouse_call(&mut self, t: ThreadId, sub: u32) -> u32 {
        let [x, y, b] = self.mouse;
        match sub {
            0 => x << 16 | y,
            1 => {
                let [l, top, ..] = self.thread(t).window;
                let rx = (x as i32 - l as i32) as u16 as u32;
                let ry = (y as i32 - top as i32) as u16 as u32;
                rx << 16 | ry
            }
            2 | 3 => b,
            _ => 0,
        }
    }
}
