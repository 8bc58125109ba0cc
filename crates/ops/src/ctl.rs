//! `tusk ctl`: start, stop, restart, reload and query a server the way
//! PostgreSQL's `pg_ctl` does — same commands, options, messages and exit
//! codes — plus a shutdown ladder and a live report of what holds a
//! shutdown up.
//!
//! Why it is built this way:
//! - It talks to the server only through the data directory and signals,
//!   as pg_ctl has since PostgreSQL 10: `postmaster.pid` names the
//!   postmaster and its status (`starting`, `ready`, `stopping`); a stop is
//!   done when that file is gone. No connection is needed, so it works
//!   while connections are refused.
//! - `start` runs `/bin/sh -c 'exec tusk server …'` in a new session
//!   (setsid), stdin from /dev/null and output appended to the log, exactly
//!   as pg_ctl does: `-o` keeps pg_ctl's shell syntax, `exec` makes the
//!   shell's PID the postmaster's, and that PID is what start waits to see
//!   on line 1 of `postmaster.pid` (with a start time not older than ours,
//!   so a stale file of an earlier server can never pass for the new one).
//! - While a stop waits, the sessions that hold it up are read from the
//!   server's shared memory (its System V segment, attached read-only for
//!   a moment each second), because a stopping server refuses new
//!   connections: SQL cannot ask. With `shared_memory_type = mmap` the
//!   proc array lives in a mapping only the server's own processes see;
//!   then the postmaster's children are listed from /proc instead.
//! - The ladder (`--ladder smart:60s,fast:30s,immediate`) is what operators
//!   otherwise script around pg_ctl: a shutdown can only escalate, so each
//!   step sends the next stronger signal when the previous one ran out of
//!   time, and the exit code says whether escalation was needed.

use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tusk_common::pidfile::{PidFile, PidFileError, LINE_PM_STATUS};

const PROG: &str = "tusk ctl";

/// Exit codes (pg_ctl's, plus 5 for an escalated ladder).
pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_NOT_RUNNING: u8 = 3;
pub const EXIT_NO_DATA_DIR: u8 = 4;
pub const EXIT_ESCALATED: u8 = 5;

/// pg_ctl's DEFAULT_WAIT.
const DEFAULT_WAIT_SECS: u64 = 60;
/// pg_ctl polls ten times a second.
const POLL: Duration = Duration::from_millis(100);
/// pg_ctl's clock-skew slop when comparing the pid file's start time.
const START_TIME_SLOP_SECS: i64 = 2;
/// Seconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch, used in
/// the proc array's timestamps).
const PG_EPOCH_UNIX_SECS: i64 = 946_684_800;

const AFTER_HELP: &str = "\
Commands take the options they need; any option may stand before or after
the command, as with pg_ctl.

Shutdown modes (-m):
  smart       SIGTERM: refuse new connections, wait for sessions to end
  fast        SIGINT: end every session (open transactions roll back) [default]
  immediate   SIGQUIT: quit at once, no checkpoint; the next start recovers

Ladder (--ladder, instead of -m): steps MODE[:TIME], e.g.
  --ladder smart:60s,fast:30s,immediate
  Each step sends its signal and waits up to TIME (ms, s, m, h; a bare
  number is seconds); when time runs out the next, stronger step follows.
  Only the last step may omit TIME: it then waits -t / PGCTLTIMEOUT / 60 s.

While stop waits it shows the sessions that hold the shutdown up (PID,
user, application, state, transaction age, query), read from the server's
shared memory: refreshed in place on a terminal, as lines otherwise, and
as JSON lines (one event per line) with --json.

Exit codes:
  0  success (for stop: stopped within the first step)
  1  failure: could not start, did not stop in time (the server may still
     be shutting down), no server to signal, bad usage
  3  status: no server running
  4  status: no usable data directory
  5  stop/restart --ladder: stopped, but only after escalating

Environment:
  PGDATA        data directory when -D is not given
  PGCTLTIMEOUT  seconds to wait when -t is not given (default 60)

As root, tusk ctl refuses to run unless given --allow-root, which it
passes on to the server it starts (tusk server refuses root the same way).
PostgreSQL's own pg_ctl can also drive tusk: see docs/operations.md.";

#[derive(Parser, Debug)]
#[command(
    name = "tusk ctl",
    about = "Start, stop, restart, reload and query a tusk server, as pg_ctl does",
    after_help = AFTER_HELP,
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,

    /// Data directory. Default: $PGDATA.
    #[arg(
        short = 'D',
        long = "pgdata",
        value_name = "DATADIR",
        env = "PGDATA",
        global = true
    )]
    data_dir: Option<PathBuf>,
    /// Append the server's output to FILENAME (start, restart).
    #[arg(short = 'l', long = "log", value_name = "FILENAME", global = true)]
    log: Option<PathBuf>,
    /// Server options, in shell syntax, e.g. -o "-p 5433 -c work_mem=8MB"
    /// (start, restart; repeated -o are joined). restart reuses the
    /// options of the last start (postmaster.opts) unless -o is given.
    #[arg(
        short = 'o',
        long = "options",
        value_name = "OPTIONS",
        global = true,
        allow_hyphen_values = true
    )]
    options: Vec<String>,
    /// Shutdown mode: smart, fast or immediate (s, f, i). Default: fast.
    #[arg(short = 'm', long = "mode", value_name = "MODE", global = true)]
    mode: Option<String>,
    /// Escalating shutdown, e.g. smart:60s,fast:30s,immediate (stop, restart).
    #[arg(
        long = "ladder",
        value_name = "STEPS",
        global = true,
        conflicts_with = "mode"
    )]
    ladder: Option<String>,
    /// Seconds to wait (default: $PGCTLTIMEOUT, else 60).
    #[arg(short = 't', long = "timeout", value_name = "SECS", global = true)]
    timeout: Option<u64>,
    /// Wait until the operation completes (the default).
    #[arg(short = 'w', long = "wait", global = true)]
    wait: bool,
    /// Do not wait.
    #[arg(short = 'W', long = "no-wait", global = true, conflicts_with = "wait")]
    no_wait: bool,
    /// Print only errors, no informational messages.
    #[arg(short = 's', long = "silent", global = true)]
    silent: bool,
    /// Allow the server to produce core files (raises the soft core limit
    /// to the hard one).
    #[arg(short = 'c', long = "core-files", global = true)]
    core_files: bool,
    /// Machine-readable output: JSON lines on stdout (stop, restart, status).
    #[arg(long = "json", global = true)]
    json: bool,
    /// Run as root, and start the server with --allow-root. Only for
    /// throw-away containers and test machines.
    #[arg(long = "allow-root", global = true)]
    allow_root: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Start the server in the background and wait until it accepts connections.
    Start,
    /// Stop the server (-m MODE or --ladder) and wait until it is gone.
    Stop,
    /// Stop the server if it runs, then start it again.
    Restart,
    /// Make the server re-read postgresql.conf and pg_hba.conf (SIGHUP).
    Reload,
    /// Tell whether a server runs on the data directory (exit 0, 3 or 4).
    Status,
    /// Send a signal to a process: SIGNAME is HUP, INT, QUIT, ABRT, KILL, TERM, USR1 or USR2.
    Kill {
        #[arg(value_name = "SIGNAME")]
        signame: String,
        #[arg(value_name = "PID")]
        pid: String,
    },
}

