//! `ipcemu`: run 32-bit guest programs side by side with the IPC of their operating systems.

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use ipcemu_kernel::{Config, ExitStatus};
use ipcemu_machine::{End, GuestSpec, StopHandle, WorldConfig};
use ipcemu_registry::{PcIpcConfig, Personalities};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Exit status: a guest faulted or was killed.
const EXIT_GUEST_FAILED: u8 = 1;
/// Exit status: bad command line or a guest image that cannot be loaded.
const EXIT_USAGE: u8 = 2;
/// Exit status: deadlock.
const EXIT_DEADLOCK: u8 = 3;
/// Exit status: a time limit passed.
const EXIT_TIMEOUT: u8 = 4;
/// Exit status: stdout or stderr was closed by its reader (`| head -1`), as a shell reports a
/// process ended by SIGPIPE (128 + 13). ipcemu ignores SIGPIPE and stops quietly instead.
const EXIT_CLOSED_OUTPUT: u8 = 141;
/// Exit statuses after SIGINT and SIGTERM end a run: 128 + the signal's number.
const EXIT_SIGNAL_BASE: u8 = 128;

/// Set once a write to stdout or stderr found its reader gone.
static OUTPUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first SIGINT/SIGTERM received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Stops the running world (set once the world exists).
static STOP: OnceLock<StopHandle> = OnceLock::new();

/// The reader of stdout or stderr has gone: stop the run (the caller then exits with 141).
fn output_closed() {
    OUTPUT_CLOSED.store(true, Ordering::SeqCst);
    if let Some(s) = STOP.get() {
        s.stop();
    }
}

/// A writer that notices when its reader has gone (`EPIPE`) and stops the run.
struct Watched<W>(W);

impl<W: Write> Write for Watched<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.write(b).inspect_err(watch)
    }
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.0.write_all(b).inspect_err(watch)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush().inspect_err(watch)
    }
}

fn watch(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        output_closed();
    }
}

/// Print to stdout; when its reader has gone, exit at once with 141 (for `test` and
/// `trace summary`, which have nothing left to finish).
macro_rules! say {
    ($($t:tt)*) => {{
        let mut o = std::io::stdout().lock();
        if let Err(e) = writeln!(o, $($t)*) {
            closed_stdout_exit(&e);
        }
    }};
}

/// A diff line for a terminal: removed lines red, added green, hunk headers cyan, and
/// whitespace made visible (tabs `→`, carriage returns `␍`, trailing blanks `·`).
fn paint_diff_line(l: &str) -> String {
    let body = l.trim_end_matches(' ');
    let trailing = l.len() - body.len();
    let mut v = body.replace('\t', "→").replace('\r', "␍");
    v.push_str(&"·".repeat(trailing));
    let code = match l.as_bytes().first() {
        Some(b'-') => "31",
        Some(b'+') => "32",
        Some(b'@') => "36",
        _ => return v,
    };
    format!("\x1b[{code}m{v}\x1b[0m")
}

/// Write bytes to stdout (a closed stdout ends quietly like `say!`).
fn say_bytes(b: &[u8]) {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(b).and_then(|()| o.flush()) {
        closed_stdout_exit(&e);
    }
}

fn closed_stdout_exit(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(EXIT_CLOSED_OUTPUT.into());
    }
}

/// Catch SIGINT and SIGTERM: the first stops the run (which then finishes its traces and
/// reports); a second one exits at once. signal-hook rather than ctrlc: the exit status must
/// tell SIGINT (130) from SIGTERM (143), and ctrlc maps both to one handler without the number.
fn catch_signals() -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .context("cannot install the SIGINT/SIGTERM handlers")?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                SIGNAL.store(sig, Ordering::SeqCst);
            }
            loop {
                // Unicorn forgets a stop that arrives just before an instance starts: repeat it
                // until the run has returned (the process exits then).
                if let Some(s) = STOP.get() {
                    s.stop();
                }
                if let Some(sig) = signals.pending().next() {
                    std::process::exit(i32::from(EXIT_SIGNAL_BASE) + sig);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

#[derive(Parser)]
#[command(
    name = "ipcemu",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("IPCEMU_COMMIT"), ")"),
    about = "Run unmodified 32-bit guest programs side by side and give them the IPC of their OS",
    long_about = "ipcemu is an i386 user-mode emulator (Unicorn) with one host-side IPC kernel.\n\
        KolibriOS programs (MENUET01 images) get int 0x40, including function 60 IPC, events,\n\
        threads and the debug board; static ELF32 programs get a small int 0x80 subset\n\
        (write, exit) and may use int 0x40 as well; DOS .COM programs run in real mode with\n\
        INT 20h and a small INT 21h subset. Every guest can use PC-IPC (INT 60h by default).",
    after_help = "Exit status: 0 every guest ended normally; 1 a guest faulted or was killed;\n\
        2 bad arguments or an image that cannot be loaded; 3 deadlock; 4 a time limit passed;\n\
        130/143 stopped by SIGINT/SIGTERM; 141 stdout or stderr was closed by its reader."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start each guest as its own process, in the order given, and run them together.
    #[command(after_help = "Examples:\n  \
        ipcemu run fixtures/kolibri/echo_srv.kex fixtures/kolibri/echo_cli.kex\n  \
        ipcemu run srv.kex cli.kex --params 2=1000        # command line of the 2nd guest\n  \
        ipcemu run srv.kex cli.kex --params cli.kex=1000  # the same, by file name\n  \
        ipcemu run a.kex b.kex | grep PASS                # debug-board output is plain stdout\n  \
        ipcemu run --timeout 10 --wall-timeout 60 loop.kex\n  \
        ipcemu run fixtures/dos/pcsrv.com fixtures/dos/pccli.com     # DOS guests over PC-IPC\n  \
        ipcemu run --pcipc-vector 0x61 fixtures/dos/pcver61.com\n\n\
        Debug-board bytes (function 63.1) and ELF writes to fd 1 go to stdout exactly as\n\
        written; writes to fd 2 and every ipcemu report go to stderr. Time is virtual by\n\
        default: a guest that sleeps 10 s finishes at once, and the same guests and options\n\
        give the same output on every run.\n\n\
        Exit status: 0 every guest ended normally; 1 a guest faulted or was killed;\n\
        2 bad arguments or image; 3 deadlock; 4 a time limit passed (a fault wins);\n\
        130/143 stopped by SIGINT/SIGTERM (a second one exits at once); 141 stdout or\n\
        stderr was closed by its reader (`| head -1`).")]
    Run(Box<RunArgs>),
    /// Run scenario files (TOML; see docs/scenarios.md) or every *.toml under folders, and check
    /// their expectations. One line per scenario, a diff for each failure.
    #[command(after_help = "Examples:\n  \
        ipcemu test fixtures/scenarios\n  \
        ipcemu test my.toml --bless            # accept the current output as the reference\n  \
        ipcemu test fixtures/scenarios -j 2 --junit results.xml\n\n\
        Exit status: 0 when every scenario passed, 1 when any failed, 2 when a file is invalid\n\
        or a scenario could not be run to its end; 141 stdout was closed by its reader.")]
    Test(TestArgs),
    /// Work with trace files written by `ipcemu run --trace`.
    #[command(subcommand)]
    Trace(TraceCmd),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell), e.g.
    /// `ipcemu completions bash > ~/.local/share/bash-completion/completions/ipcemu`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `ipcemu man > ipcemu.1; man ./ipcemu.1`.
    Man,
}

