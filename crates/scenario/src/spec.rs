//! The scenario file format (see `docs/scenarios.md`). Unknown keys are errors that name the
//! key and its line.

use crate::TextExpect;
use ipcemu_kernel::ExitStatus;
use serde::{Deserialize, Deserializer};

/// A number of seconds, checked as the command line checks `--timeout`: NaN, negative,
/// infinite and values past the nanosecond clock are errors that toml reports with the
/// value's line and column.
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct Secs;
    impl serde::de::Visitor<'_> for Secs {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a number of seconds")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
    }
    let v = d.deserialize_any(Secs)?;
    ipcemu_machine::seconds(v).map_err(serde::de::Error::custom)?;
    Ok(Some(v))
}

/// A scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name shown in reports (default: the file name).
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// World options.
    #[serde(default)]
    pub options: Options,
    /// Guest processes, started in this order.
    #[serde(rename = "process", default)]
    pub processes: Vec<ProcessSpec>,
    /// The host actor.
    pub host: Option<HostSpec>,
    /// KolibriOS input and screenshots at guest times (`[[input]]`).
    #[serde(rename = "input", default)]
    pub inputs: Vec<InputSpec>,
    /// What must hold after the run.
    #[serde(default)]
    pub expect: Expect,
}

/// `[options]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Guest-time limit in seconds (default 60).
    #[serde(default, deserialize_with = "seconds")]
    pub timeout: Option<f64>,
    /// Wall-time limit in seconds (default 60).
    #[serde(default, deserialize_with = "seconds")]
    pub wall_timeout: Option<f64>,
    /// System calls per time slice.
    pub quantum: Option<u32>,
    /// Unknown functions fault.
    #[serde(default)]
    pub strict: bool,
    /// PC-IPC vector.
    pub pcipc_vector: Option<u8>,
    /// PC-IPC ID pool size.
    pub pcipc_ids: Option<u16>,
    /// PC-IPC message space.
    pub pcipc_space: Option<u16>,
    /// PC-IPC starts installed (the default; kept for older files).
    #[serde(default)]
    pub pcipc_preinstalled: bool,
    /// PC-IPC starts not installed: programs install (04h) and enable it themselves.
    #[serde(default)]
    pub pcipc_not_installed: bool,
    /// PC-IPC refuses calls with another process's ID (07h).
    #[serde(default)]
    pub pcipc_own_ids: bool,
    /// KasperskyOS-style init file (`init.yaml` shape), relative to the scenario file.
    pub kos_init: Option<String>,
    /// KasperskyOS-style connections `CLIENT:ID=SERVER` (the host actor is the entity `host`,
    /// or its `[host] name`).
    #[serde(default)]
    pub kos_connect: Vec<String>,
    /// KolibriOS file-system root (`--root`), a folder relative to the scenario file.
    pub root: Option<String>,
    /// Refuse every write through `root` (`--root-ro`): scenarios that must not change the
    /// files they ship should set it.
    #[serde(default)]
    pub root_ro: bool,
    /// Security-module policy file (TOML), relative to the scenario file.
    pub policy: Option<String>,
    /// End the run when the process with this label ends (servers that run for ever: give
    /// them `expect_exit = "running"`).
    pub stop_when_ended: Option<String>,
    /// A run that reaches `timeout` passes (if its other expectations hold) instead of failing:
    /// for worlds of servers that never end.
    #[serde(default)]
    pub timeout_is_success: bool,
}

/// Expected exit status: a code, or `"fault"`, `"killed"`, `"running"` (did not end), `"any"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ExitExpect {
    /// Normal end with this code.
    Code(i32),
    /// A word.
    Word(String),
}

impl ExitExpect {
    /// `None` when the status matches, else what is wrong.
    pub fn check(&self, got: Option<&ExitStatus>) -> Option<String> {
        let desc = match got {
            None => "still running".to_string(),
            Some(ExitStatus::Normal(c)) => format!("exit code {c}"),
            Some(ExitStatus::Killed) => "killed".to_string(),
            Some(ExitStatus::Fault(f)) => format!("fault: {}", f.fault),
        };
        let ok = match (self, got) {
            (ExitExpect::Code(c), Some(ExitStatus::Normal(g))) => c == g,
            (ExitExpect::Word(w), g) => match w.as_str() {
                "any" => true,
                "fault" => matches!(g, Some(ExitStatus::Fault(_))),
                "killed" => matches!(g, Some(ExitStatus::Killed)),
                "running" => g.is_none(),
                _ => false,
            },
            _ => false,
        };
        (!ok).then(|| {
            let want = match self {
                ExitExpect::Code(c) => format!("exit code {c}"),
                ExitExpect::Word(w) => w.clone(),
            };
            format!("expected {want}, got {desc}")
        })
    }
}

