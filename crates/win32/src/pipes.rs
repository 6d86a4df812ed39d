//! Pipes of the Win32 personality: anonymous pipes (`CreatePipe`) and named-pipe instances
//! (`CreateNamedPipeA`), as buffers with reader and writer counts. This module is the state
//! alone (no guest memory); `api.rs` turns it into `ReadFile`/`WriteFile`/... results.
//!
//! A pipe has two channels. An anonymous pipe uses channel 0 only (the read end reads it, the
//! write end writes it). A named-pipe instance's server end reads channel 0 and writes
//! channel 1; its client end the other way round.

use crate::objects::ObjId;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Default buffer size when a program asks for 0 (Windows uses about one page).
pub const DEFAULT_BUFFER: usize = 4096;
/// The largest single write ipcemu accepts (a bigger one fails with
/// `ERROR_NOT_ENOUGH_MEMORY`): a guest cannot make the host hold more than this per write.
pub const MAX_WRITE: usize = 16 << 20;
/// Buffer sizes asked for are clamped to this.
pub const MAX_BUFFER: usize = 1 << 20;

/// One direction of a pipe.
#[derive(Debug, Default)]
pub struct Chan {
    msgs: VecDeque<Vec<u8>>,
    /// Bytes of the front message already read (byte-mode reads, partial message reads).
    head: usize,
    /// Bytes buffered (not yet read).
    pub bytes: usize,
    /// Ends open for reading it.
    pub readers: u32,
    /// Ends open for writing it.
    pub writers: u32,
    /// Buffer size: a write waits while the buffer is not empty and the write would not fit.
    pub cap: usize,
}

impl Chan {
    fn new(cap: usize) -> Self {
        Chan {
            cap: if cap == 0 {
                DEFAULT_BUFFER
            } else {
                cap.min(MAX_BUFFER)
            },
            ..Chan::default()
        }
    }

    /// Whether a write of `len` bytes can go in now.
    pub fn fits(&self, len: usize) -> bool {
        self.bytes == 0 || self.bytes + len <= self.cap
    }

    /// Append a write: one message (message-type pipes, where even an empty write is a
    /// message) or bytes of a stream.
    pub fn write(&mut self, data: &[u8], message: bool) {
        if data.is_empty() && !message {
            return;
        }
        self.bytes += data.len();
        self.msgs.push_back(data.to_vec());
    }

    /// Whether anything (a message, maybe empty) waits.
    pub fn has_data(&self) -> bool {
        !self.msgs.is_empty()
    }

    /// Read up to `max` bytes. Message read mode: from the front message only; the flag is
    /// set when part of it is left (`ERROR_MORE_DATA`). Byte mode: across messages.
    pub fn read(&mut self, max: usize, msg_mode: bool) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        if msg_mode {
            let Some(front) = self.msgs.front() else {
                return (out, false);
            };
            let rest = &front[self.head..];
            let n = rest.len().min(max);
            out.extend_from_slice(&rest[..n]);
            let more = n < rest.len();
            self.consume(n);
            return (out, more);
        }
        while out.len() < max {
            let Some(front) = self.msgs.front() else {
                break;
            };
            let rest = &front[self.head..];
            let n = rest.len().min(max - out.len());
            out.extend_from_slice(&rest[..n]);
            self.consume(n);
        }
        (out, false)
    }

    fn consume(&mut self, n: usize) {
        self.bytes -= n;
        self.head += n;
        if self.msgs.front().is_some_and(|f| self.head >= f.len()) {
            self.msgs.pop_front();
            self.head = 0;
        }
    }

    /// Look without taking: up to `max` bytes (of the front message in message mode, else
    /// across messages), the bytes available in all, and the bytes left in the front message
    /// after those copied (0 in byte mode).
    pub fn peek(&self, max: usize, message: bool) -> (Vec<u8>, usize, usize) {
        let mut out = Vec::new();
        let mut head = self.head;
        for m in &self.msgs {
            let rest = &m[head..];
            head = 0;
            let n = rest.len().min(max - out.len());
            out.extend_from_slice(&rest[..n]);
            if message {
                return (out, self.bytes, rest.len() - n);
            }
            if out.len() >= max {
                break;
            }
        }
        (out, self.bytes, 0)
    }

    fn clear(&mut self) {
        self.msgs.clear();
        self.head = 0;
        self.bytes = 0;
    }
}