#[derive(Args)]
struct TestArgs {
    /// Scenario files, or folders searched for *.toml.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    /// Rewrite reference transcripts (expect_output_file / output_file) with the actual output.
    #[arg(long)]
    bless: bool,
    /// Also write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<String>,
    /// Scenarios run at the same time (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Output kept per process (bytes, or with a K, M or G suffix: binary units); the rest is
    /// counted, dropped and reported.
    #[arg(long, value_name = "BYTES", default_value = "16M", value_parser = parse_bytes)]
    max_output: usize,
    /// Print the scenario files that would run (after -k and --partition), one per line, and
    /// run nothing.
    #[arg(long)]
    list: bool,
    /// Run only the files whose path contains PATTERN (repeatable: any of them).
    #[arg(short = 'k', value_name = "PATTERN")]
    filter: Vec<String>,
    /// Run part K of N (1 <= K <= N): a stable split by file path, so N machines of any CI
    /// engine (a matrix, `parallel`) with --partition 1/N ... N/N run every file exactly once.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    partition: Option<(usize, usize)>,
}

/// `K/N` with 1 <= K <= N.
fn parse_partition(s: &str) -> std::result::Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected K/N, e.g. 2/3"))?;
    let (k, n): (usize, usize) = (
        k.trim()
            .parse()
            .map_err(|_| format!("{s:?}: K is not a number"))?,
        n.trim()
            .parse()
            .map_err(|_| format!("{s:?}: N is not a number"))?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(format!("{s:?}: need 1 <= K <= N"));
    }
    Ok((k, n))
}

/// Which part of `--partition K/N` a file belongs to: a hash of its path (FNV-1a), so the
/// split does not depend on which other files exist or on their order.
fn partition_of(path: &std::path::Path, n: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.to_string_lossy().replace('\\', "/").bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % n as u64) as usize + 1
}