/// Entry point: `args` are the arguments after `ctl`.
pub fn run(args: Vec<String>) -> ExitCode {
    let cli = match Cli::try_parse_from(std::iter::once(PROG.to_string()).chain(args)) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    EXIT_OK
                }
                clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => EXIT_FAILED,
                _ => EXIT_FAILED,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(Ctl::new(cli).run())
}

/// A failure already reported to the user, carrying the exit code.
struct Exit(u8);

fn error(msg: impl std::fmt::Display) {
    eprintln!("{PROG}: {msg}");
}

struct Ctl {
    cli: Cli,
}

impl Ctl {
    fn new(cli: Cli) -> Ctl {
        Ctl { cli }
    }

    fn info(&self, msg: impl std::fmt::Display) {
        if !self.cli.silent && !self.cli.json {
            println!("{msg}");
        }
    }

    fn run(self) -> u8 {
        // SAFETY: geteuid cannot fail and touches no memory of ours.
        if unsafe { libc::geteuid() } == 0 && !self.cli.allow_root {
            error("cannot be run as root");
            eprintln!(
                "Please log in (using, e.g., \"su\") as the (unprivileged) user that will own the\n\
                 server process, and run tusk ctl as that user: a server running as root that is\n\
                 subverted through SQL owns the whole machine. For throw-away containers and\n\
                 test machines only, --allow-root overrides this (and is passed on to the server)."
            );
            return EXIT_FAILED;
        }
        let result = match &self.cli.command {
            Cmd::Start => self
                .data_dir(false)
                .and_then(|d| self.start(&d, self.joined_options())),
            Cmd::Stop => self.data_dir(false).and_then(|d| self.stop_command(&d)),
            Cmd::Restart => self.data_dir(false).and_then(|d| self.restart(&d)),
            Cmd::Reload => self.data_dir(false).and_then(|d| self.reload(&d)),
            Cmd::Status => self.data_dir(true).and_then(|d| self.status(&d)),
            Cmd::Kill { signame, pid } => self.kill(signame, pid),
        };
        match result {
            Ok(code) => code,
            Err(Exit(code)) => code,
        }
    }

