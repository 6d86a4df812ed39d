//! Headless windows you can look at: a thread's window (function 0) gets a framebuffer of the
//! window's size, and functions 1, 4, 7, 8, 13, 38 and 47 draw into it as the kernel would draw
//! into the screen (`kernel/trunk/gui/window.inc`, `gui/button.inc`, `gui/font.inc`,
//! `video/vesa20.inc`, `kernel/trunk/kernel.asm`). A screenshot is the framebuffer.
//!
//! What follows the kernel: a window of size (xsize, ysize) covers xsize+1 by ysize+1 pixels;
//! coordinates of drawing functions are relative to the window's top-left corner (the client
//! area is the whole window: there is no skin, as function 48.4 reports a skin height of 0);
//! rectangles (13) cover `width` by `height` pixels from their corner, lines (38) include both
//! ends, text (4, 47) goes in 6x9 cells (8x16 for fonts 1..3), scaled by the size multiplier.
//! Buttons (8) are drawn as `syscall_button` draws them with button style 0.
//! What does not: no frame, header or skin is drawn; glyphs are ipcemu's own (`font.rs`);
//! gradients are drawn flat (see docs/kolibrios.md).

use crate::font;
use ipcemu_kernel::GuestMemory;

/// Width of the screen the personality reports (function 14: 1023 << 16 | 767).
pub const SCREEN_W: u32 = 1024;
/// Height of the screen the personality reports.
pub const SCREEN_H: u32 = 768;
/// The longest zero-terminated string function 4 draws (`dtext` in `kernel/trunk/gui/font.inc`
/// sets esi = 256 for flag A).
const MAX_ZTEXT: u32 = 256;
/// The longest counted string drawn (a bound of ipcemu's: longer text is off any window).
const MAX_TEXT: u32 = 4096;

/// A button defined with function 8, in window coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Identifier (24 bits).
    pub id: u32,
    /// Left, top, width, height as given (the button covers width+1 by height+1 pixels).
    pub rect: [u32; 4],
}

/// A thread's headless window: its style, buttons and framebuffer (0x00RRGGBB pixels).
#[derive(Debug, Clone)]
pub struct Window {
    /// Style Y of function 0 (edx bits 24..27).
    pub style: u32,
    /// Framebuffer width in pixels (xsize + 1, at most the screen's width).
    pub width: u32,
    /// Framebuffer height in pixels.
    pub height: u32,
    /// Pixels, row by row.
    pub pixels: Vec<u32>,
    /// Buttons defined with function 8 (at most 4095, as `button.MAX_BUTTONS`).
    pub buttons: Vec<Button>,
}

impl Window {
    /// A window for function 0's ebx, ecx, edx, drawn as the kernel draws a new window.
    pub fn new(ebx: u32, ecx: u32, edx: u32) -> Self {
        let width = ((ebx & 0xffff) + 1).min(SCREEN_W);
        let height = ((ecx & 0xffff) + 1).min(SCREEN_H);
        let mut w = Window {
            style: 0,
            width,
            height,
            pixels: vec![0; (width * height) as usize],
            buttons: Vec::new(),
        };
        w.define(edx);
        w
    }

    /// Function 0 on a window that exists: its size stays; the working area is filled again.
    pub fn define(&mut self, edx: u32) {
        self.style = (edx >> 24) & 0xf;
        // Y = 1 draws nothing; C = 1 (bit 30) does not fill the working area.
        if self.style != 1 && edx & 0x4000_0000 == 0 {
            let c = edx & 0xff_ffff;
            self.pixels.iter_mut().for_each(|p| *p = c);
        }
    }