#[derive(Subcommand)]
enum TraceCmd {
    /// Per sender -> receiver message counts, bytes and result codes, and the longest waits,
    /// from a JSONL trace (`ipcemu run --trace t.jsonl --trace-format jsonl ...`).
    Summary {
        /// The JSONL trace file.
        file: String,
        /// Print the summary as one JSON object (pairs, longest waits) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite a JSONL trace in another format: `ipcemu trace convert t.jsonl t.json` (the
    /// format follows OUT's extension: .json Chrome/Perfetto, .jsonl JSONL, else text).
    Convert {
        /// The JSONL trace file.
        input: String,
        /// Where to write.
        output: String,
        /// Output format (default: from OUT's extension).
        #[arg(long, value_name = "FORMAT")]
        format: Option<ipcemu_trace::Format>,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Guest executables (MENUET00/01/02, static ELF32 i386, PE32 i386 .exe, or DOS .COM by extension).
    #[arg(required = true, value_name = "GUEST")]
    guests: Vec<String>,
    /// Command line for one guest: N=TEXT, where N is its 1-based position or its file name
    /// (repeatable).
    #[arg(long, value_name = "N=TEXT")]
    params: Vec<String>,
    /// Make unknown system functions a guest fault instead of returning -1.
    #[arg(long)]
    strict: bool,
    /// KolibriOS file system (functions 70, 80, 68.27/28): the host folder DIR is the namespace
    /// (/sys and /rd/1 are DIR/rd/1, /tmp0/1 is DIR/tmp0/1, ...); no path leads out of it.
    /// Without it every file is missing (error 5).
    #[arg(long, value_name = "DIR")]
    root: Option<std::path::PathBuf>,
    /// Refuse every write through --root (error 10, access denied).
    #[arg(long, requires = "root")]
    root_ro: bool,
    /// Stop after this many seconds of guest (virtual) time.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_hyphen_values = true)]
    timeout: Option<Duration>,
    /// Stop after this many seconds of host wall time.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, allow_hyphen_values = true)]
    wall_timeout: Option<Duration>,
    /// Use the host's clock for guest time (sleeps really sleep).
    #[arg(long)]
    realtime: bool,
    /// System calls a thread may make before others get the CPU.
    #[arg(long, value_name = "N", default_value_t = Config::default().quantum_traps)]
    quantum: u32,
    /// Highest task slot (KolibriOS has 255; slots 1 and 2 are the kernel's, programs start at
    /// 3); raise it for worlds of more processes (3..=65535).
    #[arg(long, value_name = "N", default_value_t = ipcemu_kernel::MAX_SLOTS,
          value_parser = clap::value_parser!(u16).range(3..))]
    max_slots: u16,
    /// Guest memory one process may map (bytes, or K, M, G); a program that declares or asks
    /// for more gets a load error or a failed allocation. Default: 4 GiB (no limit)
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    max_memory: Option<usize>,
    /// Guest memory all processes together may map (bytes, or K, M, G). Default: no limit
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    max_world_memory: Option<usize>,
    /// Print a summary (processes, system calls, virtual and wall time) on stderr.
    #[arg(long)]
    stats: bool,
    /// Interrupt vector of PC-IPC (0x00-0xFF, decimal or 0x..); 0x20, 0x21, 0x40, 0x80 are taken.
    #[arg(long, value_name = "N", default_value = "0x60", value_parser = parse_vector)]
    pcipc_vector: u8,
    /// PC-IPC IDs that request-ID hands out (1..=N).
    #[arg(long, value_name = "N", default_value_t = PcIpcConfig::default().ids)]
    pcipc_ids: u16,
    /// PC-IPC message pool size in bytes (at most 65535; each message costs its size + 8).
    #[arg(long, value_name = "BYTES", default_value_t = PcIpcConfig::default().space)]
    pcipc_space: u16,
    /// Start PC-IPC installed and enabled, as if ID 0 had called install (04h): the default
    /// (kept so older command lines still work).
    #[arg(long, conflicts_with = "pcipc_not_installed")]
    pcipc_preinstalled: bool,
    /// Start PC-IPC not installed: programs install (04h) and enable it themselves, as on a
    /// machine where the TSR was loaded but never set up.
    #[arg(long)]
    pcipc_not_installed: bool,
    /// Start guest N (1-based position) once SECONDS of guest time have passed; until then it
    /// has no slot and no PID (repeatable)
    #[arg(long, value_name = "N=SECONDS")]
    start_at: Vec<String>,
    /// KolibriOS: type TEXT into guest N's window at SECONDS of guest time (function 2; `\n`
    /// is Enter); repeatable
    #[arg(long, value_name = "N=TEXT@SECONDS")]
    keys: Vec<String>,
    /// KolibriOS: press guest N's button ID (defined with function 8) at SECONDS (function 17);
    /// repeatable
    #[arg(long, value_name = "N=ID@SECONDS")]
    button: Vec<String>,
    /// KolibriOS: move the mouse to X,Y (screen) with BUTTONS held (bit 0 left) at SECONDS:
    /// event 6 for guest N, function 37; repeatable
    #[arg(long, value_name = "N=X,Y[,BUTTONS]@SECONDS")]
    mouse: Vec<String>,
    /// KolibriOS: write guest N's window as a PNG file at SECONDS of guest time; repeatable
    #[arg(long, value_name = "N=FILE.png@SECONDS")]
    screenshot: Vec<String>,
    /// Refuse (error 07h) a PC-IPC call whose caller ID another process got from request-ID
    /// (the TSR had no such check)
    #[arg(long)]
    pcipc_own_ids: bool,
    /// KasperskyOS-style entities and connections, in the shape of KasperskyOS's init.yaml
    /// (docs/kos.md).
    #[arg(long, value_name = "FILE")]
    kos_init: Option<String>,
    /// A KasperskyOS-style connection: CLIENT:ID=SERVER (entity names are file stems;
    /// repeatable).
    #[arg(long, value_name = "CLIENT:ID=SERVER")]
    kos_connect: Vec<String>,
    /// Security-module policy for KasperskyOS-style messages (TOML, docs/kos.md). Without it
    /// every message is allowed.
    #[arg(long, value_name = "FILE")]
    policy: Option<String>,
    /// Write a trace of every IPC record to FILE (`-` = stderr).
    #[arg(long, value_name = "FILE")]
    trace: Option<String>,
    /// Trace format: text (aligned lines), jsonl (schema in docs/trace-format.md), chrome
    /// (Chrome Trace Event JSON for ui.perfetto.dev and chrome://tracing). Default: from the
    /// file's extension (.jsonl: jsonl, .json: chrome, anything else and `-`: text).
    #[arg(long, value_name = "FORMAT")]
    trace_format: Option<ipcemu_trace::Format>,
    /// Bytes of each payload shown in text traces.
    #[arg(long, value_name = "N", default_value_t = 32)]
    trace_payload: usize,
    /// Win32 shared memory: at each SetEvent/PulseEvent/ReleaseMutex, record the first N bytes
    /// of every view of a file mapping the signalling process created (w32_view records).
    #[arg(long, value_name = "N", default_value_t = 0)]
    trace_views: usize,
    /// Log every system call of every guest, like strace -f: guest time, name[pid], the call
    /// with its arguments and its result; to stderr, or to FILE with --strace=FILE
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "-"
    )]
    strace: Option<String>,
    /// Serve guest N (1-based position) to GDB on 127.0.0.1:PORT before the run (`N` alone: a
    /// free port, printed); the world stays stopped while GDB has the guest stopped.
    /// `gdb -ex 'target remote :PORT'`; repeatable, one GDB per guest (docs/debugging.md)
    #[arg(long, value_name = "N[=PORT]")]
    gdb: Vec<String>,
    /// Write the basic blocks guest N executed to FILE in drcov format (Lighthouse, lcov
    /// converters); repeatable
    #[arg(long, value_name = "N=FILE")]
    coverage: Vec<String>,
    /// Keep only these system calls in --strace: comma-separated personality names (kolibri,
    /// elf, dos, pcipc, kos, win32) or parts of call names (ipc_send, CreateEvent)
    #[arg(long, value_name = "TERMS")]
    strace_filter: Option<String>,
    /// Keep only matching records: comma-separated key=value[|value] terms, all must match;
    /// keys pid, name, pers (kolibri, elf, dos, pcipc), kind (send, deliver, event, event_read,
    /// wait, wake, ipc_area, pc_cmd, proc_start, proc_end, ...).
    #[arg(long, value_name = "FILTER")]
    trace_filter: Option<String>,
}