    /// The data directory, checked as pg_ctl does before every command:
    /// it must exist and hold PG_VERSION. For `status` a failure is exit
    /// code 4, otherwise 1.
    fn data_dir(&self, for_status: bool) -> Result<PathBuf, Exit> {
        let fail = if for_status {
            EXIT_NO_DATA_DIR
        } else {
            EXIT_FAILED
        };
        let Some(dir) = self
            .cli
            .data_dir
            .clone()
            .filter(|d| !d.as_os_str().is_empty())
        else {
            error("no database directory specified and environment variable PGDATA unset");
            eprintln!("Try \"tusk ctl --help\" for more information.");
            return Err(Exit(fail));
        };
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                error(format_args!(
                    "directory \"{}\" is not a database cluster directory (not a directory)",
                    dir.display()
                ));
                return Err(Exit(fail));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                error(format_args!(
                    "directory \"{}\" does not exist",
                    dir.display()
                ));
                return Err(Exit(fail));
            }
            Err(e) => {
                error(format_args!(
                    "could not access directory \"{}\": {e}",
                    dir.display()
                ));
                return Err(Exit(fail));
            }
        }
        if let Err(e) = std::fs::File::open(dir.join("PG_VERSION")) {
            error(format_args!(
                "directory \"{}\" is not a database cluster directory",
                dir.display()
            ));
            eprintln!(
                "(could not open \"{}\": {e}; create a cluster with: tusk init -D {})",
                dir.join("PG_VERSION").display(),
                dir.display()
            );
            return Err(Exit(fail));
        }
        Ok(dir)
    }

    fn joined_options(&self) -> Option<String> {
        if self.cli.options.is_empty() {
            None
        } else {
            Some(self.cli.options.join(" "))
        }
    }

    fn wait_secs(&self) -> u64 {
        if let Some(t) = self.cli.timeout {
            return t;
        }
        match std::env::var("PGCTLTIMEOUT") {
            Ok(v) => match v.trim().parse::<u64>() {
                Ok(n) => n,
                Err(_) => {
                    error(format_args!(
                        "ignoring PGCTLTIMEOUT=\"{v}\": not a whole number of seconds; waiting {DEFAULT_WAIT_SECS} s"
                    ));
                    DEFAULT_WAIT_SECS
                }
            },
            Err(_) => DEFAULT_WAIT_SECS,
        }
    }

    fn waiting(&self) -> bool {
        !self.cli.no_wait
    }

    /// The shutdown steps from -m or --ladder.
    fn steps(&self) -> Result<Vec<Step>, Exit> {
        let default = Duration::from_secs(self.wait_secs());
        if let Some(l) = &self.cli.ladder {
            return parse_ladder(l, default).map_err(|e| {
                error(format_args!("invalid --ladder \"{l}\": {e}"));
                Exit(EXIT_FAILED)
            });
        }
        let mode = match &self.cli.mode {
            None => Mode::Fast,
            Some(m) => Mode::parse(m).ok_or_else(|| {
                error(format_args!("unrecognized shutdown mode \"{m}\" (allowed: smart, fast, immediate, or s, f, i)"));
                Exit(EXIT_FAILED)
            })?,
        };
        Ok(vec![Step {
            mode,
            limit: default,
        }])
    }

    // ---- start -------------------------------------------------------

    fn start(&self, dir: &Path, opts: Option<String>) -> Result<u8, Exit> {
        if read_pid_file(dir)?.is_some() {
            error("another server might be running; trying to start server anyway");
        }
        let exe = std::env::current_exe().map_err(|e| {
            error(format_args!(
                "could not find the tusk executable (/proc/self/exe): {e}"
            ));
            Exit(EXIT_FAILED)
        })?;
        let script = start_script(
            &exe,
            dir,
            self.cli.allow_root,
            opts.as_deref(),
            self.cli.log.as_deref(),
        );
        let start_time = unix_now();
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&script)
            .stdin(std::process::Stdio::null());
        // As pg_ctl: lets the server recognise a stale lock file whose PID
        // was recycled to our parent shell after a reboot.
        // SAFETY: getppid cannot fail and touches no memory of ours.
        let grandparent = unsafe { libc::getppid() };
        cmd.env("PG_GRANDPARENT_PID", grandparent.to_string());
        let core = self.cli.core_files;
        // SAFETY: setsid, setrlimit and umask are async-signal-safe.
        unsafe {
            cmd.pre_exec(move || {
                // Detach from our terminal's process group, so a Ctrl-C
                // meant for the shell never reaches the server.
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::umask(0o077);
                if core {
                    let mut l = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(libc::RLIMIT_CORE, &mut l) == 0 {
                        l.rlim_cur = l.rlim_max;
                        libc::setrlimit(libc::RLIMIT_CORE, &l);
                    }
                }
                Ok(())
            })
        };
        let mut child = cmd.spawn().map_err(|e| {
            error(format_args!(
                "could not start server: could not run /bin/sh -c '{script}': {e}"
            ));
            Exit(EXIT_FAILED)
        })?;
        let pid = child.id() as i64;
        if !self.waiting() {
            self.info("server starting");
            return Ok(EXIT_OK);
        }
        if !self.cli.silent && !self.cli.json {
            print!("waiting for server to start...");
            let _ = std::io::stdout().flush();
        }
        install_sigint_forwarding();
        let deadline = Instant::now() + Duration::from_secs(self.wait_secs());
        let mut next_dot = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(pf) = read_pid_file(dir).ok().flatten() {
                if pf.pid == pid
                    && pf.line(LINE_PM_STATUS).is_some()
                    && pf
                        .start_time()
                        .is_some_and(|t| t >= start_time - START_TIME_SLOP_SECS)
                {
                    if let Some(st) = pf.status() {
                        if st == "ready" || st == "standby" {
                            self.info(" done");
                            self.info("server started");
                            if self.cli.json {
                                println!("{}", serde_json::json!({"event": "started", "pid": pid}));
                            }
                            return Ok(EXIT_OK);
                        }
                    }
                }
            }
            if let Ok(Some(_status)) = child.try_wait() {
                self.info(" stopped waiting");
                error("could not start server");
                eprintln!("Examine the log output.");
                return Err(Exit(EXIT_FAILED));
            }
            if SIGINT_RECEIVED.load(Ordering::SeqCst) {
                // As pg_ctl: an interrupted start stops the server it began.
                // SAFETY: kill has no memory effects; `pid` is the server
                // this command just started.
                unsafe { libc::kill(pid as i32, libc::SIGINT) };
                self.info(" interrupted");
                error(format_args!(
                    "interrupted; sent SIGINT (fast shutdown) to the server (PID: {pid})"
                ));
                return Err(Exit(EXIT_FAILED));
            }
            if Instant::now() >= deadline {
                self.info(" stopped waiting");
                error("server did not start in time");
                eprintln!(
                    "It may still be starting (e.g. running recovery); check with \"tusk ctl status\" and the log."
                );
                return Err(Exit(EXIT_FAILED));
            }
            if Instant::now() >= next_dot {
                next_dot += Duration::from_secs(1);
                if !self.cli.silent && !self.cli.json {
                    print!(".");
                    let _ = std::io::stdout().flush();
                }
            }
            std::thread::sleep(POLL);
        }
    }

    // ---- stop --------------------------------------------------------

    fn stop_command(&self, dir: &Path) -> Result<u8, Exit> {
        let steps = self.steps()?;
        let outcome = self.stop(dir, &steps)?;
        Ok(outcome.exit_code())
    }

    fn stop(&self, dir: &Path, steps: &[Step]) -> Result<StopOutcome, Exit> {
        let pf = running_pid_file(dir, "stop")?;
        let pid = pf.pid as i32;
        let first = steps[0];
        if let Err(e) = send(pid, first.mode.signal()) {
            error(format_args!("could not send stop signal (PID: {pid}): {e}"));
            return Err(Exit(EXIT_FAILED));
        }
        let mut rep = Reporter::new(self, pid, dir);
        rep.signal_sent(first.mode, 0);
        if !self.waiting() {
            self.info("server shutting down");
            return Ok(StopOutcome::Stopped { escalated: false });
        }
        rep.begin();
        let started = Instant::now();
        let mut step_index = 0;
        let mut step_deadline = Instant::now() + steps[0].limit;
        loop {
            if !pid_file_exists(dir) {
                let outcome = StopOutcome::Stopped {
                    escalated: step_index > 0,
                };
                rep.finish(outcome, started.elapsed());
                return Ok(outcome);
            }
            if !process_alive(pid) {
                // The postmaster is gone; look once more for the file (it
                // removes it as its last act) before calling it an
                // untimely death.
                if !pid_file_exists(dir) {
                    let outcome = StopOutcome::Stopped {
                        escalated: step_index > 0,
                    };
                    rep.finish(outcome, started.elapsed());
                    return Ok(outcome);
                }
                rep.finish(StopOutcome::Died, started.elapsed());
                error(format_args!(
                    "server (PID: {pid}) exited but left \"{}\" behind: it did not shut down cleanly",
                    dir.join("postmaster.pid").display()
                ));
                eprintln!(
                    "The next start judges the file stale and recovers; check the log for why it died."
                );
                return Ok(StopOutcome::Died);
            }
            if Instant::now() >= step_deadline {
                if step_index + 1 < steps.len() {
                    let from = steps[step_index];
                    step_index += 1;
                    let to = steps[step_index];
                    rep.escalating(from, to, started.elapsed());
                    if let Err(e) = send(pid, to.mode.signal()) {
                        error(format_args!("could not send stop signal (PID: {pid}): {e}"));
                        return Err(Exit(EXIT_FAILED));
                    }
                    step_deadline = Instant::now() + to.limit;
                } else {
                    rep.finish(StopOutcome::TimedOut, started.elapsed());
                    error("server does not shut down");
                    if steps[step_index].mode == Mode::Smart {
                        eprintln!(
                            "HINT: The \"-m fast\" option immediately disconnects sessions rather than\n\
                             waiting for session-initiated disconnection; --ladder smart:60s,fast:30s\n\
                             does that by itself after a grace period."
                        );
                    }
                    eprintln!(
                        "The server is still shutting down ({} mode); run tusk ctl stop again to keep waiting or escalate.",
                        steps[step_index].mode.name()
                    );
                    return Ok(StopOutcome::TimedOut);
                }
            }
            rep.tick(steps[step_index], step_deadline, started.elapsed());
            std::thread::sleep(POLL);
        }
    }

    // ---- restart, reload, status, kill -------------------------------

    fn restart(&self, dir: &Path) -> Result<u8, Exit> {
        let steps = self.steps()?;
        // The options are read before stopping: the file describes the
        // server being replaced.
        let opts = match self.joined_options() {
            Some(o) => Some(o),
            None => read_opts_file(dir)?,
        };
        let mut escalated = false;
        match read_pid_file(dir)? {
            None => {
                error(format_args!(
                    "PID file \"{}\" does not exist",
                    dir.join("postmaster.pid").display()
                ));
                eprintln!("Is server running?");
                eprintln!("trying to start server anyway");
            }
            Some(pf) if pf.pid < 0 => {
                error(format_args!(
                    "cannot restart server; single-user server is running (PID: {})",
                    -pf.pid
                ));
                eprintln!("Please terminate the single-user server and try again.");
                return Err(Exit(EXIT_FAILED));
            }
            Some(pf) if process_alive(pf.pid as i32) => match self.stop(dir, &steps)? {
                StopOutcome::Stopped { escalated: e } => escalated = e,
                StopOutcome::Died => {}
                StopOutcome::TimedOut => return Err(Exit(EXIT_FAILED)),
            },
            Some(pf) => {
                error(format_args!(
                    "old server process (PID: {}) seems to be gone",
                    pf.pid
                ));
                eprintln!("starting server anyway");
            }
        }
        let code = self.start(dir, opts)?;
        Ok(if code == EXIT_OK && escalated {
            EXIT_ESCALATED
        } else {
            code
        })
    }

    fn reload(&self, dir: &Path) -> Result<u8, Exit> {
        let pf = running_pid_file(dir, "reload")?;
        if let Err(e) = send(pf.pid as i32, libc::SIGHUP) {
            error(format_args!(
                "could not send reload signal (PID: {}): {e}",
                pf.pid
            ));
            return Err(Exit(EXIT_FAILED));
        }
        self.info("server signaled");
        Ok(EXIT_OK)
    }

    fn status(&self, dir: &Path) -> Result<u8, Exit> {
        let pf = read_pid_file(dir).map_err(|_| Exit(EXIT_NO_DATA_DIR))?;
        if let Some(pf) = pf {
            let opts = std::fs::read_to_string(dir.join("postmaster.opts")).unwrap_or_default();
            let opts = opts.trim_end_matches('\n');
            if pf.pid < 0 && process_alive((-pf.pid) as i32) {
                if self.cli.json {
                    println!(
                        "{}",
                        serde_json::json!({"running": true, "single_user": true, "pid": -pf.pid})
                    );
                } else {
                    println!("{PROG}: single-user server is running (PID: {})", -pf.pid);
                }
                return Ok(EXIT_OK);
            }
            if pf.pid > 0 && process_alive(pf.pid as i32) {
                if self.cli.json {
                    println!(
                        "{}",
                        serde_json::json!({"running": true, "pid": pf.pid, "status": pf.status(), "port": pf.line(4), "options": opts})
                    );
                } else {
                    println!("{PROG}: server is running (PID: {})", pf.pid);
                    println!("{opts}");
                }
                return Ok(EXIT_OK);
            }
        }
        if self.cli.json {
            println!("{}", serde_json::json!({"running": false}));
        } else {
            println!("{PROG}: no server running");
        }
        Ok(EXIT_NOT_RUNNING)
    }

    fn kill(&self, signame: &str, pid: &str) -> Result<u8, Exit> {
        let Some(sig) = signal_by_name(signame) else {
            error(format_args!(
                "unrecognized signal name \"{signame}\" (allowed: HUP, INT, QUIT, ABRT, KILL, TERM, USR1, USR2)"
            ));
            return Err(Exit(EXIT_FAILED));
        };
        let pid: i32 = match pid.parse() {
            Ok(p) if p > 0 => p,
            _ => {
                error(format_args!(
                    "invalid process ID \"{pid}\" (a positive number)"
                ));
                return Err(Exit(EXIT_FAILED));
            }
        };
        if let Err(e) = send(pid, sig) {
            error(format_args!(
                "could not send signal {sig} (PID: {pid}): {e}"
            ));
            return Err(Exit(EXIT_FAILED));
        }
        Ok(EXIT_OK)
    }
}