/// The state of a named-pipe instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for a client (just created, or `ConnectNamedPipe` after a disconnect).
    Listening,
    /// A client is connected.
    Connected,
    /// The client closed its end; the server can still read what it wrote.
    Closing,
    /// `DisconnectNamedPipe`: no client; `ConnectNamedPipe` makes it listen again.
    Disconnected,
}

/// Named-pipe instance data.
#[derive(Debug)]
pub struct Named {
    /// The pipe's name as created (`\\.\pipe\NAME`).
    pub name: String,
    /// Its state.
    pub state: State,
    /// The connected client's end object.
    pub client: Option<ObjId>,
    /// The server end is open.
    pub server_open: bool,
    /// The server waits in `ConnectNamedPipe` (a client arriving completes it with TRUE).
    pub connect_waiting: bool,
    /// `nDefaultTimeOut` (ms) for `WaitNamedPipe(NMPWAIT_USE_DEFAULT_WAIT)`.
    pub default_timeout: u32,
}

/// A pipe.
#[derive(Debug)]
pub struct Pipe {
    /// Message-type (`PIPE_TYPE_MESSAGE`): every write is a message.
    pub message: bool,
    /// The channels.
    pub chans: [Chan; 2],
    /// For a named-pipe instance.
    pub named: Option<Named>,
}

/// All pipes of a world.
#[derive(Debug, Default)]
pub struct Pipes {
    /// Pipes by number.
    pub pipes: HashMap<u32, Pipe>,
    /// Named-pipe instances by lower-case name, in creation order.
    pub names: BTreeMap<String, Vec<u32>>,
    /// Maximum instances of each name (from its first `CreateNamedPipe`).
    pub max_instances: HashMap<String, u32>,
    next: u32,
}

impl Pipes {
    /// A new anonymous pipe (one reader, one writer end will be made).
    pub fn anonymous(&mut self, size: usize) -> u32 {
        self.next += 1;
        let mut c = Chan::new(size);
        c.readers = 1;
        c.writers = 1;
        self.pipes.insert(
            self.next,
            Pipe {
                message: false,
                chans: [c, Chan::new(0)],
                named: None,
            },
        );
        self.next
    }

    /// A new named-pipe instance with its server end open (reads 0, writes 1).
    pub fn named(
        &mut self,
        name: &str,
        message: bool,
        bufs: (usize, usize),
        default_timeout: u32,
    ) -> u32 {
        self.next += 1;
        let mut c0 = Chan::new(bufs.0);
        c0.readers = 1;
        let mut c1 = Chan::new(bufs.1);
        c1.writers = 1;
        self.pipes.insert(
            self.next,
            Pipe {
                message,
                chans: [c0, c1],
                named: Some(Named {
                    name: name.to_string(),
                    state: State::Listening,
                    client: None,
                    server_open: true,
                    connect_waiting: false,
                    default_timeout,
                }),
            },
        );
        self.names
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(self.next);
        self.next
    }

