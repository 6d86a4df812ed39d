//! The host actor as a KasperskyOS-style entity, through the library: as the server of a
//! connection (it answers the echo client's calls with the very bytes it got) and as a client
//! (it calls the echo server and gets its answers). Real guests: fixtures/kos/echo_*.elf.

use ipcemu_kernel::ExitStatus;
use ipcemu_machine::{End, GuestSpec, HostAction, HostTarget, Step, Trigger, World, WorldConfig};
use ipcemu_registry::{parse_connect, Personalities};
use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

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

fn guest(name: &str, params: Option<&str>) -> GuestSpec {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/kos")
        .join(name);
    GuestSpec::from_file(&p, params).expect("fixture")
}

fn world(connect: &str, out: &Buf) -> World {
    let pers = Personalities {
        kos_connections: vec![parse_connect(connect).expect("connection")],
        ..Personalities::default()
    };
    pers.world(
        WorldConfig::default(),
        Box::new(out.clone()),
        Box::new(std::io::sink()),
    )
    .expect("world")
}

fn send(w: &mut World, to: u32, data: Vec<u8>) {
    w.host_send(HostAction {
        trigger: Trigger::At(0),
        target: HostTarget {
            personality: "kos".into(),
            to,
        },
        data,
        retry: false,
    });
}

#[test]
fn host_serves_the_echo_client() {
    let out = Buf::default();
    let mut w = world("echo_cli:echo_connection=host", &out);
    w.add_guest(&guest("echo_cli.elf", Some("25")))
        .expect("client");
    w.add_host("host", 4096).expect("host");
    let mut answered = 0;
    let end = loop {
        let step = w.step();
        let got: Vec<_> = w.host_received()[answered..].to_vec();
        if let Step::Over(end) = step {
            // A client waiting for the host is a deadlock until the host answers.
            if got.is_empty() {
                break end;
            }
        }
        for m in got {
            assert_eq!(m.from_name, "echo_cli");
            // Echo: the same message, header and payload, back to the caller.
            send(&mut w, m.from_pid, m.data.clone());
            answered += 1;
        }
    };
    assert_eq!(end, End::AllExited);
    // Nothing left to run: this only flushes the output.
    assert_eq!(w.run().end, End::AllExited);
    let text = String::from_utf8_lossy(&out.0.borrow()).into_owned();
    assert!(text.contains("PASS echo_cli 25 round trips"), "{text}");
    assert!(text.contains("PASS echo_cli quit acknowledged"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    // 25 calls and the quit.
    assert_eq!(answered, 26);
    assert!(w.host_sent().iter().all(|s| s.code == 0));
}

#[test]
fn host_calls_the_echo_server() {
    let out = Buf::default();
    let mut w = world("host:echo_connection=echo_srv", &out);
    let srv = w.add_guest(&guest("echo_srv.elf", None)).expect("server");
    w.add_host("host", 4096).expect("host");
    let msg = |mid: u32, payload: &[u8]| {
        let mut v = Vec::new();
        for x in [16 + payload.len() as u32, 0, mid, 0] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(payload);
        v
    };
    // A bare payload gets a header (mid 0); a whole message goes as it is.
    send(&mut w, srv.pid.0, b"hello".to_vec());
    send(&mut w, srv.pid.0, msg(7, b"seven"));
    send(&mut w, srv.pid.0, msg(0xFFFF, b""));
    let report = w.run();
    assert_eq!(report.end, End::AllExited, "{report:?}");
    assert_eq!(report.procs[0].status, Some(ExitStatus::Normal(0)));
    let got: Vec<Vec<u8>> = w.host_received().iter().map(|m| m.data.clone()).collect();
    assert_eq!(
        got,
        vec![msg(0, b"hello"), msg(7, b"seven"), msg(0xFFFF, b"")],
        "the server echoes each request"
    );
    assert!(w.host_received().iter().all(|m| m.from_name == "echo_srv"));
    let text = String::from_utf8_lossy(&out.0.borrow()).into_owned();
    assert!(text.contains("PASS echo_srv served 2 requests"), "{text}");
}

#[test]
fn host_send_without_a_connection_is_refused() {
    let out = Buf::default();
    let mut w = world("other:echo_connection=echo_srv", &out);
    let srv = w.add_guest(&guest("echo_srv.elf", None)).expect("server");
    w.add_host("host", 4096).expect("host");
    send(&mut w, srv.pid.0, b"x".to_vec());
    let _ = w.run_until(|k| k.now_ns() > 1_000_000);
    assert_eq!(w.host_sent().len(), 1);
    assert_eq!(w.host_sent()[0].code, ipcemu_kos::rc::BAD_HANDLE);
    assert!(w.host_received().is_empty());
}