// ---- modes and the ladder ----------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Smart,
    Fast,
    Immediate,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "s" | "smart" => Some(Mode::Smart),
            "f" | "fast" => Some(Mode::Fast),
            "i" | "immediate" => Some(Mode::Immediate),
            _ => None,
        }
    }

    pub fn signal(self) -> i32 {
        match self {
            Mode::Smart => libc::SIGTERM,
            Mode::Fast => libc::SIGINT,
            Mode::Immediate => libc::SIGQUIT,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Smart => "smart",
            Mode::Fast => "fast",
            Mode::Immediate => "immediate",
        }
    }

    fn signal_name(self) -> &'static str {
        match self {
            Mode::Smart => "SIGTERM",
            Mode::Fast => "SIGINT",
            Mode::Immediate => "SIGQUIT",
        }
    }
}

/// One step of a shutdown: send the mode's signal, then wait up to `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub mode: Mode,
    pub limit: Duration,
}

/// `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!("\"{s}\" is not a duration (a whole number with ms, s, m or h, e.g. 30s)")
    })?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => {
            return Err(format!(
                "\"{s}\" has an unknown unit \"{unit}\" (allowed: ms, s, m, h)"
            ));
        }
    };
    Ok(d)
}

/// Parses `smart:60s,fast:30s,immediate`. `last_default` is the limit of
/// a last step written without one.
pub fn parse_ladder(s: &str, last_default: Duration) -> Result<Vec<Step>, String> {
    let items: Vec<&str> = s.split(',').map(str::trim).collect();
    if items.iter().any(|i| i.is_empty()) {
        return Err("empty step; write steps as MODE[:TIME] separated by commas, e.g. smart:60s,fast:30s,immediate".into());
    }
    let mut steps: Vec<Step> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let (mode_s, time_s) = match item.split_once(':') {
            Some((m, t)) => (m.trim(), Some(t.trim())),
            None => (*item, None),
        };
        let mode = Mode::parse(mode_s).ok_or_else(|| {
            format!(
                "unknown mode \"{mode_s}\" in step {} (allowed: smart, fast, immediate)",
                i + 1
            )
        })?;
        if let Some(prev) = steps.last() {
            if mode <= prev.mode {
                return Err(format!(
                    "step {} ({}) does not escalate after {}: a shutdown only escalates (smart, then fast, then immediate)",
                    i + 1,
                    mode.name(),
                    prev.mode.name()
                ));
            }
        }
        let limit = match time_s {
            Some(t) => parse_duration(t)?,
            None if i + 1 == items.len() => last_default,
            None => {
                return Err(format!(
                    "step {} ({}) needs a time limit, e.g. {}:30s; only the last step may omit it",
                    i + 1,
                    mode.name(),
                    mode.name()
                ));
            }
        };
        steps.push(Step { mode, limit });
    }
    Ok(steps)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopOutcome {
    Stopped {
        escalated: bool,
    },
    /// The postmaster died but left its pid file (killed, or crashed).
    Died,
    TimedOut,
}

impl StopOutcome {
    fn exit_code(self) -> u8 {
        match self {
            StopOutcome::Stopped { escalated: false } => EXIT_OK,
            StopOutcome::Stopped { escalated: true } => EXIT_ESCALATED,
            StopOutcome::Died | StopOutcome::TimedOut => EXIT_FAILED,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StopOutcome::Stopped { escalated: false } => "stopped",
            StopOutcome::Stopped { escalated: true } => "escalated",
            StopOutcome::Died => "died",
            StopOutcome::TimedOut => "timed_out",
        }
    }
}

// ---- postmaster.pid and postmaster.opts -----------------------------------

/// Reads `postmaster.pid` with the one parser, in pg_ctl's words for a
/// bad file.
pub fn parse_pid_file(text: &str) -> Result<PidFile, String> {
    PidFile::parse(text).map_err(|e| match e {
        PidFileError::Empty => "is empty".into(),
        PidFileError::BadPid(first) => format!(
            "has invalid data on its first line: \"{first}\" (expected the postmaster's PID)"
        ),
    })
}