    /// The instances of a name.
    pub fn instances(&self, name: &str) -> &[u32] {
        self.names
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// An instance of `name` a client can connect to now.
    pub fn listening(&self, name: &str) -> Option<u32> {
        self.instances(name).iter().copied().find(|id| {
            self.pipes
                .get(id)
                .and_then(|p| p.named.as_ref())
                .is_some_and(|n| n.state == State::Listening && n.client.is_none())
        })
    }

    /// Connect a client end object to a listening instance.
    pub fn connect(&mut self, id: u32, client: ObjId) {
        if let Some(p) = self.pipes.get_mut(&id) {
            p.chans[1].readers += 1;
            p.chans[0].writers += 1;
            if let Some(n) = p.named.as_mut() {
                n.client = Some(client);
                n.state = State::Connected;
            }
        }
    }

    /// Detach the client of an instance (`DisconnectNamedPipe`, or the client end closed):
    /// its channel counts go and, for a disconnect, the buffers are emptied.
    pub fn drop_client(&mut self, id: u32, disconnect: bool) -> Option<ObjId> {
        let c = self.drop_client_inner(id, disconnect);
        self.gc(id);
        c
    }

    fn drop_client_inner(&mut self, id: u32, disconnect: bool) -> Option<ObjId> {
        let p = self.pipes.get_mut(&id)?;
        let n = p.named.as_mut()?;
        let c = n.client.take();
        if c.is_some() {
            p.chans[1].readers = p.chans[1].readers.saturating_sub(1);
            p.chans[0].writers = p.chans[0].writers.saturating_sub(1);
        }
        if disconnect {
            n.state = State::Disconnected;
            n.connect_waiting = false;
            p.chans[0].clear();
            p.chans[1].clear();
        } else if c.is_some() && n.state == State::Connected {
            n.state = State::Closing;
        }
        c
    }

    /// An anonymous pipe's end or a named pipe's server end went (its object's last
    /// reference): update the counts, and forget the pipe when nothing refers to it any more.
    /// (A client end goes through [`Pipes::drop_client`].)
    pub fn end_closed(
        &mut self,
        id: u32,
        reads: Option<usize>,
        writes: Option<usize>,
        server: bool,
    ) {
        let Some(p) = self.pipes.get_mut(&id) else {
            return;
        };
        if let Some(c) = reads {
            p.chans[c].readers = p.chans[c].readers.saturating_sub(1);
        }
        if let Some(c) = writes {
            p.chans[c].writers = p.chans[c].writers.saturating_sub(1);
        }
        if let Some(n) = p.named.as_mut() {
            if server {
                n.server_open = false;
                let key = n.name.to_ascii_lowercase();
                if let Some(v) = self.names.get_mut(&key) {
                    v.retain(|&x| x != id);
                    if v.is_empty() {
                        self.names.remove(&key);
                        self.max_instances.remove(&key);
                    }
                }
            }
        }
        self.gc(id);
    }

    fn gc(&mut self, id: u32) {
        let Some(p) = self.pipes.get(&id) else {
            return;
        };
        let unused = p.chans.iter().all(|c| c.readers == 0 && c.writers == 0)
            && p.named.as_ref().is_none_or_closed();
        if unused {
            self.pipes.remove(&id);
        }
    }
}

trait NamedClosed {
    fn is_none_or_closed(&self) -> bool;
}

impl NamedClosed for Option<&Named> {
    fn is_none_or_closed(&self) -> bool {
        match self {
            None => true,
            Some(n) => !n.server_open && n.client.is_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_and_message_reads() {
        let mut c = Chan::new(16);
        c.write(b"hello", false);
        c.write(b" world", false);
        assert_eq!(c.read(3, false), (b"hel".to_vec(), false));
        assert_eq!(c.read(100, false), (b"lo world".to_vec(), false));
        assert!(!c.has_data());
        assert_eq!(c.bytes, 0);
        c.write(&[7; 100], true);
        c.write(b"", true);
        assert!(!c.fits(1) || c.bytes == 0);
        let (a, more) = c.read(64, true);
        assert_eq!((a.len(), more), (64, true));
        let (b, more) = c.read(64, true);
        assert_eq!((b.len(), more), (36, false));
        // the empty message is a message
        assert!(c.has_data());
        assert_eq!(c.read(64, true), (Vec::new(), false));
        assert!(!c.has_data());
    }

    #[test]
    fn peek_and_fit() {
        let mut c = Chan::new(8);
        assert!(c.fits(100), "an empty buffer takes any write");
        c.write(b"abcd", true);
        assert!(c.fits(4) && !c.fits(5));
        c.write(b"ef", true);
        assert_eq!(c.peek(3, true), (b"abc".to_vec(), 6, 1));
        assert_eq!(c.peek(10, false), (b"abcdef".to_vec(), 6, 0));
        assert_eq!(c.bytes, 6);
    }

    #[test]
    fn named_lifecycle() {
        let mut ps = Pipes::default();
        let id = ps.named("\\\\.\\pipe\\X", true, (512, 512), 50);
        assert_eq!(ps.listening("\\\\.\\PIPE\\x"), Some(id));
        ps.connect(id, 9);
        assert_eq!(ps.listening("\\\\.\\pipe\\x"), None);
        assert_eq!(ps.pipes[&id].chans[0].writers, 1);
        assert_eq!(ps.drop_client(id, false), Some(9));
        assert_eq!(
            ps.pipes[&id].named.as_ref().map(|n| n.state),
            Some(State::Closing)
        );
        assert_eq!(ps.pipes[&id].chans[0].writers, 0);
        ps.drop_client(id, true);
        assert_eq!(
            ps.pipes[&id].named.as_ref().map(|n| n.state),
            Some(State::Disconnected)
        );
        ps.end_closed(id, Some(0), Some(1), true);
        assert!(ps.pipes.is_empty() && ps.names.is_empty());
    }
}