/// `--timeout`/`--wall-timeout`: seconds the nanosecond clock can hold.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    ipcemu_machine::seconds(v).map_err(|e| e.to_string())
}

/// `--max-output`: bytes, with an optional K, M or G suffix (binary units).
fn parse_bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (digits, mul) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1usize << 10),
        Some((i, 'm' | 'M')) => (&t[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&t[..i], 1 << 30),
        _ => (t, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| format!("{s:?} is not a byte count (like 65536, 64K or 16M)"))
}

fn parse_vector(s: &str) -> Result<u8, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u8::from_str_radix(h, 16),
        None => s.parse::<u8>(),
    };
    r.map_err(|_| format!("{s:?} is not a vector 0x00-0xFF"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Run(args) => run(*args),
        Cmd::Trace(TraceCmd::Summary { file, json }) => trace_summary(&file, json),
        Cmd::Trace(TraceCmd::Convert {
            input,
            output,
            format,
        }) => trace_convert(&input, &output, format),
        Cmd::Test(args) => test(args),
        Cmd::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            let _ = clap_mangen::Man::new(Cli::command()).render(&mut out);
            say_bytes(&out);
            Ok(0)
        }
        Cmd::Completions { shell } => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ipcemu", &mut out);
            say_bytes(&out);
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(_) if OUTPUT_CLOSED.load(Ordering::SeqCst) => ExitCode::from(EXIT_CLOSED_OUTPUT),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "ipcemu: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Developer logs (RUST_LOG, default warn) on stderr, plus the trace layer when asked for.
fn init_logging(trace: Option<ipcemu_trace::TraceLayer>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let mut env = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let asked = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("ipcemu::trace"));
    if !asked {
        if let Ok(d) = "ipcemu::trace=off".parse() {
            env = env.add_directive(d);
        }
    }
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(env);
    let trace = trace.map(|t| t.with_filter(ipcemu_trace::only_trace_records::<()>()));
    tracing_subscriber::registry().with(fmt).with(trace).init();
}