    /// Put one pixel (clipped to the window). Bit 24 of `color` inverts the pixel instead.
    pub fn put(&mut self, x: i64, y: i64, color: u32) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let i = (y as u32 * self.width + x as u32) as usize;
        self.pixels[i] = if color & 0x0100_0000 != 0 {
            !self.pixels[i] & 0xff_ffff
        } else {
            color & 0xff_ffff
        };
    }

    /// The pixel at (x, y), if inside.
    pub fn get(&self, x: u32, y: u32) -> Option<u32> {
        (x < self.width && y < self.height).then(|| self.pixels[(y * self.width + x) as usize])
    }

    /// Fill `w` by `h` pixels from (x, y).
    pub fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, color: u32) {
        let (x0, y0) = (x.max(0), y.max(0));
        let x1 = (x + w).min(self.width as i64);
        let y1 = (y + h).min(self.height as i64);
        for yy in y0..y1 {
            for xx in x0..x1 {
                self.pixels[(yy as u32 * self.width + xx as u32) as usize] = color & 0xff_ffff;
            }
        }
    }

    /// Function 13: ebx = x << 16 | width, ecx = y << 16 | height, edx = colour (bit 31:
    /// gradient, drawn flat).
    pub fn rect(&mut self, ebx: u32, ecx: u32, edx: u32) {
        self.fill(
            (ebx >> 16) as i64,
            (ecx >> 16) as i64,
            (ebx & 0xffff) as i64,
            (ecx & 0xffff) as i64,
            edx,
        );
    }

    /// Function 38: ebx = x0 << 16 | x1, ecx = y0 << 16 | y1, both ends drawn; bit 24 of
    /// edx inverts.
    pub fn line(&mut self, ebx: u32, ecx: u32, edx: u32) {
        let (mut x, mut y) = ((ebx >> 16) as i16 as i64, (ecx >> 16) as i16 as i64);
        let (x1, y1) = ((ebx & 0xffff) as i16 as i64, (ecx & 0xffff) as i16 as i64);
        let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
        let (sx, sy) = (if x < x1 { 1 } else { -1 }, if y < y1 { 1 } else { -1 });
        let mut err = dx + dy;
        loop {
            self.put(x, y, edx);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Function 8 (define): record the button and draw its body unless bit 30 is set;
    /// bit 31 deletes the buttons with that identifier.
    pub fn button(&mut self, ebx: u32, ecx: u32, edx: u32, esi: u32) {
        let id = edx & 0xff_ffff;
        if edx & 0x8000_0000 != 0 {
            self.buttons.retain(|b| b.id != id);
            return;
        }
        let (w, h) = (ebx & 0xffff, ecx & 0xffff);
        // The kernel ignores a button without a positive size or beyond 4095 buttons.
        if w as i16 <= 0 || h as i16 <= 0 || self.buttons.len() >= 4095 {
            return;
        }
        let rect = [ebx >> 16, ecx >> 16, w, h];
        self.buttons.push(Button { id, rect });
        if edx & 0x4000_0000 == 0 {
            self.draw_button(rect, esi & 0xff_ffff);
        }
    }

    /// Draw a button as `syscall_button` (`kernel/trunk/gui/button.inc`) does with
    /// `buttontype` 0 (flat: 48.1 is a no-op here, so the style never changes): it covers
    /// (x..=x+w, y..=y+h) except its four corners. Rows: y border (c >> 1 & 0x7f7f7f), y+1
    /// light (that | 0x808080), body c, y+h-1 dark (3 * (c >> 2 & 0x3f3f3f)), y+h border
    /// (2 * (c >> 2 & 0x3f3f3f)), all from x+1 to x+w-1; columns x and x+w border
    /// (y+1..=y+h-1), x+1 light (y+1..=y+h-2), x+w-1 dark (y+2..=y+h-2).
    fn draw_button(&mut self, [x, y, w, h]: [u32; 4], c: u32) {
        let (x, y, w, h) = (x as i64, y as i64, w as i64, h as i64);
        let hline = |win: &mut Self, row: i64, color: u32| {
            for xx in x + 1..=x + w - 1 {
                win.put(xx, row, color);
            }
        };
        let vline = |win: &mut Self, col: i64, y0: i64, y1: i64, color: u32| {
            for yy in y0..=y1 {
                win.put(col, yy, color);
            }
        };
        let border = (c >> 1) & 0x7f_7f7f;
        hline(self, y, border);
        hline(self, y + 1, border | 0x80_8080);
        for row in y + 2..=y + h - 2 {
            hline(self, row, c);
        }
        let d = (c >> 2) & 0x3f_3f3f;
        hline(self, y + h - 1, 3 * d);
        hline(self, y + h, 2 * d);
        vline(self, x + 1, y + 1, y + h - 2, border | 0x80_8080);
        vline(self, x, y + 1, y + h - 1, border);
        vline(self, x + w, y + 1, y + h - 1, border);
        vline(
            self,
            x + w - 1,
            y + 2,
            y + h - 2,
            border + ((border >> 1) & 0x7f_7f7f),
        );
    }

    /// Whether a button with this identifier exists (the close button, 1, exists for
    /// skinned windows, styles 3 and 4).
    pub fn has_button(&self, id: u32) -> bool {
        self.buttons.iter().any(|b| b.id == id) || (id == 1 && matches!(self.style, 3 | 4))
    }

    /// Draw `text` at (x, y) with function 4's flags byte and colour in `ecx`; `bg` fills
    /// the cells when flag B is set.
    pub fn text(&mut self, x: i64, y: i64, text: &[u8], ecx: u32, bg: u32) {
        let flags = ecx >> 24;
        let scale = ((flags & 7) + 1) as i64;
        let (cw, ch) = match (flags >> 4) & 3 {
            0 => (font::CELL_W as i64, font::CELL_H as i64),
            _ => (8, 16),
        };
        let fg = ecx & 0xff_ffff;
        for (i, &c) in text.iter().enumerate() {
            let cx = x + i as i64 * cw * scale;
            if flags & 0x40 != 0 {
                self.fill(cx, y, cw * scale, ch * scale, bg);
            }
            for (row, bits) in font::glyph(c).iter().enumerate() {
                for col in 0..5i64 {
                    if bits & (0x10 >> col) != 0 {
                        let px = cx + col * scale;
                        let py = y + (row as i64 + 1) * scale;
                        self.fill(px, py, scale, scale, fg);
                    }
                }
            }
        }
    }

    /// Function 4 into the window: ebx = x << 16 | y, ecx = flags and colour, edx = string,
    /// esi = length (flag A clear), edi = background (flag B). Text to a user buffer (C = 1)
    /// is `text_to_buffer`'s: this draws nothing for it. A string that is not in memory draws the bytes that are.
    pub fn text_call<M: GuestMemory>(
        &mut self,
        mem: &M,
        ebx: u32,
        ecx: u32,
        edx: u32,
        esi: u32,
        edi: u32,
    ) {
        let flags = ecx >> 24;
        if flags & 0x08 != 0 {
            return;
        }
        let mut s = Vec::new();
        let len = if flags & 0x80 != 0 {
            MAX_ZTEXT
        } else {
            esi.min(MAX_TEXT)
        };
        let utf16 = (flags >> 4) & 3 == 2;
        let step = if utf16 { 2 } else { 1 };
        let mut i = 0;
        while i < len {
            let mut b = [0u8; 2];
            if mem
                .read(edx.wrapping_add(i * step), &mut b[..step as usize])
                .is_err()
            {
                break;
            }
            if flags & 0x80 != 0 && b == [0, 0] {
                break;
            }
            s.push(if utf16 && b[1] != 0 { b'?' } else { b[0] });
            i += 1;
        }
        self.text(
            (ebx >> 16) as i16 as i64,
            (ebx & 0xffff) as i16 as i64,
            &s,
            ecx,
            edi,
        );
    }

    /// Function 47: ebx = flags (bl = 0: the number is ecx, 1: ecx points to it; bh = 0
    /// decimal, 1 hexadecimal, 2 binary; bits 16..21 digits; bit 30 a 64-bit number; bit 31
    /// no leading zeros), edx = x << 16 | y, esi = colour and text flags as function 4's ecx,
    /// edi = background.
    pub fn number_call<M: GuestMemory>(
        &mut self,
        mem: &M,
        ebx: u32,
        ecx: u32,
        edx: u32,
        esi: u32,
        edi: u32,
    ) {
        let value: u64 = if ebx & 0xff == 0 {
            ecx as u64
        } else if ebx & 0x4000_0000 != 0 {
            let mut b = [0u8; 8];
            if mem.read(ecx, &mut b).is_err() {
                return;
            }
            u64::from_le_bytes(b)
        } else {
            match mem.read_u32(ecx) {
                Ok(v) => v as u64,
                Err(_) => return,
            }
        };
        let base = match (ebx >> 8) & 0xff {
            0 => 10,
            1 => 16,
            2 => 2,
            _ => return,
        };
        let digits = ((ebx >> 16) & 0x3f) as usize;
        let mut s: Vec<u8> = Vec::new();
        let mut v = value;
        loop {
            let d = (v % base) as u8;
            s.push(if d < 10 { b'0' + d } else { b'A' + d - 10 });
            v /= base;
            if v == 0 {
                break;
            }
        }
        if digits == 0 {
            return;
        }
        // The kernel shows the lowest `digits` digits, zero padded unless bit 31 is set.
        s.truncate(digits);
        if ebx & 0x8000_0000 == 0 {
            s.resize(digits, b'0');
        }
        s.reverse();
        // Function 47's esi flags have no A (zero-terminated) meaning; keep font, fill, size.
        self.text(
            (edx >> 16) as i16 as i64,
            (edx & 0xffff) as i16 as i64,
            &s,
            esi & 0x7fff_ffff,
            edi,
        );
    }

    /// Function 7: a 24-bit BGR image at ebx, ecx = xsize << 16 | ysize, edx = x << 16 | y.
    /// Rows that are not in memory are not drawn.
    pub fn image_call<M: GuestMemory>(&mut self, mem: &M, ebx: u32, ecx: u32, edx: u32) {
        let (w, h) = ((ecx >> 16).min(SCREEN_W), (ecx & 0xffff).min(SCREEN_H));
        let (x0, y0) = ((edx >> 16) as i16 as i64, (edx & 0xffff) as i16 as i64);
        let mut row = vec![0u8; (w * 3) as usize];
        for y in 0..h {
            let addr = ebx.wrapping_add(y * w * 3);
            if mem.read(addr, &mut row).is_err() {
                return;
            }
            for x in 0..w as usize {
                let c = row[x * 3] as u32
                    | (row[x * 3 + 1] as u32) << 8
                    | (row[x * 3 + 2] as u32) << 16;
                self.put(x0 + x as i64, y0 + y as i64, c);
            }
        }
    }

    /// The framebuffer as 8-bit RGB bytes, row by row (for a PNG).
    pub fn rgb(&self) -> Vec<u8> {
        self.pixels
            .iter()
            .flat_map(|p| [(p >> 16) as u8, (p >> 8) as u8, *p as u8])
            .collect()
    }
}

impl crate::Kolibri {
    /// Functions 0, 1, 4, 7, 8, 12, 13, 38 and 47 of thread `t`: eax is never changed. The
    /// framebuffer is made by the thread's first function 0; drawing before that draws
    /// nothing (the kernel draws into a window that is not on the screen yet).
    pub fn draw_call<M: GuestMemory>(
        &mut self,
        k: &mut ipcemu_kernel::Kernel<M>,
        t: ipcemu_kernel::ThreadId,
        cpu: &mut dyn ipcemu_kernel::Cpu,
        eax: u32,
    ) -> ipcemu_kernel::Outcome {
        use ipcemu_kernel::Reg;
        let r = |x| cpu.get(x);
        let (ebx, ecx, edx, esi, edi) = (
            r(Reg::Ebx),
            r(Reg::Ecx),
            r(Reg::Edx),
            r(Reg::Esi),
            r(Reg::Edi),
        );
        let th = self.thread(t);
        if eax == 0 {
            // Define window: keeps the box for function 9, clears the redraw flag.
            th.redraw = false;
            th.window = [ebx >> 16, ecx >> 16, ebx & 0xffff, ecx & 0xffff];
            match th.win.as_mut() {
                Some(w) => w.define(edx),
                None => th.win = Some(Box::new(Window::new(ebx, ecx, edx))),
            }
            return ipcemu_kernel::Outcome::Continue;
        }
        if eax == 4 && ecx & 0x0800_0000 != 0 {
            text_to_buffer(k.mem_of(t), ebx, ecx, edx, esi, edi);
            return ipcemu_kernel::Outcome::Continue;
        }
        let Some(w) = th.win.as_deref_mut() else {
            return ipcemu_kernel::Outcome::Continue;
        };
        let mem = k.mem_of(t);
        match eax {
            1 => w.put(ebx as i32 as i64, ecx as i32 as i64, edx),
            4 => w.text_call(&*mem, ebx, ecx, edx, esi, edi),
            7 => w.image_call(&*mem, ebx, ecx, edx),
            8 => w.button(ebx, ecx, edx, esi),
            13 => w.rect(ebx, ecx, edx),
            38 => w.line(ebx, ecx, edx),
            47 => w.number_call(&*mem, ebx, ecx, edx, esi, edi),
            _ => {} // 12: redraw begin/end
        }
        ipcemu_kernel::Outcome::Continue
    }

    /// The window of process `p` that input goes to and screenshots show (see
    /// [`crate::Kolibri::input_thread`]), if it has defined one.
    pub fn window_of<M: GuestMemory>(
        &self,
        k: &ipcemu_kernel::Kernel<M>,
        p: ipcemu_kernel::ProcId,
    ) -> Option<&Window> {
        let t = self.input_thread(k, p)?;
        self.thread_ref(t)?.win.as_deref()
    }
}

/// The largest user buffer function 4 draws into (pixels each way).
const MAX_BUFFER: u32 = 4096;

/// Function 4 with flag C: draw into the user buffer at edi (`dd xsize, ysize` and xsize * ysize
/// 32-bit pixels), as `dtext` does: drawn pixels get the colour with alpha 0xFF, others stay.
/// A buffer that is not in memory, or larger than 4096 pixels either way, gets nothing.
fn text_to_buffer<M: GuestMemory>(mem: &mut M, ebx: u32, ecx: u32, edx: u32, esi: u32, edi: u32) {
    let (Ok(w), Ok(h)) = (mem.read_u32(edi), mem.read_u32(edi.wrapping_add(4))) else {
        return;
    };
    if w == 0 || h == 0 || w > MAX_BUFFER || h > MAX_BUFFER {
        return;
    }
    let base = edi.wrapping_add(8);
    let mut bytes = vec![0u8; (w * h * 4) as usize];
    if mem.read(base, &mut bytes).is_err() {
        return;
    }
    // Draw on a canvas of "not drawn" markers (bit 31), then copy the drawn pixels.
    let mut canvas = Window {
        style: 1,
        width: w,
        height: h,
        pixels: vec![0x8000_0000; (w * h) as usize],
        buttons: Vec::new(),
    };
    // Flag B (fill) shares edi with the buffer: the kernel cannot have both; drop B and C.
    canvas.text_call(&*mem, ebx, ecx & !0x4800_0000, edx, esi, 0);
    for (i, &p) in canvas.pixels.iter().enumerate() {
        if p & 0x8000_0000 == 0 {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&(p | 0xff00_0000).to_le_bytes());
        }
    }
    let _ = mem.write(base, &bytes);
}
