//! The one path every message of every personality takes: a typed [`Message`] and a chain of
//! [`MessageHook`]s that may allow, deny, drop, delay or rewrite it. The trace recorder observes the
//! outcome here; security modules and fault injection are hooks.
//!
//! A personality checks what only it can check (a KolibriOS area that is locked, a PC-IPC pool
//! that is full) first, then calls [`Kernel::transmit`](crate::Kernel::transmit), and delivers
//! the message only when the verdict is [`Verdict::Allow`] — with the bytes the hooks left. On
//! [`Verdict::Delay`] it delivers nothing and returns; the run loop holds the call.

use crate::{ProcId, ThreadId};

/// One side of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The process, when known (a PC-IPC receiver is an ID until someone reads).
    pub proc: Option<ProcId>,
    /// The thread, when known.
    pub thread: Option<ThreadId>,
    /// PID of that thread (0 when unknown).
    pub pid: u32,
    /// The personality's own address (KolibriOS PID, PC-IPC ID, KOS handle).
    pub address: u64,
}

/// How a personality carries the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    /// Delivered into the receiver at once (KolibriOS 60.2).
    Datagram,
    /// Queued until the receiver reads it (PC-IPC, pipes, posted messages).
    Queued,
    /// A request that expects a response (KOS `Call`).
    Request,
    /// The response to a request (KOS `Reply`).
    Response,
}

impl MsgKind {
    /// Lower-case name for traces and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            MsgKind::Datagram => "datagram",
            MsgKind::Queued => "queued",
            MsgKind::Request => "request",
            MsgKind::Response => "response",
        }
    }
}

/// A message on its way.
#[derive(Debug, Clone)]
pub struct Message {
    /// Sequence number in the world (assigned by `transmit`; trace flow ids).
    pub seq: u64,
    /// Personality that carries it.
    pub personality: &'static str,
    /// How.
    pub kind: MsgKind,
    /// Sender.
    pub from: Endpoint,
    /// Receiver.
    pub to: Endpoint,
    /// Channel or connection name, if the personality has one.
    pub channel: Option<String>,
    /// Interface and method ids (KOS `riid`, `mid`), if any.
    pub method: Option<(u32, u32)>,
    /// The payload.
    pub data: Vec<u8>,
    /// For a response: the sequence number of its request.
    pub reply_to: Option<u64>,
    /// Where the message lands in the receiver's memory when sending is delivering (a
    /// KolibriOS 60.2 datagram: its offset in the receiver's IPC area). The `send` record
    /// carries it as `offset`, and no separate `deliver` record is made.
    pub area_offset: Option<u32>,
}

/// A hook's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let it pass (possibly rewritten in place).
    Allow,
    /// Refuse it: the sender is told (KOS `rcSecurityDisallow`).
    Deny(String),
    /// Lose it silently: the sender believes it was delivered.
    Drop(String),
    /// Hold it for this many ns of guest time: the sender's call waits that long and is then
    /// made again, when the message passes the hooks anew (a second `Delay` for it is taken as
    /// `Allow`). The personality delivers nothing now; the run loop rewinds the call.
    Delay(u64),
}

/// What a hook sees of the world besides the message.
#[derive(Debug, Clone, Copy)]
pub struct HookCtx<'a> {
    /// Guest clock (ns).
    pub now_ns: u64,
    /// Sender's process name.
    pub from_name: &'a str,
    /// Receiver's process name ("" when unknown).
    pub to_name: &'a str,
}

/// A link in the message chain (security module, fault injection, recorder).
pub trait MessageHook {
    /// Short name for trace records (`policy`, `drop-every-3rd`).
    fn name(&self) -> &str;
    /// Decide; may rewrite `msg.data`.
    fn inspect(&mut self, ctx: &HookCtx<'_>, msg: &mut Message) -> Verdict;
}