fn trace_summary(file: &str, json: bool) -> Result<u8> {
    init_logging(None);
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read trace {file}"))?;
    let sum = ipcemu_trace::summarize(&text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let s = if json { sum.json() } else { sum.text() };
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(s.as_bytes()).and_then(|_| o.flush()) {
        closed_stdout_exit(&e);
        return Err(e).context("writing the summary");
    }
    Ok(0)
}

fn params_for(args: &RunArgs) -> Result<Vec<Option<String>>> {
    let mut out = vec![None; args.guests.len()];
    for p in &args.params {
        let Some((key, text)) = p.split_once('=') else {
            bail!("--params {p:?}: expected N=TEXT (N = guest position or file name)");
        };
        let idx = match key.parse::<usize>() {
            Ok(n) if (1..=args.guests.len()).contains(&n) => n - 1,
            Ok(n) => bail!("--params {p:?}: there is no guest number {n}"),
            Err(_) => {
                let hits: Vec<usize> = (0..args.guests.len())
                    .filter(|&i| {
                        let g = &args.guests[i];
                        g == key || g.rsplit(['/', '\\']).next() == Some(key)
                    })
                    .collect();
                match hits[..] {
                    [i] => i,
                    [] => bail!("--params {p:?}: no guest is named {key:?}"),
                    _ => bail!("--params {p:?}: several guests are named {key:?}; use a position"),
                }
            }
        };
        out[idx] = Some(text.to_string());
    }
    Ok(out)
}

/// `--start-at N=SECONDS` for each guest (N is its 1-based position, as for `--gdb`).
fn start_times(args: &RunArgs) -> Result<Vec<Option<Duration>>> {
    let mut out = vec![None; args.guests.len()];
    for a in &args.start_at {
        let (n, secs) = a
            .split_once('=')
            .with_context(|| format!("--start-at {a}: expected N=SECONDS"))?;
        let n: usize = n
            .trim()
            .parse()
            .ok()
            .filter(|&n| n >= 1 && n <= args.guests.len())
            .with_context(|| {
                format!(
                    "--start-at {a}: N is a guest's position, 1..={}",
                    args.guests.len()
                )
            })?;
        let at = parse_seconds(secs).map_err(|e| anyhow::anyhow!("--start-at {a}: {e}"))?;
        if out[n - 1].replace(at).is_some() {
            bail!("--start-at {a}: guest {n} already has a start time");
        }
    }
    Ok(out)
}

/// `--keys`, `--button`, `--mouse`, `--screenshot`: `N=VALUE@SECONDS`, run at that guest time.
fn timed_actions(args: &RunArgs, world: &mut ipcemu_machine::World) -> Result<()> {
    use ipcemu_registry::timed::{self, Input};
    let opts = [
        ("--keys", &args.keys),
        ("--button", &args.button),
        ("--mouse", &args.mouse),
        ("--screenshot", &args.screenshot),
    ];
    for (opt, values) in opts {
        for a in values {
            let bad = |why: &str| anyhow::anyhow!("{opt} {a}: {why}");
            let (n, rest) = a
                .split_once('=')
                .ok_or_else(|| bad("expected N=VALUE@SECONDS"))?;
            let (value, secs) = rest
                .rsplit_once('@')
                .ok_or_else(|| bad("expected @SECONDS"))?;
            let n: usize = n
                .trim()
                .parse()
                .ok()
                .filter(|&n| n >= 1 && n <= args.guests.len())
                .ok_or_else(|| {
                    bad(&format!(
                        "N is a guest's position, 1..={}",
                        args.guests.len()
                    ))
                })?;
            let at = parse_seconds(secs).map_err(|e| bad(&e.to_string()))?;
            let num =
                |v: &str| parse_u32(v.trim()).ok_or_else(|| bad(&format!("{v:?} is not a number")));
            let input = match opt {
                "--keys" => Input::Keys(timed::parse_keys(value).map_err(|e| bad(&e))?),
                "--button" => Input::Button(num(value)?),
                "--mouse" => {
                    let v = value.split(',').map(num).collect::<Result<Vec<u32>>>()?;
                    match v[..] {
                        [x, y] => Input::Mouse { x, y, buttons: 0 },
                        [x, y, buttons] => Input::Mouse { x, y, buttons },
                        _ => return Err(bad("expected X,Y[,BUTTONS]")),
                    }
                }
                _ => {
                    timed::schedule_screenshot(world, n - 1, at, value.into());
                    continue;
                }
            };
            timed::schedule_input(world, n - 1, at, input);
        }
    }
    Ok(())
}

/// A decimal or 0x-prefixed hexadecimal number.
fn parse_u32(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Connections and policy of the KasperskyOS-style personality, checked against the guests.
fn kos_options(
    args: &RunArgs,
) -> Result<(
    Vec<ipcemu_registry::Connection>,
    Option<ipcemu_registry::Policy>,
)> {
    let stems: Vec<&str> = args
        .guests
        .iter()
        .map(|g| ipcemu_kernel::file_stem(g))
        .collect();
    let mut conns = Vec::new();
    if let Some(f) = &args.kos_init {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {f}"))?;
        conns = ipcemu_registry::parse_init(f, &text)?;
        for c in &conns {
            for e in [&c.client, &c.server] {
                if !stems.contains(&e.as_str()) {
                    bail!(
                        "{f}: the init file names entity {e:?}, which is not among the guests of this run"
                    );
                }
            }
        }
    }
    for c in &args.kos_connect {
        let c = ipcemu_registry::parse_connect(c)?;
        for e in [&c.client, &c.server] {
            if !stems.contains(&e.as_str()) {
                bail!(
                    "--kos-connect {}:{}={}: no guest of this run is named {e:?}",
                    c.client,
                    c.id,
                    c.server
                );
            }
        }
        conns.push(c);
    }
    let policy = match &args.policy {
        None => {
            if !conns.is_empty() {
                let _ = writeln!(
                    std::io::stderr(),
                    "ipcemu: no --policy given: the security module allows every KasperskyOS-style message"
                );
            }
            None
        }
        Some(f) => {
            let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {f}"))?;
            let p = ipcemu_registry::Policy::parse(f, &text)?;
            for e in p.entities() {
                if !stems.contains(&e) {
                    bail!("{f}: the policy names entity {e:?}, which is not among the guests of this run");
                }
            }
            Some(p)
        }
    };
    Ok((conns, policy))
}

/// The trace format: as given, else from the file's extension. A format that contradicts the
/// extension (`t.jsonl` written as chrome) is refused: the file would not be what its name says.
fn trace_format_for(
    path: &str,
    given: Option<ipcemu_trace::Format>,
) -> Result<ipcemu_trace::Format> {
    use ipcemu_trace::Format;
    let by_ext = match std::path::Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jsonl") => Some(Format::Jsonl),
        Some("json") => Some(Format::Chrome),
        _ => None,
    };
    match (given, by_ext) {
        (Some(g), Some(e)) if g != e => bail!(
            "--trace {path}: the extension says {e:?} but --trace-format says {g:?};              name the file for its format (.jsonl: jsonl, .json: chrome, other: text)"
        ),
        (Some(g), _) => Ok(g),
        (None, Some(e)) => Ok(e),
        (None, None) => Ok(Format::Text),
    }
}

/// The status line of a long run on a terminal: after 2 s of wall time (or
/// `IPCEMU_PROGRESS_AFTER_MS`), guest time, live processes, messages and system calls per second,
/// updated in place about ten times a second. Nothing when stderr is not a terminal.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    start: std::time::Instant,
    after: std::time::Duration,
    last: std::time::Instant,
    last_traps: u64,
    calls: u32,
}

impl Progress {
    fn new() -> Option<Self> {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let after = std::env::var("IPCEMU_PROGRESS_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(
                std::time::Duration::from_secs(2),
                std::time::Duration::from_millis,
            );
        let now = std::time::Instant::now();
        Some(Progress {
            bar: None,
            start: now,
            after,
            last: now,
            last_traps: 0,
            calls: 0,
        })
    }