/// `None` when there is no pid file (no server, or it stopped).
fn read_pid_file(dir: &Path) -> Result<Option<PidFile>, Exit> {
    let path = dir.join("postmaster.pid");
    match std::fs::read_to_string(&path) {
        Ok(t) => parse_pid_file(&t).map(Some).map_err(|e| {
            error(format_args!("the PID file \"{}\" {e}", path.display()));
            Exit(EXIT_FAILED)
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => {
            error(format_args!(
                "could not open PID file \"{}\": {e}",
                path.display()
            ));
            Err(Exit(EXIT_FAILED))
        }
    }
}

fn pid_file_exists(dir: &Path) -> bool {
    // Only a definite "not found" counts as gone.
    !matches!(std::fs::metadata(dir.join("postmaster.pid")), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

/// The server arguments recorded in `postmaster.opts` (one line: the
/// executable, then each argument as ` "arg"`).
pub fn parse_opts_line(line: &str) -> Vec<String> {
    let Some(start) = line.find(" \"") else {
        return Vec::new();
    };
    let mut rest = &line[start..];
    let mut args = Vec::new();
    // Arguments are written unescaped, so an argument ends at a quote that
    // is followed by a space and a quote, or by the end of the line.
    while let Some(r) = rest.strip_prefix(" \"") {
        let end = r
            .match_indices('"')
            .map(|(i, _)| i)
            .find(|&i| r[i + 1..].is_empty() || r[i + 1..].starts_with(" \""));
        let Some(end) = end else { break };
        args.push(r[..end].to_string());
        rest = &r[end + 1..];
    }
    args
}

/// Server arguments for a restart: those of the last start, without the
/// data directory and --allow-root, which tusk ctl sets itself.
pub fn restart_args(recorded: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    // postmaster.opts of `tusk server` records the subcommand too.
    let recorded = match recorded.first() {
        Some(first) if first == "server" => &recorded[1..],
        _ => recorded,
    };
    let mut it = recorded.iter();
    while let Some(a) = it.next() {
        if a == "-D" || a == "--pgdata" {
            it.next();
            continue;
        }
        if (a.starts_with("-D") && a.len() > 2) || a.starts_with("--pgdata=") || a == "--allow-root"
        {
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// postmaster.pid of a server that `action` (stop, reload) can signal,
/// with pg_ctl's messages when there is none or it is a single-user one.
fn running_pid_file(dir: &Path, action: &str) -> Result<PidFile, Exit> {
    let Some(pf) = read_pid_file(dir)? else {
        error(format_args!(
            "PID file \"{}\" does not exist",
            dir.join("postmaster.pid").display()
        ));
        eprintln!("Is server running?");
        return Err(Exit(EXIT_FAILED));
    };
    if pf.pid < 0 {
        error(format_args!(
            "cannot {action} server; single-user server is running (PID: {})",
            -pf.pid
        ));
        return Err(Exit(EXIT_FAILED));
    }
    Ok(pf)
}

fn read_opts_file(dir: &Path) -> Result<Option<String>, Exit> {
    let path = dir.join("postmaster.opts");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        error(format_args!(
            "could not read file \"{}\": {e}",
            path.display()
        ));
        eprintln!("It records how the server was last started; give the options with -o instead.");
        Exit(EXIT_FAILED)
    })?;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() != 1 {
        error(format_args!(
            "option file \"{}\" must have exactly one line",
            path.display()
        ));
        return Err(Exit(EXIT_FAILED));
    }
    let args = restart_args(&parse_opts_line(lines[0]));
    if args.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        args.iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
    ))
}

/// Quotes for /bin/sh: single quotes, with `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The shell command `start` runs, as pg_ctl's: `exec` so the shell's PID
/// becomes the server's.
pub fn start_script(
    exe: &Path,
    dir: &Path,
    allow_root: bool,
    opts: Option<&str>,
    log: Option<&Path>,
) -> String {
    let mut s = format!(
        "exec {} server -D {}",
        shell_quote(&exe.display().to_string()),
        shell_quote(&dir.display().to_string())
    );
    if allow_root {
        s.push_str(" --allow-root");
    }
    if let Some(o) = opts.filter(|o| !o.trim().is_empty()) {
        s.push(' ');
        s.push_str(o);
    }
    s.push_str(" < /dev/null");
    if let Some(l) = log {
        s.push_str(&format!(
            " >> {} 2>&1",
            shell_quote(&l.display().to_string())
        ));
    }
    s
}

// ---- processes and signals -------------------------------------------------

/// pg_ctl's `postmaster_is_alive`: our own PID and our parent's never
/// count (recycled PIDs after a reboot), nor a process we may not signal.
///
/// EPERM means "not running" here, unlike `tusk_ipc::pid_alive` (where
/// it means alive), on purpose: this answers "is there a server I can
/// stop, reload or wait for?", and a process of another user is not one
/// (the pid file is in a directory we own, so its PID was recycled);
/// `pid_alive` answers "may this object be destroyed?", where guessing
/// dead is the dangerous mistake.
fn process_alive(pid: i32) -> bool {
    // SAFETY: getppid has no preconditions and cannot fail.
    if pid <= 0 || pid == std::process::id() as i32 || pid == unsafe { libc::getppid() } {
        return false;
    }
    // SAFETY: signal 0 sends nothing; it only checks existence and permission.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn send(pid: i32, sig: i32) -> std::io::Result<()> {
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// pg_ctl's kill names (a `SIG` prefix is accepted too).
pub fn signal_by_name(name: &str) -> Option<i32> {
    let n = name.strip_prefix("SIG").unwrap_or(name);
    Some(match n {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ABRT" => libc::SIGABRT,
        "KILL" => libc::SIGKILL,
        "TERM" => libc::SIGTERM,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        _ => return None,
    })
}

static SIGINT_RECEIVED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    SIGINT_RECEIVED.store(true, Ordering::SeqCst);
}

fn install_sigint_forwarding() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
    }
}

fn unix_now() -> i64 {
    tusk_common::time::now_micros() / 1_000_000
}

// ---- what holds a shutdown up ----------------------------------------------

/// One process still attached to the server, as the stop report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub pid: i32,
    pub backend_type: String,
    pub user: String,
    pub database: String,
    pub application: String,
    pub client: Option<String>,
    pub state: Option<String>,
    pub wait_event: Option<String>,
    /// Seconds since the transaction began, if one is open.
    pub xact_age: Option<f64>,
    pub query: String,
}

impl Holder {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "pid": self.pid,
            "backend_type": self.backend_type,
            "user": self.user,
            "database": self.database,
            "application_name": self.application,
            "client_addr": self.client,
            "state": self.state,
            "wait_event": self.wait_event,
            "xact_age_s": self.xact_age.map(|a| (a * 10.0).round() / 10.0),
            "query": self.query,
        })
    }
}

/// What a look at the server found.
#[derive(Debug, Clone, PartialEq)]
enum Holders {
    /// Read from the proc array: client sessions and other processes.
    Known {
        sessions: Vec<Holder>,
        others: Vec<Holder>,
    },
    /// Only the postmaster's children from /proc: (pid, command name).
    Unavailable {
        children: Vec<(i32, String)>,
        why: String,
    },
}

impl Holders {
    fn json(&self) -> serde_json::Value {
        match self {
            Holders::Known { sessions, others } => serde_json::json!({
                "source": "shared_memory",
                "sessions": sessions.iter().map(Holder::json).collect::<Vec<_>>(),
                "other_processes": others.iter().map(Holder::json).collect::<Vec<_>>(),
            }),
            Holders::Unavailable { children, why } => serde_json::json!({
                "source": "proc",
                "details_unavailable": why,
                "children": children.iter().map(|(p, c)| serde_json::json!({"pid": p, "command": c})).collect::<Vec<_>>(),
            }),
        }
    }

