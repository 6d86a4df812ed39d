//! Readable, aligned trace lines:
//! `t=0.000120s  echo_cli[3]   -> echo_srv[2]   send 20 B "msg-0000001"  ok`

use crate::{unhex, Kind, Record, Sink};
use std::io::Write;

/// Text sink.
pub struct TextSink {
    out: Box<dyn Write + Send>,
    width: usize,
}

impl TextSink {
    /// Payload previews show at most `width` bytes.
    pub fn new(out: Box<dyn Write + Send>, width: usize) -> Self {
        TextSink { out, width }
    }
}

/// Preview of a payload: escaped text when it is mostly printable, else hex.
pub fn preview(hex: &str, len: u64, width: usize) -> String {
    let bytes = unhex(hex);
    let shown = &bytes[..bytes.len().min(width)];
    let more = if (len as usize) > shown.len() {
        "..."
    } else {
        ""
    };
    let printable = shown.iter().filter(|&&b| (0x20..0x7f).contains(&b)).count();
    if shown.is_empty() {
        return String::new();
    }
    if printable * 4 >= shown.len() * 3 {
        let mut s = String::from("\"");
        for &b in shown {
            match b {
                b'"' => s.push_str("\\\""),
                b'\\' => s.push_str("\\\\"),
                b'\n' => s.push_str("\\n"),
                b'\r' => s.push_str("\\r"),
                b'\t' => s.push_str("\\t"),
                0x20..=0x7e => s.push(b as char),
                _ => s.push_str(&format!("\\x{b:02x}")),
            }
        }
        s.push('"');
        s.push_str(more);
        s
    } else {
        let h: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
        format!("[{}]{more}", h.join(" "))
    }
}

/// Name of a function-60.2 result.
pub fn send_result(code: i64) -> &'static str {
    match code {
        0 => "ok",
        1 => "no-area (1)",
        2 => "locked (2)",
        3 => "overflow (3)",
        4 => "no-pid (4)",
        _ => "fault",
    }
}

/// Name of a PC-IPC command.
pub fn pc_cmd_name(c: u64) -> &'static str {
    match c {
        0x01 => "inquire",
        0x02 => "enable",
        0x03 => "disable",
        0x04 => "install",
        0x06 => "read",
        0x07 => "send",
        0x08 => "request-id",
        0x09 => "delete-id",
        0x0A => "read-wait",
        0x0B => "version",
        _ => "unknown",
    }
}