    fn tick(&mut self, k: &ipcemu_kernel::Kernel<ipcemu_machine::ProcMemory>) {
        // Look at the clock every 256 scheduling points only: this runs between time slices.
        self.calls = self.calls.wrapping_add(1);
        if !self.calls.is_multiple_of(256) {
            return;
        }
        let now = std::time::Instant::now();
        // The first line shows as soon as `after` has passed; later ones ten times a second.
        if now.duration_since(self.start) < self.after
            || (self.bar.is_some()
                && now.duration_since(self.last) < std::time::Duration::from_millis(100))
        {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b
        });
        let traps = k.total_traps();
        let dt = now.duration_since(self.last).as_secs_f64();
        let rate = (traps.saturating_sub(self.last_traps)) as f64 / dt.max(1e-9);
        let live = k.procs.iter().filter(|p| p.exit.is_none()).count();
        bar.set_message(format!(
            "guest time {:.3}s, {live} processes running, {} messages, {:.0} system calls/s",
            k.now_ns() as f64 / 1e9,
            k.msg_seq,
            rate
        ));
        bar.tick();
        self.last = now;
        self.last_traps = traps;
    }

    fn done(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

fn trace_convert(input: &str, output: &str, format: Option<ipcemu_trace::Format>) -> Result<u8> {
    let format = trace_format_for(output, format)?;
    let text = std::fs::read_to_string(input).with_context(|| format!("cannot read {input}"))?;
    let f = std::fs::File::create(output).with_context(|| format!("cannot create {output}"))?;
    let mut sink = ipcemu_trace::sink_for(format, Box::new(std::io::BufWriter::new(f)), 32);
    let n =
        ipcemu_trace::convert(&text, sink.as_mut()).map_err(|e| anyhow::anyhow!("{input}: {e}"))?;
    tracing::info!(records = n, "trace converted");
    Ok(0)
}

fn run(args: RunArgs) -> Result<u8> {
    let mut trace_handle = None;
    let layer = match &args.trace {
        None => None,
        Some(path) => {
            let filter = ipcemu_trace::Filter::parse(args.trace_filter.as_deref().unwrap_or(""))
                .map_err(anyhow::Error::msg)?;
            let format = trace_format_for(path, args.trace_format)?;
            let out: Box<dyn Write + Send> = if path == "-" {
                Box::new(Watched(std::io::LineWriter::new(std::io::stderr())))
            } else {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("cannot create trace file {path}"))?;
                Box::new(std::io::BufWriter::with_capacity(1 << 16, f))
            };
            let sink = ipcemu_trace::sink_for(format, out, args.trace_payload);
            let (layer, handle) = ipcemu_trace::TraceLayer::new(sink, filter);
            trace_handle = Some(handle);
            Some(layer)
        }
    };
    // Trace records go to the sink through the kernel's direct tap, not through `tracing`.
    init_logging(None);
    let params = params_for(&args)?;
    let config = WorldConfig {
        kernel: Config {
            realtime: args.realtime,
            quantum_traps: args.quantum.max(1),
            max_slots: args.max_slots,
            ..Config::default()
        },
        timeout: args.timeout,
        wall_timeout: args.wall_timeout,
        max_process_memory: args.max_memory.map(|v| v as u64),
        max_world_memory: args.max_world_memory.map(|v| v as u64),
    };
    let (kos_connections, kos_policy) = kos_options(&args)?;
    let mut personalities = Personalities {
        kos_connections,
        kos_policy,
        win32_view_snapshot: args.trace_views.min(ipcemu_kernel::trace::PAYLOAD_MAX),
        strict: args.strict,
        pcipc_vector: args.pcipc_vector,
        pcipc: PcIpcConfig {
            ids: args.pcipc_ids,
            space: args.pcipc_space,
            preinstalled: args.pcipc_preinstalled || !args.pcipc_not_installed,
            own_ids: args.pcipc_own_ids,
            ..PcIpcConfig::default()
        },
        ..Personalities::default()
    };
    if let Some(dir) = &args.root {
        let vfs = ipcemu_vfs::Vfs::new(dir, args.root_ro)
            .with_context(|| format!("--root {} is not a usable folder", dir.display()))?;
        personalities.kolibri.vfs = Some(vfs);
    }
    let out = Box::new(Watched(std::io::BufWriter::with_capacity(
        1 << 16,
        std::io::stdout(),
    )));
    let err = Box::new(Watched(std::io::stderr()));
    catch_signals()?;
    let mut world = personalities
        .world(config, out, err)
        .map_err(anyhow::Error::msg)?;
    if let Some(l) = layer {
        world.with_kernel(|k| k.set_trace_tap(std::sync::Arc::new(l)));
    }
    let _ = STOP.set(world.stop_handle());
    if OUTPUT_CLOSED.load(Ordering::SeqCst) {
        world.stop_handle().stop();
    }
    if let Some(f) = &args.strace {
        let out: Box<dyn Write> = if f == "-" {
            Box::new(Watched(std::io::stderr()))
        } else {
            Box::new(std::io::BufWriter::new(
                std::fs::File::create(f).with_context(|| format!("cannot create {f}"))?,
            ))
        };
        let filter = args
            .strace_filter
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        world.set_strace(out, filter);
    }
    let starts = start_times(&args)?;
    let mut ids = Vec::new();
    for ((path, params), at) in args.guests.iter().zip(params).zip(starts) {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read guest {path}"))?;
        let spec = GuestSpec {
            path: path.clone(),
            bytes,
            params,
        };
        ids.push(match at {
            Some(at) => {
                world.add_guest_at(spec, at)?;
                None
            }
            None => Some(world.add_guest(&spec)?),
        });
    }
    timed_actions(&args, &mut world)?;
    let started = |opt: &str, n: usize| {
        ids[n - 1].with_context(|| {
            format!("{opt}: guest {n} starts later (--start-at); it cannot be chosen here")
        })
    };
    let mut coverage = Vec::new();
    for c in &args.coverage {
        let (n, file) = c
            .split_once('=')
            .with_context(|| format!("--coverage {c}: expected N=FILE"))?;
        let n: usize = n
            .parse()
            .ok()
            .filter(|&n| n >= 1 && n <= ids.len())
            .with_context(|| {
                format!("--coverage {c}: N is a guest's position, 1..={}", ids.len())
            })?;
        let id = started("--coverage", n)?;
        world.enable_coverage(id.proc).map_err(anyhow::Error::msg)?;
        coverage.push((id.proc, args.guests[n - 1].clone(), file.to_string()));
    }
    let mut debugged: Vec<(ipcemu_kernel::ProcId, std::net::TcpListener)> = Vec::new();
    for g in &args.gdb {
        let (n, port) = match g.split_once('=') {
            Some((n, p)) => (
                n,
                p.parse::<u16>()
                    .with_context(|| format!("--gdb {g}: bad port"))?,
            ),
            None => (g.as_str(), 0),
        };
        let n: usize = n
            .parse()
            .ok()
            .filter(|&n| n >= 1 && n <= ids.len())
            .with_context(|| format!("--gdb {g}: N is a guest's position, 1..={}", ids.len()))?;
        let id = started("--gdb", n)?;
        if debugged.iter().any(|(p, _)| *p == id.proc) {
            anyhow::bail!("--gdb {g}: guest {n} is already served to GDB");
        }
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("--gdb {g}: cannot listen on 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let _ = writeln!(
            std::io::stderr(),
            "ipcemu: guest {n} ({}[{}]) waits for GDB on {addr} (gdb -ex 'target remote {addr}')",
            ipcemu_kernel::file_stem(&args.guests[n - 1]),
            id.pid.0
        );
        debugged.push((id.proc, listener));
    }
    if !debugged.is_empty() {
        let guests: Vec<_> = debugged.iter().map(|(p, l)| (*p, l)).collect();
        let ends = ipcemu_gdb::serve_all(&mut world, &guests)?;
        tracing::info!(?ends, "GDB sessions ended");
    }
    let report = match Progress::new() {
        Some(mut p) => {
            let r = world.run_until(|k| {
                p.tick(k);
                false
            });
            p.done();
            r
        }
        None => world.run(),
    };
    for (proc, guest, file) in &coverage {
        if let Some(bytes) = world.coverage_drcov(*proc, guest) {
            std::fs::write(file, bytes).with_context(|| format!("cannot write {file}"))?;
        }
    }
    let never_started: Vec<usize> = (0..world.guest_count())
        .filter(|&i| world.guest(i).is_none())
        .collect();
    drop(world);
    let trace_result = trace_handle.as_ref().map(|h| h.finish());
    let signal = SIGNAL.load(Ordering::SeqCst);
    if OUTPUT_CLOSED.load(Ordering::SeqCst) && signal == 0 {
        // Quietly: whoever read the output has what it wanted.
        return Ok(EXIT_CLOSED_OUTPUT);
    }
    if let Some(r) = trace_result {
        r.context("writing the trace")?;
    }
    let mut err = std::io::stderr().lock();
    let mut code = 0;
    for i in never_started {
        let _ = writeln!(
            err,
            "ipcemu: guest {} ({}) never started: the run ended before its --start-at time",
            i + 1,
            args.guests[i]
        );
    }
    for p in &report.procs {
        match &p.status {
            Some(ExitStatus::Normal(0)) => {}
            Some(ExitStatus::Normal(c)) => {
                let _ = writeln!(err, "ipcemu: {}[{}] exited with code {c}", p.name, p.pid);
                code = EXIT_GUEST_FAILED;
            }
            // The fault report was printed when it happened.
            Some(ExitStatus::Fault(_)) => code = EXIT_GUEST_FAILED,
            Some(ExitStatus::Killed) => {
                let _ = writeln!(err, "ipcemu: {}[{}] was killed", p.name, p.pid);
                code = EXIT_GUEST_FAILED;
            }
            None => {}
        }
    }
    let still_running = |err: &mut std::io::StderrLock<'_>, head: String| {
        let _ = writeln!(err, "{head}; still running: {}", alive(&report));
        for w in &report.waiting {
            let _ = writeln!(err, "  {w}");
        }
    };
    match &report.end {
        End::AllExited | End::Condition => {}
        End::Deadlock(waiters) => {
            let _ = writeln!(
                err,
                "ipcemu: deadlock at t={:.2}s: every thread waits and nothing can wake it:",
                report.virtual_ns as f64 / 1e9
            );
            for w in waiters {
                let _ = writeln!(err, "  {w}");
            }
            code = EXIT_DEADLOCK;
        }
        End::Timeout | End::WallTimeout => {
            let head = if report.end == End::Timeout {
                format!(
                    "ipcemu: --timeout reached at guest time {:.2}s",
                    report.virtual_ns as f64 / 1e9
                )
            } else {
                format!(
                    "ipcemu: --wall-timeout reached after {:.2}s",
                    report.wall.as_secs_f64()
                )
            };
            still_running(&mut err, head);
            // A guest that failed says more than the limit that ended the others.
            if code == 0 {
                code = EXIT_TIMEOUT;
            }
        }
        End::Interrupted => {
            let name = match signal {
                signal_hook::consts::SIGINT => "SIGINT",
                signal_hook::consts::SIGTERM => "SIGTERM",
                _ => "a stop request",
            };
            still_running(
                &mut err,
                format!(
                    "ipcemu: stopped by {name} at guest time {:.2}s",
                    report.virtual_ns as f64 / 1e9
                ),
            );
        }
    }
    if args.stats {
        let _ = writeln!(
            err,
            "ipcemu: {} process(es), {} system calls, guest time {:.3}s, wall time {:.3}s",
            report.procs.len(),
            report.traps,
            report.virtual_ns as f64 / 1e9,
            report.wall.as_secs_f64()
        );
    }
    if signal != 0 {
        // Whatever else happened, the run was cut short by the signal.
        return Ok(EXIT_SIGNAL_BASE.saturating_add(signal as u8));
    }
    Ok(code)
}