    /// What changes when the report should be printed again.
    fn signature(&self) -> String {
        match self {
            Holders::Known { sessions, .. } => sessions
                .iter()
                .map(|s| format!("{}:{:?}:{}", s.pid, s.state, s.query))
                .collect::<Vec<_>>()
                .join(";"),
            Holders::Unavailable { children, .. } => children
                .iter()
                .map(|c| c.0.to_string())
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

/// Reads the sessions from the server's System V segment, attached
/// read-only only for the copy (an attachment keeps a removed segment
/// alive, and the next start checks the old segment's attach count).
fn read_holders(pm_pid: i32, pf: &PidFile) -> Holders {
    match read_proc_array(pm_pid, pf) {
        Ok(infos) => {
            let now_pg = tusk_common::time::now_micros() - PG_EPOCH_UNIX_SECS * 1_000_000;
            let mut sessions = Vec::new();
            let mut others = Vec::new();
            for p in infos {
                let h = Holder {
                    pid: p.pid,
                    backend_type: p.kind.backend_type().to_string(),
                    user: p.usename,
                    database: p.datname,
                    application: p.application_name,
                    client: p.client_addr.map(|a| a.to_string()),
                    state: p.state.as_str().map(str::to_string),
                    wait_event: p.wait_event.names().map(|(_, e)| e.to_string()),
                    xact_age: p.xact_start.map(|t| ((now_pg - t) as f64 / 1e6).max(0.0)),
                    query: p.query,
                };
                if p.kind == tusk_storage::procarray::ProcKind::ClientBackend {
                    sessions.push(h);
                } else {
                    others.push(h);
                }
            }
            Holders::Known { sessions, others }
        }
        Err(why) => Holders::Unavailable {
            children: children_of(pm_pid),
            why,
        },
    }
}

fn read_proc_array(
    pm_pid: i32,
    pf: &PidFile,
) -> Result<Vec<tusk_storage::procarray::ProcInfo>, String> {
    let (_key, id) = pf
        .shmem()
        .ok_or("postmaster.pid names no shared memory segment (line 7)")?;
    let seg = tusk_ipc::shm::Segment::attach_read_only(id)
        .map_err(|e| format!("could not attach shared memory segment {id} read-only: {e}"))?;
    let header = seg
        .read_header()
        .ok_or_else(|| format!("shared memory segment {id} has no tusk header"))?;
    if !header.is_current_layout() {
        return Err(format!(
            "shared memory segment {id} was written by another tusk version (layout {})",
            header.layout_version
        ));
    }
    if header.creator_pid != pm_pid {
        return Err(format!(
            "shared memory segment {id} was created by PID {}, not by the postmaster (PID {pm_pid})",
            header.creator_pid
        ));
    }
    if header.mode == tusk_ipc::header::MODE_MMAP {
        return Err("shared_memory_type = mmap: the sessions live in a mapping only the server's processes can see".into());
    }
    let area = header
        .area(tusk_storage::layout::AreaId::BackendStatus as u32)
        .copied()
        .ok_or_else(|| format!("shared memory segment {id} lists no backend status area"))?;
    // SAFETY: the segment stays attached (seg lives) during the call.
    unsafe {
        tusk_storage::procarray::snapshot_in_region(seg.base(), seg.size(), area.offset, area.size)
    }
    .map_err(|e| e.to_string())
}

/// What `ps` shows for a process: its command line (a server child's
/// process title, "tusk: checkpointer"), else its command name.
fn ps_command(pid: i32, comm: String) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let text = String::from_utf8_lossy(&raw).replace('\0', " ");
    let text = text.trim();
    if text.is_empty() {
        comm
    } else {
        text.to_string()
    }
}

/// The postmaster's children, from /proc: (pid, what `ps` shows). Zombies
/// are left out: they are exiting and hold nothing.
fn children_of(ppid: i32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Some(stat) = tusk_ipc::keys::read_proc_stat(pid) else {
            continue;
        };
        if stat.state != 'Z' && stat.ppid == ppid {
            out.push((pid, ps_command(pid, stat.comm)));
        }
    }
    out.sort();
    out
}

pub fn format_age(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        format!("{}m{:02}s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!(
            "{}h{:02}m",
            (secs / 3600.0) as u64,
            ((secs % 3600.0) / 60.0) as u64
        )
    }
}

