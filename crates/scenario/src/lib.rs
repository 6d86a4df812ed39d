//! # ipcemu-scenario
//!
//! Scenario files describe a world once — which programs, their command lines, what a host
//! actor sends them and when, what must come out — and [`run_file`] runs one and checks every
//! expectation, returning a [`Outcome`] with a readable failure list and diffs. `ipcemu test`
//! is a thin CLI over this crate. The format is documented in `docs/scenarios.md`.

#![warn(missing_docs)]

mod junit;
mod spec;

#[doc = include_str!("../../../docs/library.md")]
pub mod library_guide {}

pub use ipcemu_machine::DEFAULT_MAX_OUTPUT;
pub use junit::junit_xml;
pub use spec::{
    ExitExpect, Expect, HostSendSpec, HostSpec, Options, ProcessSpec, ReceivedSpec, Scenario,
};

use ipcemu_kernel::{Config, ProcId};
use ipcemu_machine::{End, GuestSpec, HostAction, HostTarget, Trigger, WorldConfig};
use ipcemu_registry::{PcIpcConfig, Personalities};
use ipcemu_trace::Kind;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a scenario could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The TOML is malformed or has an unknown key (the message names key and line).
    #[error("{0}: {1}")]
    Parse(String, String),
    /// The scenario is consistent TOML but says something impossible.
    #[error("{0}: {1}")]
    Invalid(String, String),
}

/// The result of one scenario.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Scenario name.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Every expectation that did not hold, one line each (empty = passed).
    pub failures: Vec<String>,
    /// Unified diffs for exact-output expectations that did not hold.
    pub diffs: Vec<String>,
    /// Reference transcripts rewritten by `bless`.
    pub blessed: Vec<PathBuf>,
    /// Guest time at the end (ns).
    pub virtual_ns: u64,
    /// Host wall time.
    pub wall: Duration,
    /// All output of the world.
    pub output: String,
    /// Things the run says besides pass or fail (output dropped over `max_output`).
    pub notes: Vec<String>,
}

impl Outcome {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Load and check a scenario file without running it.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io(p.clone(), e))?;
    let sc: Scenario =
        toml::from_str(&text).map_err(|e| ScenarioError::Parse(p.clone(), e.to_string()))?;
    sc.validate().map_err(|e| ScenarioError::Invalid(p, e))?;
    Ok(sc)
}

/// How to run scenario files.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Rewrite reference transcripts that differ (they count as passing).
    pub bless: bool,
    /// Most bytes of output kept per process (and `max_output` times the number of
    /// processes for the whole world's output); the rest is counted, dropped and noted.
    pub max_output: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            bless: false,
            max_output: ipcemu_machine::DEFAULT_MAX_OUTPUT,
        }
    }
}

/// A shared byte buffer used as the world's stdout/stderr, keeping at most `limit` bytes and
/// counting the rest.
#[derive(Clone)]
struct Buf {
    data: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
    dropped: std::rc::Rc<std::cell::Cell<u64>>,
    limit: usize,
}

impl Buf {
    fn new(limit: usize) -> Self {
        Buf {
            data: Default::default(),
            dropped: Default::default(),
            limit,
        }
    }
}

impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let mut d = self.data.borrow_mut();
        let n = b.len().min(self.limit.saturating_sub(d.len()));
        d.extend_from_slice(&b[..n]);
        let lost = self.dropped.get().saturating_add((b.len() - n) as u64);
        self.dropped.set(lost);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Run a scenario file. With `bless`, reference transcripts that differ are rewritten (and
/// count as passing).
pub fn run_file(path: &Path, bless: bool) -> Result<Outcome, ScenarioError> {
    run_file_with(
        path,
        &RunOptions {
            bless,
            ..RunOptions::default()
        },
    )
}

/// Run a scenario file with these options.
pub fn run_file_with(path: &Path, opts: &RunOptions) -> Result<Outcome, ScenarioError> {
    let sc = load(path)?;
    if sc.processes.iter().all(|p| p.expect_received.is_empty()) {
        return run_loaded(path, opts, sc, None);
    }
    // Messages received by guests are checked against the trace: collect it in memory.
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::Layer;
    let sink = ipcemu_trace::MemorySink::new();
    let (layer, _handle) =
        ipcemu_trace::TraceLayer::new(Box::new(sink.clone()), ipcemu_trace::Filter::default());
    let subscriber = tracing_subscriber::registry()
        .with(layer.with_filter(ipcemu_trace::only_trace_records::<()>()));
    tracing::subscriber::with_default(subscriber, || run_loaded(path, opts, sc, Some(sink)))
}

/// A KolibriOS host target (function 60.2 to this PID).
fn kolibri(pid: u32) -> HostTarget {
    HostTarget {
        personality: "kolibri".into(),
        to: pid,
    }
}

fn run_loaded(
    path: &Path,
    opts: &RunOptions,
    sc: Scenario,
    trace: Option<ipcemu_trace::MemorySink>,
) -> Result<Outcome, ScenarioError> {
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let name = sc.name.clone().unwrap_or_else(|| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let p = path.display().to_string();
    let invalid = |m: String| ScenarioError::Invalid(p.clone(), m);
    let bless = opts.bless;
    let started = Instant::now();
    let o = &sc.options;
    // Values were checked when the file was read; a library caller may build a Scenario by
    // hand, so they are checked again here rather than trusted.
    let limit = |v: Option<f64>, what: &str| {
        ipcemu_machine::seconds(v.unwrap_or(60.0)).map_err(|e| invalid(format!("{what}: {e}")))
    };
    let config = WorldConfig {
        kernel: Config {
            quantum_traps: o.quantum.unwrap_or(Config::default().quantum_traps).max(1),
            capture_output: true,
            max_output: opts.max_output,
            ..Config::default()
        },
        timeout: Some(limit(o.timeout, "options.timeout")?),
        wall_timeout: Some(limit(o.wall_timeout, "options.wall_timeout")?),
        max_process_memory: None,
        max_world_memory: None,
    };
    let mut kos_connections = Vec::new();
    if let Some(f) = &o.kos_init {
        let path = dir.join(f);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            invalid(format!(
                "options.kos_init: cannot read {}: {e}",
                path.display()
            ))
        })?;
        kos_connections.extend(
            ipcemu_registry::parse_init(&path.to_string_lossy(), &text)
                .map_err(|e| invalid(e.to_string()))?,
        );
    }
    for c in &o.kos_connect {
        kos_connections.push(
            ipcemu_registry::parse_connect(c)
                .map_err(|e| invalid(format!("options.kos_connect: {e}")))?,
        );
    }
    let kos_policy = match &o.policy {
        Some(f) => {
            let path = dir.join(f);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid(format!(
                    "options.policy: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            Some(
                ipcemu_registry::Policy::parse(&path.to_string_lossy(), &text)
                    .map_err(|e| invalid(e.to_string()))?,
            )
        }
        None => None,
    };
    let personalities = Personalities {
        kos_connections,
        kos_policy,
        strict: o.strict,
        pcipc_vector: o.pcipc_vector.unwrap_or(0x60),
        pcipc: PcIpcConfig {
            ids: o.pcipc_ids.unwrap_or(PcIpcConfig::default().ids),
            space: o.pcipc_space.unwrap_or(PcIpcConfig::default().space),
            preinstalled: o.pcipc_preinstalled || !o.pcipc_not_installed,
            own_ids: o.pcipc_own_ids,
            ..PcIpcConfig::default()
        },
        ..Personalities::default()
    };
    let mut personalities = personalities;
    if let Some(r) = &o.root {
        let path = dir.join(r);
        let vfs = ipcemu_vfs::Vfs::new(&path, o.root_ro).map_err(|e| {
            invalid(format!(
                "options.root: {} is not a usable folder: {e}",
                path.display()
            ))
        })?;
        personalities.kolibri.vfs = Some(vfs);
    } else if o.root_ro {
        return Err(invalid("options.root_ro needs options.root".into()));
    }
    let world_limit = opts.max_output.saturating_mul(sc.processes.len().max(1));
    let out = Buf::new(world_limit);
    let err = Buf::new(world_limit);
    let mut world = personalities
        .world(config, Box::new(out.clone()), Box::new(err.clone()))
        .map_err(|e| invalid(e.to_string()))?;

    // Processes, with labels for the expectations.
    let labels = sc.labels();
    let mut pid_of: HashMap<String, u32> = HashMap::new();
    let mut proc_of: HashMap<String, ProcId> = HashMap::new();
    for (i, ps) in sc.processes.iter().enumerate() {
        let image = dir.join(&ps.image);
        let bytes = std::fs::read(&image).map_err(|e| {
            invalid(format!(
                "process {}: cannot read {}: {e}",
                labels[i],
                image.display()
            ))
        })?;
        let spec = GuestSpec {
            path: image.to_string_lossy().into_owned(),
            bytes,
            params: ps.params.clone(),
        };
        match ps.start_at {
            Some(t) => {
                let at = ipcemu_machine::seconds(t)
                    .map_err(|e| invalid(format!("process {}: start_at: {e}", labels[i])))?;
                world
                    .add_guest_at(spec, at)
                    .map_err(|e| invalid(format!("process {}: {e}", labels[i])))?;
            }
            None => {
                let id = world
                    .add_guest(&spec)
                    .map_err(|e| invalid(format!("process {}: {e}", labels[i])))?;
                pid_of.insert(labels[i].clone(), id.pid.0);
                proc_of.insert(labels[i].clone(), id.proc);
            }
        }
    }

    // Timed input and screenshots.
    for (i, inp) in sc.inputs.iter().enumerate() {
        use ipcemu_registry::timed::{self, Input};
        let bad = |why: &str| invalid(format!("input[{i}]: {why}"));
        let n = labels
            .iter()
            .position(|l| *l == inp.to)
            .ok_or_else(|| bad(&format!("no process labelled {:?}", inp.to)))?;
        let at = ipcemu_machine::seconds(inp.at.unwrap_or(0.0)).map_err(|e| bad(&e.to_string()))?;
        let input = match (&inp.keys, inp.button, &inp.mouse, &inp.screenshot) {
            (Some(k), None, None, None) => {
                // TOML already turned escapes into characters: a newline is Enter; tab,
                // backspace and escape are their keys; anything else must be printable ASCII.
                let keys = k
                    .chars()
                    .map(|c| match c {
                        '\n' => Ok(13),
                        '\t' | '\u{8}' | '\u{1b}' | ' '..='~' => Ok(c as u8),
                        _ => Err(bad(&format!("keys: {c:?} is not a key (printable ASCII)"))),
                    })
                    .collect::<Result<Vec<u8>, _>>()?;
                Input::Keys(keys)
            }
            (None, Some(id), None, None) => Input::Button(id),
            (None, None, Some(m), None) => match m[..] {
                [x, y] => Input::Mouse { x, y, buttons: 0 },
                [x, y, buttons] => Input::Mouse { x, y, buttons },
                _ => return Err(bad("mouse is [x, y] or [x, y, buttons]")),
            },
            (None, None, None, Some(f)) => {
                timed::schedule_screenshot(&mut world, n, at, dir.join(f));
                continue;
            }
            _ => return Err(bad("give exactly one of keys, button, mouse, screenshot")),
        };
        timed::schedule_input(&mut world, n, at, input);
    }

    // The host actor.
    if let Some(h) = &sc.host {
        let pid = world
            .add_host(h.name.as_deref().unwrap_or("host"), h.area.unwrap_or(4096))
            .map_err(|e| invalid(e.to_string()))?;
        pid_of.insert("host".into(), pid.0);
        for (i, s) in h.sends.iter().enumerate() {
            let what = format!("host.send[{i}]");
            let label_pid = |l: &str| {
                pid_of
                    .get(l)
                    .copied()
                    .ok_or_else(|| invalid(format!("{what}: no process labelled {l:?}")))
            };
            let via = |pid: u32| match s.via.as_deref() {
                None | Some("kolibri") => Ok(kolibri(pid)),
                Some("kos") => Ok(HostTarget {
                    personality: "kos".into(),
                    to: pid,
                }),
                Some(v) => Err(invalid(format!(
                    "{what}: via = {v:?}: give \"kolibri\" or \"kos\""
                ))),
            };
            let target = match (&s.to, s.to_pid, s.to_id) {
                (Some(l), None, None) => via(label_pid(l)?)?,
                (None, Some(p), None) => via(p)?,
                (None, None, Some(id)) => HostTarget {
                    personality: "pcipc".into(),
                    to: id as u32,
                },
                _ => {
                    return Err(invalid(format!(
                        "{what}: give exactly one of to, to_pid, to_id"
                    )))
                }
            };
            let trigger = match (s.at, &s.when_area_set, &s.when_output, s.when_received) {
                (Some(t), None, None, None) => Trigger::At(ipcemu_machine::nanos(
                    ipcemu_machine::seconds(t).map_err(|e| invalid(format!("{what}: at: {e}")))?,
                )),
                (None, Some(l), None, None) => Trigger::Ready(kolibri(label_pid(l)?)),
                (None, None, Some(text), None) => {
                    let p = match &s.when_output_of {
                        Some(l) => Some(*proc_of.get(l).ok_or_else(|| {
                            invalid(format!(
                                "{what}: no process labelled {l:?} that starts at once"
                            ))
                        })?),
                        None => None,
                    };
                    Trigger::Output(p, text.clone())
                }
                (None, None, None, Some(n)) => Trigger::Received(n),
                (None, None, None, None) => Trigger::At(0),
                _ => {
                    return Err(invalid(format!(
                        "{what}: give at most one of at, when_area_set, when_output, when_received"
                    )))
                }
            };
            let data = s.payload().map_err(|e| invalid(format!("{what}: {e}")))?;
            world.host_send(HostAction {
                trigger,
                target,
                data,
                retry: s.retry.unwrap_or(true),
            });
        }
    }

    let report = match &o.stop_when_ended {
        Some(l) => {
            let p = *proc_of.get(l).ok_or_else(|| {
                invalid(format!(
                    "options.stop_when_ended: no process labelled {l:?} that starts at once"
                ))
            })?;
            world.run_until(|k| k.procs[p].exit.is_some())
        }
        None => world.run(),
    };
    let text = |b: &Buf| {
        let bytes = std::mem::take(&mut *b.data.borrow_mut());
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    };
    let output = text(&out);
    let stderr = text(&err);
    let mut notes = Vec::new();
    for (i, &n) in report.output_dropped.iter().enumerate() {
        if n > 0 {
            notes.push(format!(
                "process {}: output over --max-output ({} bytes) was dropped: {n} bytes",
                labels.get(i).map_or("?", String::as_str),
                opts.max_output
            ));
        }
    }
    for (b, what) in [(&out, "stdout"), (&err, "stderr")] {
        if b.dropped.get() > 0 {
            notes.push(format!(
                "the world's {what} over {world_limit} bytes was dropped: {} bytes",
                b.dropped.get()
            ));
        }
    }
    let mut failures = Vec::new();
    let mut diffs = Vec::new();
    let mut blessed = Vec::new();
    let e = &sc.expect;

    // How the run ended.
    match (&report.end, e.deadlock) {
        (End::Deadlock(_), true) | (End::AllExited, false) => {}
        (End::Deadlock(w), false) => failures.push(format!("deadlock: {}", w.join("; "))),
        (End::AllExited, true) => {
            failures.push("expected a deadlock, but every process ended".into())
        }
        (End::Timeout, _) if o.timeout_is_success => {}
        (End::Timeout, _) => failures.push(format!(
            "guest-time limit ({} s) reached; still running: {}",
            o.timeout.unwrap_or(60.0),
            running(&report)
        )),
        (End::WallTimeout, _) => failures.push(format!(
            "wall-time limit ({} s) reached; still running: {}",
            o.wall_timeout.unwrap_or(60.0),
            running(&report)
        )),
        (End::Condition, _) => {}
        (End::Interrupted, _) => failures.push(format!(
            "the run was interrupted; still running: {}",
            running(&report)
        )),
    }
    if let Some(max) = e.max_time {
        let t = report.virtual_ns as f64 / 1e9;
        if t > max {
            failures.push(format!("guest time {t:.3} s is over max_time {max} s"));
        }
    }

    // Exit statuses and per-process output.
    // Processes that started late get their PIDs now.
    for (i, label) in labels.iter().enumerate() {
        if let Some(id) = world.guest(i) {
            pid_of.entry(label.clone()).or_insert(id.pid.0);
        }
    }
    for (i, ps) in sc.processes.iter().enumerate() {
        let label = &labels[i];
        let id = world.guest(i);
        let never = ipcemu_machine::ProcReport {
            name: format!("{label}, never started"),
            pid: 0,
            status: None,
        };
        let r = id
            .and_then(|id| report.procs.iter().find(|r| r.pid == id.pid.0))
            .unwrap_or(&never);
        let who = format!("process {label} ({}[{}])", r.name, r.pid);
        let want = ps.expect_exit.clone().unwrap_or(ExitExpect::Code(0));
        if let Some(problem) = want.check(r.status.as_ref()) {
            failures.push(format!("{who}: {problem}"));
        }
        if let Some(sink) = &trace {
            check_received(label, r.pid, ps, &sink.records(), &pid_of, &mut failures)
                .map_err(&invalid)?;
        }
        let got = world.with_kernel(|k| {
            id.and_then(|id| k.procs.get(id.proc.0))
                .map(|p| String::from_utf8_lossy(&p.output).into_owned())
                .unwrap_or_default()
        });
        check_text(
            &format!("{who} output"),
            &got,
            &ps.text_expect(),
            &dir,
            bless,
            &mut failures,
            &mut diffs,
            &mut blessed,
        );
    }
    check_text(
        "output",
        &output,
        &e.text_expect(),
        &dir,
        bless,
        &mut failures,
        &mut diffs,
        &mut blessed,
    );

    // Messages the host received.
    let got: Vec<Received> = world
        .host_received()
        .iter()
        .map(|m| Received {
            from_pid: m.from_pid,
            from: m.from_name.clone(),
            data: m.data.clone(),
        })
        .collect();
    check_messages(
        "host",
        "expect.host_received",
        &e.host_received,
        &got,
        &pid_of,
        &mut failures,
    )
    .map_err(&invalid)?;
    if let Some(h) = &sc.host {
        let sent = world.host_sent();
        for (i, s) in h.sends.iter().enumerate() {
            match sent.iter().find(|x| x.index == i) {
                None => failures.push(format!(
                    "host.send[{i}] never went out (its trigger never held)"
                )),
                Some(x) if x.code != 0 && s.expect_code.is_none() => {
                    failures.push(format!("host.send[{i}] failed with code {}", x.code))
                }
                Some(x) if s.expect_code.is_some_and(|c| c != x.code) => failures.push(format!(
                    "host.send[{i}]: code {} but expect_code {}",
                    x.code,
                    s.expect_code.unwrap_or(0)
                )),
                _ => {}
            }
        }
    }
    if !failures.is_empty() && !stderr.is_empty() {
        failures.push(format!("ipcemu reported:\n{}", indent(&stderr)));
    }
    Ok(Outcome {
        name,
        path: path.to_path_buf(),
        failures,
        diffs,
        blessed,
        virtual_ns: report.virtual_ns,
        wall: started.elapsed(),
        output,
        notes,
    })
}

/// A message as the expectations see it.
struct Received {
    /// Sender PID (0 for PC-IPC messages, whose senders are IDs).
    from_pid: u32,
    /// Sender's process name (or `PC-IPC id N`).
    from: String,
    data: Vec<u8>,
}

/// Messages delivered to one guest (KolibriOS deliveries, PC-IPC reads), from the trace.
fn check_received(
    label: &str,
    pid: u32,
    ps: &ProcessSpec,
    records: &[ipcemu_trace::Record],
    pid_of: &HashMap<String, u32>,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let payload_of: HashMap<u64, &str> = records
        .iter()
        .filter(|r| r.kind == Kind::Send && r.result == Some(0))
        .filter_map(|r| Some((r.msg?, r.payload.as_deref()?)))
        .collect();
    let got: Vec<Received> = records
        .iter()
        .filter_map(|r| match r.kind {
            // A KolibriOS send that delivered (it has the area offset), to this guest.
            Kind::Send if r.offset.is_some() && r.result == Some(0) => (r.peer_pid == Some(pid))
                .then(|| Received {
                    from_pid: r.pid,
                    from: r.name.clone(),
                    data: ipcemu_trace::unhex(r.payload.as_deref().unwrap_or("")),
                }),
            _ if r.pid != pid => None,
            Kind::Deliver => Some(Received {
                from_pid: r.peer_pid.unwrap_or(0),
                from: r.peer_name.clone().unwrap_or_default(),
                data: ipcemu_trace::unhex(payload_of.get(&r.msg?).copied().unwrap_or("")),
            }),
            Kind::PcCmd if matches!(r.cmd, Some(0x06) | Some(0x0A)) && r.msg.unwrap_or(0) != 0 => {
                Some(Received {
                    from_pid: 0,
                    from: format!("PC-IPC id {}", r.to_id.unwrap_or(0)),
                    data: ipcemu_trace::unhex(r.payload.as_deref().unwrap_or("")),
                })
            }
            _ => None,
        })
        .collect();
    let who = format!("process {label}");
    check_messages(
        &who,
        &format!("{who}: expect_received"),
        &ps.expect_received,
        &got,
        pid_of,
        failures,
    )
}

/// Check message expectations against what arrived; `who` starts each failure line, `what`
/// names the expectation list in errors about the scenario itself.
fn check_messages(
    who: &str,
    what: &str,
    specs: &[ReceivedSpec],
    got: &[Received],
    pid_of: &HashMap<String, u32>,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    for (i, rs) in specs.iter().enumerate() {
        let from_pid = match &rs.from {
            Some(l) => Some(
                *pid_of
                    .get(l)
                    .ok_or_else(|| format!("{what}[{i}]: no process labelled {l:?}"))?,
            ),
            None => None,
        };
        let want = rs.payload().map_err(|e| format!("{what}[{i}]: {e}"))?;
        let matching = got
            .iter()
            .filter(|m| from_pid.is_none_or(|p| m.from_pid == p))
            .filter(|m| match (&want, &rs.contains) {
                (Some(w), _) => &m.data == w,
                (None, Some(c)) => String::from_utf8_lossy(&m.data).contains(c.as_str()),
                (None, None) => true,
            })
            .count();
        if rs.count.map_or(matching >= 1, |n| matching == n) {
            continue;
        }
        let seen: Vec<String> = got
            .iter()
            .take(8)
            .map(|m| {
                format!(
                    "{}[{}] {:?}",
                    m.from,
                    m.from_pid,
                    String::from_utf8_lossy(&m.data)
                )
            })
            .collect();
        failures.push(format!(
            "{who}: expected {} message(s){}{}; got {matching} matching of {} received{}",
            rs.count.map_or("at least 1".to_string(), |n| n.to_string()),
            rs.from
                .as_ref()
                .map(|f| format!(" from {f}"))
                .unwrap_or_default(),
            match (&want, &rs.contains) {
                (Some(w), _) => format!(" equal to {:?}", String::from_utf8_lossy(w)),
                (None, Some(c)) => format!(" containing {c:?}"),
                _ => String::new(),
            },
            got.len(),
            if seen.is_empty() {
                String::new()
            } else {
                format!(" (first: {})", seen.join(", "))
            }
        ));
    }
    Ok(())
}

fn running(r: &ipcemu_machine::RunReport) -> String {
    r.procs
        .iter()
        .filter(|p| p.status.is_none())
        .map(|p| format!("{}[{}]", p.name, p.pid))
        .collect::<Vec<_>>()
        .join(", ")
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text expectations of one output stream.
#[derive(Debug, Default, Clone)]
pub(crate) struct TextExpect {
    exact: Option<String>,
    contains: Vec<String>,
    not_contains: Vec<String>,
    regex: Vec<String>,
    file: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn check_text(
    what: &str,
    got: &str,
    t: &TextExpect,
    dir: &Path,
    bless: bool,
    failures: &mut Vec<String>,
    diffs: &mut Vec<String>,
    blessed: &mut Vec<PathBuf>,
) {
    if let Some(want) = &t.exact {
        if got != want {
            failures.push(format!("{what} differs from the expected text"));
            diffs.push(diff(what, want, got));
        }
    }
    if let Some(f) = &t.file {
        let p = dir.join(f);
        let want = std::fs::read_to_string(&p).ok();
        if want.as_deref() != Some(got) {
            if bless {
                match std::fs::write(&p, got) {
                    Ok(()) => blessed.push(p),
                    Err(e) => failures.push(format!("{what}: cannot bless {}: {e}", p.display())),
                }
            } else {
                match &want {
                    Some(w) => {
                        failures.push(format!(
                            "{what} differs from {} (run with --bless to accept)",
                            p.display()
                        ));
                        diffs.push(diff(&p.display().to_string(), w, got));
                    }
                    None => failures.push(format!(
                        "{what}: reference {} is missing (run with --bless)",
                        p.display()
                    )),
                }
            }
        }
    }
    for c in &t.contains {
        if !got.contains(c.as_str()) {
            failures.push(format!("{what} does not contain {c:?}"));
        }
    }
    for c in &t.not_contains {
        if let Some(line) = got.lines().find(|l| l.contains(c.as_str())) {
            failures.push(format!("{what} contains {c:?}: {line:?}"));
        }
    }
    for r in &t.regex {
        match regex::Regex::new(&format!("(?m){r}")) {
            Ok(re) if re.is_match(got) => {}
            Ok(_) => failures.push(format!("{what} does not match /{r}/")),
            Err(e) => failures.push(format!("{what}: bad regex /{r}/: {e}")),
        }
    }
}

fn diff(name: &str, want: &str, got: &str) -> String {
    similar::TextDiff::from_lines(want, got)
        .unified_diff()
        .context_radius(3)
        .header(&format!("expected ({name})"), "actual")
        .to_string()
}
