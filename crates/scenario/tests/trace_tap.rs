//! A library user's traced run through the kernel's tap (docs/library.md): the records reach
//! the sink when `world.run()` returns, before the world is dropped, and a long run's records
//! (many 64 KiB buffers) arrive complete and in order. Real guests from fixtures/.

use ipcemu_machine::{End, GuestSpec, WorldConfig};
use ipcemu_registry::Personalities;
use ipcemu_trace::{Filter, Kind, MemorySink, TraceLayer};
use std::path::Path;

#[test]
fn the_tap_has_every_record_when_run_returns() {
    let sink = MemorySink::new();
    let (layer, handle) = TraceLayer::new(Box::new(sink.clone()), Filter::default());
    let mut w = Personalities::default()
        .world(
            WorldConfig::default(),
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
        )
        .expect("world");
    w.with_kernel(|k| k.set_trace_tap(std::sync::Arc::new(layer)));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/kolibri");
    let n = 5_000u64;
    for (g, params) in [("pp_srv.kex", None), ("pp_cli.kex", Some(n.to_string()))] {
        let spec = GuestSpec::from_file(root.join(g), params.as_deref()).expect("fixture");
        w.add_guest(&spec).expect("guest");
    }
    let r = w.run();
    assert_eq!(r.end, End::AllExited);
    // Finished while the world still exists.
    handle.finish().expect("trace");
    let recs = sink.records();
    let count = |k: Kind| recs.iter().filter(|r| r.kind == k).count() as u64;
    // Both directions of every round trip, plus the client's final message.
    assert_eq!(count(Kind::Send), 2 * n + 1);
    assert_eq!(count(Kind::ProcEnd), 2, "the last records too");
    assert!(recs.windows(2).all(|w| w[0].step <= w[1].step), "in order");
    // Schema 2: the delivering sends carry their offset; no deliver or event-wait wake.
    assert!(recs
        .iter()
        .filter(|r| r.kind == Kind::Send)
        .all(|r| r.offset.is_some()));
    assert_eq!(count(Kind::Deliver), 0);
    assert_eq!(count(Kind::EventRead), 2 * n + 1);
    drop(w);
}