/// `[[process]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Image path, relative to the scenario file.
    pub image: String,
    /// Label used elsewhere in the scenario (default: the image's file stem; repeated stems
    /// get `.2`, `.3`, ...).
    pub label: Option<String>,
    /// Command line.
    pub params: Option<String>,
    /// Start the process once this many seconds of guest time have passed (default: at once).
    /// Until then it has no slot and no PID.
    #[serde(default, deserialize_with = "seconds")]
    pub start_at: Option<f64>,
    /// Expected exit status (default 0).
    pub expect_exit: Option<ExitExpect>,
    /// This process's exact output.
    pub expect_output: Option<String>,
    /// Lines/text its output must contain.
    #[serde(default)]
    pub expect_output_contains: Vec<String>,
    /// Text its output must not contain.
    #[serde(default)]
    pub expect_output_not_contains: Vec<String>,
    /// Regexes (multi-line mode) its output must match.
    #[serde(default)]
    pub expect_output_regex: Vec<String>,
    /// Reference transcript of its output, relative to the scenario (`--bless` writes it).
    pub expect_output_file: Option<String>,
    /// Messages this process must have received (`[[process.expect_received]]`).
    #[serde(default)]
    pub expect_received: Vec<ReceivedSpec>,
}

impl ProcessSpec {
    pub(crate) fn text_expect(&self) -> TextExpect {
        TextExpect {
            exact: self.expect_output.clone(),
            contains: self.expect_output_contains.clone(),
            not_contains: self.expect_output_not_contains.clone(),
            regex: self.expect_output_regex.clone(),
            file: self.expect_output_file.clone(),
        }
    }
}

/// `[[input]]`: one of `keys`, `button`, `mouse`, `screenshot` for a KolibriOS process at a
/// guest time (as `--keys`, `--button`, `--mouse`, `--screenshot`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// The process's label.
    pub to: String,
    /// Guest time in seconds (default 0).
    #[serde(default, deserialize_with = "seconds")]
    pub at: Option<f64>,
    /// Keys to type (TOML escapes apply; `"\n"`... see `--keys`: a newline is Enter).
    pub keys: Option<String>,
    /// Press the button with this identifier (defined with function 8).
    pub button: Option<u32>,
    /// Move the mouse: `[x, y]` or `[x, y, buttons]` (screen coordinates).
    pub mouse: Option<Vec<u32>>,
    /// Write the process's window as a PNG file (relative to the scenario file).
    pub screenshot: Option<String>,
}

/// `[host]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Process name guests see in function 9 (default `host`).
    pub name: Option<String>,
    /// Size of its KolibriOS IPC area (default 4096).
    pub area: Option<u32>,
    /// Take a PC-IPC ID once PC-IPC is installed (needed to receive PC-IPC messages).
    #[serde(default)]
    pub pcipc: bool,
    /// Messages to send.
    #[serde(rename = "send", default)]
    pub sends: Vec<HostSendSpec>,
}

/// `[[host.send]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSendSpec {
    /// Receiver by process label (KolibriOS function 60).
    pub to: Option<String>,
    /// Receiver by PID (KolibriOS function 60).
    pub to_pid: Option<u32>,
    /// Receiver by PC-IPC ID.
    pub to_id: Option<u16>,
    /// The personality a `to`/`to_pid` send goes through: `kolibri` (function 60, the default)
    /// or `kos` (a `Call` to that entity's connection, or the `Reply` it waits for).
    pub via: Option<String>,
    /// Payload as text (TOML escapes apply).
    pub text: Option<String>,
    /// Payload as hex bytes (`"01 02 ff"` or `"0102ff"`).
    pub hex: Option<String>,
    /// Send at this guest time (seconds).
    #[serde(default, deserialize_with = "seconds")]
    pub at: Option<f64>,
    /// Send once this process has set its IPC area.
    pub when_area_set: Option<String>,
    /// Send once this text has appeared in the output (of `when_output_of`, or anyone's).
    pub when_output: Option<String>,
    /// Whose output `when_output` watches.
    pub when_output_of: Option<String>,
    /// Send once the host has received this many messages.
    pub when_received: Option<usize>,
    /// Retry while the receiver is not ready (default true).
    pub retry: Option<bool>,
    /// The result code this send must end with (default 0 = delivered).
    pub expect_code: Option<u32>,
}

impl HostSendSpec {
    pub(crate) fn payload(&self) -> Result<Vec<u8>, String> {
        payload(&self.text, &self.hex)?.ok_or_else(|| "give text or hex".to_string())
    }
}