fn holder_line(h: &Holder, width: usize) -> String {
    let mut s = format!(
        "PID {}  user {}  database {}  application {}  state {}",
        h.pid,
        or_dash(&h.user),
        or_dash(&h.database),
        or_dash(&h.application),
        h.state.as_deref().unwrap_or("starting")
    );
    if let Some(a) = h.xact_age {
        s.push_str(&format!("  xact {}", format_age(a)));
    }
    if let Some(w) = &h.wait_event {
        s.push_str(&format!("  waiting {w}"));
    }
    if let Some(c) = &h.client {
        s.push_str(&format!("  client {c}"));
    }
    if !h.query.is_empty() {
        s.push_str(&format!(
            "  query: {}",
            h.query.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    truncate(&s, width)
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn terminal_width() -> usize {
    // SAFETY: winsize is plain integers, for which all zeroes is valid.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize into the local `ws`; on a
    // stdout that is not a terminal it fails and writes nothing.
    if unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_col > 20 {
        ws.ws_col as usize
    } else {
        120
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// Refreshed in place.
    Terminal,
    /// Appended lines, for logs.
    Lines,
    Json,
    Silent,
}

/// Prints the progress of a stop.
struct Reporter<'a> {
    out: Output,
    pid: i32,
    dir: &'a Path,
    /// Lines of the block last drawn on the terminal.
    drawn: usize,
    last_look: Option<Instant>,
    last_print: Option<Instant>,
    last_signature: String,
    last: Option<Holders>,
    width: usize,
    /// "waiting for server to shut down..." awaits its " done".
    line_open: bool,
}

/// How often the server's shared memory is read while waiting.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// In line mode, the report is repeated at least this often.
const LINES_REPEAT: Duration = Duration::from_secs(10);

impl<'a> Reporter<'a> {
    fn new(ctl: &Ctl, pid: i32, dir: &'a Path) -> Reporter<'a> {
        let out = if ctl.cli.json {
            Output::Json
        } else if ctl.cli.silent {
            Output::Silent
        } else if std::io::stdout().is_terminal() {
            Output::Terminal
        } else {
            Output::Lines
        };
        Reporter {
            out,
            pid,
            dir,
            drawn: 0,
            last_look: None,
            last_print: None,
            last_signature: String::new(),
            last: None,
            width: terminal_width(),
            line_open: false,
        }
    }

    fn signal_sent(&self, mode: Mode, elapsed_ms: u128) {
        if self.out == Output::Json {
            println!(
                "{}",
                serde_json::json!({"event": "signal", "mode": mode.name(), "signal": mode.signal_name(), "pid": self.pid, "elapsed_s": elapsed_ms as f64 / 1000.0})
            );
        }
    }

    fn begin(&mut self) {
        match self.out {
            Output::Terminal | Output::Lines => {
                print!("waiting for server to shut down...");
                let _ = std::io::stdout().flush();
                self.line_open = true;
            }
            _ => {}
        }
    }

    /// Ends the open "waiting..." line before other output.
    fn close_line(&mut self) {
        if self.line_open {
            println!();
            self.line_open = false;
        }
    }

    fn escalating(&mut self, from: Step, to: Step, elapsed: Duration) {
        self.clear();
        self.close_line();
        match self.out {
            Output::Json => println!(
                "{}",
                serde_json::json!({
                    "event": "escalate", "from": from.mode.name(), "to": to.mode.name(), "signal": to.mode.signal_name(),
                    "after_s": from.limit.as_secs_f64(), "elapsed_s": round1(elapsed.as_secs_f64()),
                    "blocked_by": self.last.as_ref().map(Holders::json),
                })
            ),
            Output::Silent => {}
            _ => println!(
                "{} shutdown did not finish within {}; escalating to {} shutdown ({})",
                from.mode.name(),
                format_age(from.limit.as_secs_f64()),
                to.mode.name(),
                to.mode.signal_name()
            ),
        }
        // Report the new step's blockers afresh, once its signal has had
        // a moment to act.
        self.last_signature.clear();
        self.last_print = None;
        self.last_look = Some(Instant::now());
    }

    fn tick(&mut self, step: Step, deadline: Instant, elapsed: Duration) {
        if self.out == Output::Silent
            || self.last_look.is_some_and(|t| t.elapsed() < LOOK_EVERY)
            || elapsed < LOOK_EVERY
        {
            return;
        }
        self.last_look = Some(Instant::now());
        let Some(pf) = read_pid_file(self.dir).ok().flatten() else {
            return;
        };
        let holders = read_holders(self.pid, &pf);
        let left = deadline.saturating_duration_since(Instant::now());
        match self.out {
            Output::Json => println!(
                "{}",
                serde_json::json!({
                    "event": "waiting", "mode": step.mode.name(), "elapsed_s": round1(elapsed.as_secs_f64()),
                    "step_left_s": round1(left.as_secs_f64()), "holders": holders.json(),
                })
            ),
            Output::Terminal => {
                let lines = self.render(&holders, step, elapsed, left);
                self.clear();
                self.close_line();
                let mut so = std::io::stdout().lock();
                for l in &lines {
                    let _ = writeln!(so, "{l}");
                }
                let _ = so.flush();
                self.drawn = lines.len();
            }
            Output::Lines => {
                let sig = holders.signature();
                if sig != self.last_signature
                    || self.last_print.is_none_or(|t| t.elapsed() >= LINES_REPEAT)
                {
                    self.close_line();
                    for l in self.render(&holders, step, elapsed, left) {
                        println!("{l}");
                    }
                    self.last_signature = sig;
                    self.last_print = Some(Instant::now());
                }
            }
            Output::Silent => {}
        }
        self.last = Some(holders);
    }

    fn render(&self, h: &Holders, step: Step, elapsed: Duration, left: Duration) -> Vec<String> {
        let mut lines = vec![format!(
            "  {} shutdown, waiting {} ({} left in this step); held up by:",
            step.mode.name(),
            format_age(elapsed.as_secs_f64()),
            format_age(left.as_secs_f64())
        )];
        let w = self.width.saturating_sub(4);
        match h {
            Holders::Known { sessions, others } => {
                if sessions.is_empty() {
                    let names: Vec<String> = others
                        .iter()
                        .map(|o| format!("{} (PID {})", o.backend_type, o.pid))
                        .collect();
                    lines.push(format!(
                        "    no sessions left; server processes still running: {}",
                        if names.is_empty() {
                            "-".into()
                        } else {
                            names.join(", ")
                        }
                    ));
                } else {
                    lines.push(format!(
                        "    {} session{}:",
                        sessions.len(),
                        if sessions.len() == 1 { "" } else { "s" }
                    ));
                    for s in sessions {
                        lines.push(format!("    {}", holder_line(s, w)));
                    }
                }
            }
            Holders::Unavailable { children, why } => {
                lines.push(format!("    session details unavailable ({why})"));
                let names: Vec<String> = children
                    .iter()
                    .map(|(p, c)| format!("PID {p} ({c})"))
                    .collect();
                lines.push(format!(
                    "    server processes: {}",
                    if names.is_empty() {
                        "-".into()
                    } else {
                        names.join(", ")
                    }
                ));
            }
        }
        lines
    }

    /// Removes the block drawn on the terminal.
    fn clear(&mut self) {
        if self.out == Output::Terminal && self.drawn > 0 {
            print!("\x1b[{}F\x1b[J", self.drawn);
            let _ = std::io::stdout().flush();
            self.drawn = 0;
        }
    }

    fn finish(&mut self, outcome: StopOutcome, elapsed: Duration) {
        self.clear();
        match self.out {
            Output::Json => println!(
                "{}",
                serde_json::json!({
                    "event": "result", "result": outcome.name(), "exit_code": outcome.exit_code(),
                    "elapsed_s": round1(elapsed.as_secs_f64()),
                    "blocked_by": self.last.as_ref().map(Holders::json),
                })
            ),
            Output::Silent => {}
            _ => match outcome {
                StopOutcome::Stopped { .. } => {
                    println!("{}done", if self.line_open { " " } else { "" });
                    println!("server stopped");
                }
                StopOutcome::Died | StopOutcome::TimedOut => {
                    println!("{}failed", if self.line_open { " " } else { "" });
                    if let Some(h) = &self.last {
                        if self.out == Output::Terminal {
                            // The in-place block is gone; leave the last
                            // view of the blockers on the screen.
                            for l in self
                                .render(
                                    h,
                                    Step {
                                        mode: Mode::Smart,
                                        limit: Duration::ZERO,
                                    },
                                    elapsed,
                                    Duration::ZERO,
                                )
                                .iter()
                                .skip(1)
                            {
                                println!("{l}");
                            }
                        }
                    }
                }
            },
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented difference between pg_ctl's rule and
    /// `tusk_ipc::pid_alive`: our own PID and a process we may not signal
    /// (EPERM) are "not a server I control" here, "alive" there.
    #[test]
    fn process_alive_follows_pg_ctl_and_pid_alive_does_not() {
        let me = std::process::id() as i32;
        assert!(!process_alive(me));
        assert!(tusk_ipc::pid_alive(me));
        assert!(!process_alive(0) && !tusk_ipc::pid_alive(0));
        // EPERM needs an unprivileged caller and a process of another
        // user: PID 1 (root's) seen from uid 65534. As root, a forked
        // child drops to that uid and reports both answers in its status.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            assert!(!process_alive(1));
            assert!(tusk_ipc::pid_alive(1));
            return;
        }
        // SAFETY: the child calls only setuid, kill, getpid, getppid and
        // _exit (async-signal-safe), so forking a threaded test is sound.
        let child = unsafe { libc::fork() };
        assert!(
            child >= 0,
            "fork failed: {}",
            std::io::Error::last_os_error()
        );
        if child == 0 {
            // SAFETY: see above; _exit never returns.
            unsafe {
                if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                    libc::_exit(9);
                }
                let code = (process_alive(1) as i32) | ((tusk_ipc::pid_alive(1) as i32) << 1);
                libc::_exit(code);
            }
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above, by its PID.
        assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
        assert!(libc::WIFEXITED(status), "child status {status:#x}");
        let code = libc::WEXITSTATUS(status);
        assert_ne!(code, 9, "could not drop to uid 65534");
        assert_eq!(code & 1, 0, "process_alive(1) under EPERM must be false");
        assert_eq!(code & 2, 2, "pid_alive(1) under EPERM must be true");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("fast")
            .unwrap_err()
            .contains("not a duration"));
        assert!(parse_duration("3d")
            .unwrap_err()
            .contains("unknown unit \"d\""));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn ladders() {
        let d = Duration::from_secs(60);
        assert_eq!(
            parse_ladder("smart:60s,fast:30s,immediate", d).unwrap(),
            vec![
                Step {
                    mode: Mode::Smart,
                    limit: Duration::from_secs(60)
                },
                Step {
                    mode: Mode::Fast,
                    limit: Duration::from_secs(30)
                },
                Step {
                    mode: Mode::Immediate,
                    limit: d
                },
            ]
        );
        assert_eq!(
            parse_ladder("f:1s", d).unwrap(),
            vec![Step {
                mode: Mode::Fast,
                limit: Duration::from_secs(1)
            }]
        );
        assert!(parse_ladder("fast:10s,smart:5s", d)
            .unwrap_err()
            .contains("only escalates"));
        assert!(parse_ladder("smart:1s,smart:2s", d)
            .unwrap_err()
            .contains("does not escalate"));
        assert!(parse_ladder("smart,fast", d)
            .unwrap_err()
            .contains("needs a time limit"));
        assert!(parse_ladder("smart:1s,,fast", d)
            .unwrap_err()
            .contains("empty step"));
        assert!(parse_ladder("gentle:1s", d)
            .unwrap_err()
            .contains("unknown mode \"gentle\""));
        assert!(parse_ladder("smart:soon", d)
            .unwrap_err()
            .contains("not a duration"));
    }

    #[test]
    fn outcomes_map_to_exit_codes() {
        assert_eq!(StopOutcome::Stopped { escalated: false }.exit_code(), 0);
        assert_eq!(StopOutcome::Stopped { escalated: true }.exit_code(), 5);
        assert_eq!(StopOutcome::TimedOut.exit_code(), 1);
        assert_eq!(StopOutcome::Died.exit_code(), 1);
    }

    #[test]
    fn pid_files() {
        let pf = parse_pid_file(
            "1234\n/data\n1700000000\n5432\n/tmp\n127.0.0.1\n  5432001        26\nready   \n",
        )
        .unwrap();
        assert_eq!(pf.pid, 1234);
        assert_eq!(pf.start_time(), Some(1_700_000_000));
        assert_eq!(pf.status(), Some("ready"));
        assert_eq!(pf.shmem(), Some((5_432_001, 26)));
        assert_eq!(pf.line(4), Some("5432"));
        // Still starting: fewer lines, no status, no segment yet.
        let early = parse_pid_file("99\n/data\n1\n5432\n\n").unwrap();
        assert_eq!((early.status(), early.shmem()), (None, None));
        assert_eq!(parse_pid_file("-77\n").unwrap().pid, -77);
        assert!(parse_pid_file("").unwrap_err().contains("empty"));
        assert!(parse_pid_file("abc\n")
            .unwrap_err()
            .contains("invalid data"));
        assert!(parse_pid_file("0\n").is_err());
        assert!(parse_pid_file("99999999999\n").is_err());
    }

    #[test]
    fn opts_file_round_trip() {
        let line = r#"/usr/bin/tusk "-D" "/var/lib/tusk data" "-c" "application_name=a "quoted" b" "--allow-root" "-p" "5433""#;
        let args = parse_opts_line(line);
        assert_eq!(
            args,
            vec![
                "-D",
                "/var/lib/tusk data",
                "-c",
                "application_name=a \"quoted\" b",
                "--allow-root",
                "-p",
                "5433"
            ]
        );
        assert_eq!(
            restart_args(&args),
            vec!["-c", "application_name=a \"quoted\" b", "-p", "5433"]
        );
        assert_eq!(
            restart_args(&["-D/x".into(), "-B".into(), "1024".into()]),
            vec!["-B", "1024"]
        );
        assert!(parse_opts_line("/usr/bin/tusk").is_empty());
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("-c"), "-c");
        assert_eq!(shell_quote("work_mem=8MB"), "work_mem=8MB");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        // What the shell makes of the quoted words is the words.
        let words = ["a b", "it's", "$HOME", "x\"y", ""];
        let script = format!(
            "printf '%s\\n' {}",
            words
                .iter()
                .map(|w| shell_quote(w))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        let got = String::from_utf8(out.stdout).unwrap();
        assert_eq!(got.lines().collect::<Vec<_>>(), words.to_vec());
    }

    #[test]
    fn start_scripts() {
        let s = start_script(
            Path::new("/opt/tusk/bin/tusk"),
            Path::new("/srv/my data"),
            true,
            Some("-p 5433"),
            Some(Path::new("/var/log/tusk.log")),
        );
        assert_eq!(
            s,
            "exec /opt/tusk/bin/tusk server -D '/srv/my data' --allow-root -p 5433 < /dev/null >> /var/log/tusk.log 2>&1"
        );
        let s = start_script(Path::new("/t"), Path::new("/d"), false, None, None);
        assert_eq!(s, "exec /t server -D /d < /dev/null");
    }

    #[test]
    fn signals_and_modes() {
        assert_eq!(signal_by_name("TERM"), Some(libc::SIGTERM));
        assert_eq!(signal_by_name("SIGHUP"), Some(libc::SIGHUP));
        assert_eq!(signal_by_name("USR2"), Some(libc::SIGUSR2));
        assert_eq!(signal_by_name("STOP"), None);
        assert_eq!(Mode::parse("i").map(Mode::signal), Some(libc::SIGQUIT));
        assert_eq!(Mode::parse("smart").map(Mode::signal), Some(libc::SIGTERM));
        assert_eq!(Mode::parse("fast").map(Mode::signal), Some(libc::SIGINT));
        assert!(Mode::parse("FAST").is_none());
    }

    #[test]
    fn report_formatting() {
        assert_eq!(format_age(3.25), "3.2s");
        assert_eq!(format_age(125.0), "2m05s");
        assert_eq!(format_age(3720.0), "1h02m");
        let h = Holder {
            pid: 42,
            backend_type: "client backend".into(),
            user: "alice".into(),
            database: "postgres".into(),
            application: "".into(),
            client: None,
            state: Some("idle in transaction".into()),
            wait_event: Some("ClientRead".into()),
            xact_age: Some(12.0),
            query: "BEGIN;\n  SELECT 1".into(),
        };
        let l = holder_line(&h, 500);
        assert_eq!(
            l,
            "PID 42  user alice  database postgres  application -  state idle in transaction  xact 12.0s  waiting ClientRead  query: BEGIN; SELECT 1"
        );
        assert_eq!(holder_line(&h, 20).chars().count(), 20);
        assert_eq!(h.json()["xact_age_s"], serde_json::json!(12.0));
    }

    #[test]
    fn cli_parses_options_before_and_after_the_command() {
        let c = Cli::try_parse_from(["tusk ctl", "-D", "/d", "stop", "-m", "smart", "-t", "5"])
            .unwrap();
        assert_eq!(
            (c.data_dir.as_deref(), c.mode.as_deref(), c.timeout),
            (Some(Path::new("/d")), Some("smart"), Some(5))
        );
        let c = Cli::try_parse_from([
            "tusk ctl", "start", "-D", "/d", "-l", "/log", "-o", "-p 5433", "-o", "-B 1024", "-W",
        ])
        .unwrap();
        assert_eq!(c.options, vec!["-p 5433", "-B 1024"]);
        assert!(c.no_wait);
        assert!(Cli::try_parse_from([
            "tusk ctl",
            "stop",
            "-m",
            "smart",
            "--ladder",
            "smart:1s,fast"
        ])
        .is_err());
        let c = Cli::try_parse_from(["tusk ctl", "kill", "TERM", "123"]).unwrap();
        assert!(
            matches!(c.command, Cmd::Kill { ref signame, ref pid } if signame == "TERM" && pid == "123")
        );
    }
}