fn alive(r: &ipcemu_machine::RunReport) -> String {
    let v: Vec<String> = r
        .procs
        .iter()
        .filter(|p| p.status.is_none())
        .map(|p| format!("{}[{}]", p.name, p.pid))
        .collect();
    v.join(", ")
}

fn scenario_files(paths: &[String]) -> Result<Vec<std::path::PathBuf>> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let path = std::path::PathBuf::from(p);
        if path.is_dir() {
            walk(&path, &mut out).with_context(|| format!("cannot read folder {p}"))?;
        } else if path.exists() {
            out.push(path);
        } else {
            bail!("{p}: no such scenario file or folder");
        }
    }
    if out.is_empty() {
        bail!("no scenario files (*.toml) in {}", paths.join(" "));
    }
    Ok(out)
}

/// What one scenario worker hands back: the outcome, or why the scenario could not be run
/// (an invalid file, or a panic while running it).
type ScenarioResult = Result<ipcemu_scenario::Outcome, String>;

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

fn test(args: TestArgs) -> Result<u8> {
    init_logging(None);
    let mut files = scenario_files(&args.paths)?;
    if !args.filter.is_empty() {
        files.retain(|f| {
            let s = f.to_string_lossy();
            args.filter.iter().any(|k| s.contains(k.as_str()))
        });
        if files.is_empty() {
            bail!("no scenario file matches -k {}", args.filter.join(" -k "));
        }
    }
    if let Some((k, n)) = args.partition {
        files.retain(|f| partition_of(f, n) == k);
    }
    if args.list {
        for f in &files {
            say!("{}", f.display());
        }
        return Ok(0);
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let opts = ipcemu_scenario::RunOptions {
        bless: args.bless,
        max_output: args.max_output,
    };
    let (tx, rx) = std::sync::mpsc::channel::<(usize, ScenarioResult)>();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let files = std::sync::Arc::new(files);
    let mut workers = Vec::new();
    for _ in 0..jobs.min(files.len()) {
        let (tx, next, files, opts) = (tx.clone(), next.clone(), files.clone(), opts.clone());
        workers.push(std::thread::spawn(move || loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(f) = files.get(i) else { break };
            // A panic is a bug of ipcemu, not of the scenario: it fails this file, and the
            // worker goes on with the next one.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                // Test hook: the tests make a worker panic on a named file.
                if std::env::var_os("IPCEMU_TEST_PANIC_ON").is_some_and(|n| f.ends_with(n)) {
                    panic!("IPCEMU_TEST_PANIC_ON names this file");
                }
                ipcemu_scenario::run_file_with(f, &opts)
            }));
            let r = match r {
                Ok(Ok(o)) => Ok(o),
                Ok(Err(e)) => Err(e.to_string()),
                Err(p) => Err(format!(
                    "{}: ipcemu failed while running it (panic: {})",
                    f.display(),
                    panic_text(&*p)
                )),
            };
            if tx.send((i, r)).is_err() {
                break;
            }
        }));
    }
    drop(tx);
    // Print in file order as results arrive.
    let mut results: Vec<Option<ScenarioResult>> = (0..files.len()).map(|_| None).collect();
    let mut printed = 0;
    let (mut passed, mut failed, mut invalid) = (0, 0, 0);
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    let mut print_ready = |results: &mut Vec<Option<ScenarioResult>>, flush_all: bool| {
        while printed < files.len() {
            let r = match results[printed].take() {
                Some(r) => r,
                // A worker that ended without an answer (it cannot, short of an abort).
                None if flush_all => Err(format!(
                    "{}: no result (the worker running it stopped)",
                    files[printed].display()
                )),
                None => break,
            };
            match r {
                Ok(o) => {
                    let t = format!(
                        "guest {:.3}s, wall {:.3}s",
                        o.virtual_ns as f64 / 1e9,
                        o.wall.as_secs_f64()
                    );
                    if o.passed() {
                        passed += 1;
                        say!("PASS {}  ({t})", o.name);
                        for b in &o.blessed {
                            say!("  blessed: rewrote {}", b.display());
                        }
                    } else {
                        failed += 1;
                        say!("FAIL {}  ({t})  {}", o.name, o.path.display());
                        for f in &o.failures {
                            say!("  - {f}");
                        }
                        let color = {
                            use std::io::IsTerminal;
                            std::io::stdout().is_terminal()
                        };
                        for d in &o.diffs {
                            for l in d.lines() {
                                if color {
                                    say!("    {}", paint_diff_line(l));
                                } else {
                                    say!("    {l}");
                                }
                            }
                        }
                    }
                    for n in &o.notes {
                        say!("  note: {n}");
                    }
                    outcomes.push(o);
                }
                Err(e) => {
                    invalid += 1;
                    say!("ERROR {}", files[printed].display());
                    say!("  - {e}");
                    errors.push((files[printed].display().to_string(), e));
                }
            }
            printed += 1;
        }
    };
    // A bar over the files on a terminal (stderr; the report lines are stdout).
    let bar = {
        use std::io::IsTerminal;
        (std::io::stderr().is_terminal() && files.len() > 1).then(|| {
            let b = indicatif::ProgressBar::new(files.len() as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} scenario files")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b
        })
    };
    for (i, r) in rx {
        results[i] = Some(r);
        match &bar {
            Some(b) => {
                b.inc(1);
                b.suspend(|| print_ready(&mut results, false));
            }
            None => print_ready(&mut results, false),
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    for w in workers {
        let _ = w.join();
    }
    print_ready(&mut results, true);
    // Files that could not be run (invalid, ipcemu failed) are errors, counted apart from
    // scenarios whose expectations failed.
    if invalid > 0 {
        say!("{passed} passed, {failed} failed, {invalid} errors");
    } else {
        say!("{passed} passed, {failed} failed");
    }
    if let Err(e) = std::io::stdout().flush() {
        closed_stdout_exit(&e);
    }
    if let Some(j) = &args.junit {
        std::fs::write(j, ipcemu_scenario::junit_xml(&outcomes, &errors))
            .with_context(|| format!("cannot write {j}"))?;
    }
    Ok(if invalid > 0 {
        EXIT_USAGE
    } else if failed > 0 {
        EXIT_GUEST_FAILED
    } else {
        0
    })
}