/// `[[expect.host_received]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedSpec {
    /// Sender's process label.
    pub from: Option<String>,
    /// Exact payload as text.
    pub text: Option<String>,
    /// Exact payload as hex.
    pub hex: Option<String>,
    /// Payload contains this text.
    pub contains: Option<String>,
    /// Exactly this many matching messages (default: at least one).
    pub count: Option<usize>,
}

impl ReceivedSpec {
    pub(crate) fn payload(&self) -> Result<Option<Vec<u8>>, String> {
        payload(&self.text, &self.hex)
    }
}

/// `[expect]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The whole output of the world, exactly.
    pub output: Option<String>,
    /// Text the whole output must contain.
    #[serde(default)]
    pub output_contains: Vec<String>,
    /// Text it must not contain (e.g. `"FAIL"`).
    #[serde(default)]
    pub output_not_contains: Vec<String>,
    /// Regexes (multi-line mode) it must match.
    #[serde(default)]
    pub output_regex: Vec<String>,
    /// Reference transcript of the whole output (`--bless` writes it).
    pub output_file: Option<String>,
    /// The run must end in a deadlock (default: a deadlock fails the scenario).
    #[serde(default)]
    pub deadlock: bool,
    /// Guest time at the end must not exceed this (seconds).
    #[serde(default, deserialize_with = "seconds")]
    pub max_time: Option<f64>,
    /// Messages the host actor must have received.
    #[serde(default)]
    pub host_received: Vec<ReceivedSpec>,
}

impl Expect {
    pub(crate) fn text_expect(&self) -> TextExpect {
        TextExpect {
            exact: self.output.clone(),
            contains: self.output_contains.clone(),
            not_contains: self.output_not_contains.clone(),
            regex: self.output_regex.clone(),
            file: self.output_file.clone(),
        }
    }
}

fn payload(text: &Option<String>, hex: &Option<String>) -> Result<Option<Vec<u8>>, String> {
    match (text, hex) {
        (Some(_), Some(_)) => Err("give text or hex, not both".into()),
        (Some(t), None) => Ok(Some(t.as_bytes().to_vec())),
        (None, Some(h)) => {
            let digits: String = h.chars().filter(|c| !c.is_whitespace()).collect();
            if !digits.len().is_multiple_of(2) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("hex {h:?} is not whole hex bytes"));
            }
            Ok(Some(
                (0..digits.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or(0))
                    .collect(),
            ))
        }
        (None, None) => Ok(None),
    }
}

impl Scenario {
    /// Labels of the processes, in order.
    pub fn labels(&self) -> Vec<String> {
        let mut seen: std::collections::HashMap<String, usize> = Default::default();
        self.processes
            .iter()
            .map(|p| {
                let base = p.label.clone().unwrap_or_else(|| {
                    let f = p.image.rsplit(['/', '\\']).next().unwrap_or(&p.image);
                    f.rsplit_once('.').map_or(f, |(s, _)| s).to_string()
                });
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                if *n == 1 || p.label.is_some() {
                    base
                } else {
                    format!("{base}.{n}")
                }
            })
            .collect()
    }

    /// Checks that need the whole file.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.processes.is_empty() {
            return Err("a scenario needs at least one [[process]]".into());
        }
        let labels = self.labels();
        let mut uniq = std::collections::HashSet::new();
        for l in &labels {
            if !uniq.insert(l) {
                return Err(format!(
                    "two processes are labelled {l:?}; give them distinct labels"
                ));
            }
            if l == "host" {
                return Err("the label \"host\" is the host actor's".into());
            }
        }
        for (l, p) in labels.iter().zip(&self.processes) {
            if let Some(ExitExpect::Word(w)) = &p.expect_exit {
                if !["any", "fault", "killed", "running"].contains(&w.as_str()) {
                    return Err(format!(
                        "process {l}: expect_exit = {w:?} (use a number, \"fault\", \"killed\", \"running\" or \"any\")"
                    ));
                }
            }
        }
        for (i, s) in self.host.iter().flat_map(|h| h.sends.iter()).enumerate() {
            s.payload().map_err(|e| format!("host.send[{i}]: {e}"))?;
        }
        for (l, p) in labels.iter().zip(&self.processes) {
            for (i, r) in p.expect_received.iter().enumerate() {
                r.payload()
                    .map_err(|e| format!("process {l}: expect_received[{i}]: {e}"))?;
            }
        }
        for (i, r) in self.expect.host_received.iter().enumerate() {
            r.payload()
                .map_err(|e| format!("expect.host_received[{i}]: {e}"))?;
        }
        Ok(())
    }
}