/// One line for a record (without the newline).
pub fn line(r: &Record, width: usize) -> String {
    let t = format!("t={:.6}s", r.t_ns as f64 / 1e9);
    let actor = r.actor();
    let (arrow, peer) = match (r.kind, r.peer()) {
        (Kind::Send, Some(p)) => ("->", p),
        (Kind::Deliver, Some(p)) => ("<-", p),
        _ => ("", String::new()),
    };
    let pv = |r: &Record| {
        preview(
            r.payload.as_deref().unwrap_or(""),
            r.len.unwrap_or(0),
            width,
        )
    };
    let what = match r.kind {
        Kind::Send => {
            let res = r.result.unwrap_or(-1);
            let msg = r
                .msg
                .filter(|&m| m != 0)
                .map(|m| format!(" #{m}"))
                .unwrap_or_default();
            let at = r.offset.map(|o| format!(" at +{o}")).unwrap_or_default();
            format!(
                "send {} B {}  {}{msg}{at}",
                r.len.unwrap_or(0),
                pv(r),
                send_result(res)
            )
        }
        Kind::Deliver => format!(
            "deliver {} B at +{} #{}",
            r.len.unwrap_or(0),
            r.offset.unwrap_or(0),
            r.msg.unwrap_or(0)
        ),
        Kind::Event => format!(
            "event {}{}",
            r.code.unwrap_or(0),
            if r.masked == Some(true) {
                " (masked, kept)"
            } else {
                ""
            }
        ),
        Kind::EventRead => {
            let msgs = r
                .msgs
                .as_ref()
                .filter(|m| !m.is_empty())
                .map(|m| {
                    let v: Vec<String> = m.iter().map(|x| format!("#{x}")).collect();
                    format!(" consumes {}", v.join(" "))
                })
                .unwrap_or_default();
            format!("read event {}{msgs}", r.code.unwrap_or(0))
        }
        Kind::Wait => {
            let to = match r.timeout_ns {
                Some(n) if n >= 0 => format!(" timeout {:.2}s", n as f64 / 1e9),
                _ => String::new(),
            };
            format!("wait {}{to}", r.what.as_deref().unwrap_or("?"))
        }
        Kind::Wake => match r.result {
            Some(v) if v >= 0 => format!("wake eax={v}"),
            _ => "wake".to_string(),
        },
        Kind::IpcArea => format!(
            "ipc area {:#x} size {}",
            r.addr.unwrap_or(0),
            r.size.unwrap_or(0)
        ),
        Kind::ProcStart | Kind::ThreadStart => format!(
            "{} slot {} entry {:#x}",
            r.kind.as_str().replace('_', " "),
            r.slot.unwrap_or(0),
            r.entry.unwrap_or(0)
        ),
        Kind::ThreadEnd => "thread end".to_string(),
        Kind::ProcEnd => format!("process end: {}", r.detail.as_deref().unwrap_or("")),
        Kind::PcCmd => {
            let e = r.error.unwrap_or(0);
            let msg = r
                .msg
                .filter(|&m| m != 0)
                .map(|m| format!(" #{m}"))
                .unwrap_or_default();
            format!(
                "pcipc {} id {} to {} size {} status {:02x}h {}{msg} {}",
                pc_cmd_name(r.cmd.unwrap_or(0)),
                r.caller_id.unwrap_or(0),
                r.to_id.unwrap_or(0),
                r.size.unwrap_or(0),
                r.status.unwrap_or(0),
                if e == 0 {
                    "ok".to_string()
                } else {
                    format!("error {e:02X}h")
                },
                preview(
                    r.payload.as_deref().unwrap_or(""),
                    r.size.unwrap_or(0),
                    width
                )
            )
            .trim_end()
            .to_string()
        }
        Kind::W32Obj => {
            let res = r.result.unwrap_or(0);
            let h = r
                .handle
                .filter(|&h| h != 0)
                .map(|h| format!(" handle {h:#x}"))
                .unwrap_or_default();
            format!(
                "{} {}{h} = {}",
                r.op.as_deref().unwrap_or("?"),
                r.object.as_deref().unwrap_or(""),
                if res < 0 {
                    "waits".to_string()
                } else {
                    format!("{res:#x}")
                }
            )
        }
        Kind::File => format!(
            "file {} \"{}\" = {}{}",
            r.op.as_deref().unwrap_or("?"),
            r.object.as_deref().unwrap_or(""),
            r.result.unwrap_or(0),
            match r.len {
                Some(n) if n > 0 => format!(", {n} B"),
                _ => String::new(),
            }
        ),
        Kind::Shm => format!(
            "shm {} \"{}\" view {:#x} ({} B) = {}",
            r.op.as_deref().unwrap_or("?"),
            r.object.as_deref().unwrap_or(""),
            r.addr.unwrap_or(0),
            r.size.unwrap_or(0),
            r.result.unwrap_or(0),
        ),
        Kind::W32View => format!(
            "view of {} at {:#x}: {}",
            r.object.as_deref().unwrap_or(""),
            r.addr.unwrap_or(0),
            preview(
                r.payload.as_deref().unwrap_or(""),
                r.len.unwrap_or(0),
                width
            )
        ),
        Kind::Allow | Kind::Deny | Kind::Drop | Kind::Delay => {
            let chan = r
                .channel
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| format!(" on {c}"))
                .unwrap_or_default();
            let method = match (r.riid, r.mid) {
                (Some(i), Some(m)) if i != 0 || m != 0 => format!(" riid {i} mid {m}"),
                _ => String::new(),
            };
            format!(
                "{} {} #{}{chan}{method} by {}: {}",
                r.kind,
                r.dir.as_deref().unwrap_or("message"),
                r.msg.unwrap_or(0),
                r.hook.as_deref().unwrap_or("?"),
                r.detail.as_deref().unwrap_or("")
            )
        }
        other => format!("{other} {}", r.detail.as_deref().unwrap_or(""))
            .trim_end()
            .to_string(),
    };
    if arrow.is_empty() {
        format!("{t:<14} {actor:<18} {:<21} {what}", "")
    } else {
        format!("{t:<14} {actor:<18} {arrow} {peer:<18} {what}")
    }
}

impl Sink for TextSink {
    fn record(&mut self, r: &Record) -> std::io::Result<()> {
        writeln!(self.out, "{}", line(r, self.width))
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
