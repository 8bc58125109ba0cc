//! `tusk`: the one binary — `init`, `server`, `ctl`, `ipc`, `check`.
//!
//! Only the command line lives here: `init` and `server` call tusk-server,
//! `ctl`, `ipc` and `check` are tusk-ops' (library code with unit tests).
//!
//! Invoked under the name `postgres` or `tusk-postgres` (a symlink), it
//! behaves as `tusk server`, accepting PostgreSQL's server arguments, so
//! PostgreSQL's own `pg_ctl -p <that link>` can start and stop tusk.

#![deny(clippy::undocumented_unsafe_blocks)]

use clap::{ArgAction, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use tusk_ops::{check, ctl, ipc};

/// mimalloc instead of glibc's malloc: a backend allocates and frees many
/// small objects per statement (tokens, plan nodes, rows), and glibc's
/// malloc and free were 16 % of a pgbench select-only backend's CPU. The
/// server never runs threads, so fork() needs no allocator hand-off.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" {
    /// mimalloc's `mi_option_set` (mimalloc.h), linked in with the allocator.
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_arena_eager_commit` in mimalloc.h's `mi_option_e`.
const MI_OPTION_ARENA_EAGER_COMMIT: std::ffi::c_int = 4;

/// Arenas committed on first use, not when reserved: eagerly committed
/// arenas cost each idle session about 300 kB more proportional set size
/// (per-session memory is one of the figures we hold against PostgreSQL).
/// It must run before the first Rust allocation (the standard library's
/// start-up allocates before `main`, and that reserves the first arena),
/// so it is an ELF constructor.
extern "C" fn tune_allocator() {
    // SAFETY: mi_option_set only stores an option value; it takes no
    // pointers and may be called at any time, and no thread runs yet.
    unsafe { mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
}

#[used]
#[link_section = ".init_array"]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

#[derive(Parser)]
#[command(name = "tusk", version, about = "tusk: a PostgreSQL-compatible database server", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new data directory (a cluster), as initdb does.
    Init(InitArgs),
    /// Run the server (the postmaster) in the foreground.
    Server(ServerArgs),
    /// Start, stop, restart, reload and query a server, as pg_ctl does.
    #[command(disable_help_flag = true)]
    Ctl {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// List and safely remove leftover System V IPC objects.
    #[command(disable_help_flag = true)]
    Ipc {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check before start whether the kernel and limits can hold a configuration.
    #[command(disable_help_flag = true)]
    Check {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Args)]
struct InitArgs {
    /// Data directory to create (must not exist or be empty). Default: $PGDATA.
    #[arg(short = 'D', long = "pgdata", value_name = "DIR", env = "PGDATA")]
    data_dir: PathBuf,
    /// Name of the database superuser. Default: the operating-system user running tusk init.
    #[arg(short = 'U', long = "username", value_name = "NAME")]
    username: Option<String>,
    /// For tests: the cluster's first transaction id (at least 3; e.g.
    /// 4294967290 to cross 2^32 soon).
    #[arg(long = "next-xid", value_name = "XID")]
    next_xid: Option<u64>,
    /// Use checksums on data pages, verified on every read (initdb -k).
    #[arg(short = 'k', long = "data-checksums")]
    data_checksums: bool,
    /// Default authentication method for local and host connections (initdb -A).
    #[arg(short = 'A', long = "auth", value_name = "METHOD")]
    auth: Option<String>,
    /// Authentication method for local (Unix-socket) connections.
    #[arg(long = "auth-local", value_name = "METHOD")]
    auth_local: Option<String>,
    /// Authentication method for TCP/IP connections.
    #[arg(long = "auth-host", value_name = "METHOD")]
    auth_host: Option<String>,
    /// Read the new superuser's password from the first line of this file.
    #[arg(long = "pwfile", value_name = "FILE")]
    pwfile: Option<PathBuf>,
    /// Prompt for a password for the new superuser.
    #[arg(short = 'W', long = "pwprompt")]
    pwprompt: bool,
}

/// Run the tusk server (the postmaster) in the foreground.
///
/// Settings come from DATA/postgresql.conf, then from the command line in
/// order: PostgreSQL's short flags (-p -h -k -B -N) are shorthands for one
/// setting each, -c name=value (or --name=value) sets any. Stop it with
/// SIGTERM (smart), SIGINT (fast) or SIGQUIT (immediate), or `tusk ctl stop`.
#[derive(Args)]
#[command(disable_help_flag = true)]
struct ServerArgs {
    /// Data directory. Default: $PGDATA.
    #[arg(short = 'D', value_name = "DIR", env = "PGDATA")]
    data_dir: PathBuf,
    /// Set any setting, e.g. -c max_connections=200 (also --name=value).
    #[arg(short = 'c', value_name = "NAME=VALUE", action = ArgAction::Append)]
    set: Vec<String>,
    /// Print the value of a setting (base unit, as postgres -C) and exit. Also
    /// shared_memory_size (MB), shared_memory_size_bytes, num_os_semaphores.
    #[arg(short = 'C', value_name = "NAME", action = ArgAction::Append)]
    print: Vec<String>,
    /// port
    #[arg(short = 'p', value_name = "PORT", action = ArgAction::Append)]
    port: Vec<String>,
    /// listen_addresses
    #[arg(short = 'h', value_name = "HOSTS", action = ArgAction::Append)]
    host: Vec<String>,
    /// unix_socket_directories
    #[arg(short = 'k', value_name = "DIRS", action = ArgAction::Append)]
    socket_dir: Vec<String>,
    /// shared_buffers (in 8 kB pages unless a unit is given)
    #[arg(short = 'B', value_name = "NBUFFERS", action = ArgAction::Append)]
    buffers: Vec<String>,
    /// max_connections
    #[arg(short = 'N', value_name = "MAX", action = ArgAction::Append)]
    max_connections: Vec<String>,
    /// Run even as root. Only for throw-away containers and test machines:
    /// a server running as root that is subverted owns the machine.
    #[arg(long = "allow-root")]
    allow_root: bool,
    /// Print help.
    #[arg(long = "help", action = ArgAction::Help)]
    help: Option<bool>,
}

/// `--name=value` (PostgreSQL's long form of -c) becomes `-c name=value`.
fn normalise_server_args(args: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for a in args {
        if let Some(rest) = a.strip_prefix("--") {
            if rest.contains('=') {
                // PostgreSQL accepts dashes for underscores in the name only.
                let (name, value) = rest.split_once('=').unwrap_or((rest, ""));
                out.push("-c".to_string());
                out.push(format!("{}={value}", name.replace('-', "_")));
                continue;
            }
        }
        out.push(a);
    }
    out
}

fn server_options(
    m: &clap::ArgMatches,
    exe: String,
    raw: Vec<String>,
) -> tusk_server::ServerOptions {
    let a = ServerArgs::from_arg_matches(m).unwrap_or_else(|e| e.exit());
    // Keep command-line order across the different flags.
    let mut ordered: Vec<(usize, String, String)> = Vec::new();
    let mut collect = |id: &str, name: Option<&str>| {
        if let (Some(idx), Some(vals)) = (m.indices_of(id), m.get_many::<String>(id)) {
            for (i, v) in idx.zip(vals) {
                match name {
                    Some(n) => ordered.push((i, n.to_string(), v.clone())),
                    None => {
                        let (k, val) = v
                            .split_once('=')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .unwrap_or((v.clone(), String::new()));
                        ordered.push((i, k, val));
                    }
                }
            }
        }
    };
    collect("port", Some("port"));
    collect("host", Some("listen_addresses"));
    collect("socket_dir", Some("unix_socket_directories"));
    collect("buffers", Some("shared_buffers"));
    collect("max_connections", Some("max_connections"));
    collect("set", None);
    ordered.sort_by_key(|o| o.0);
    tusk_server::ServerOptions {
        data_dir: a.data_dir,
        overrides: ordered.into_iter().map(|(_, k, v)| (k, v)).collect(),
        print_settings: a.print,
        allow_root: a.allow_root,
        exe,
        argv: raw,
    }
}

/// `exe` and `recorded` are what postmaster.opts will say: the program as
/// invoked (a `postgres`-named link stays that link, so pg_ctl restart runs
/// it again) and the arguments that make it a server.
fn run_server(exe: String, recorded: Vec<String>, raw: Vec<String>) -> ExitCode {
    let normalised = normalise_server_args(raw.clone());
    let cmd = ServerArgs::augment_args(
        clap::Command::new("tusk server")
            .about("Run the tusk server (the postmaster) in the foreground"),
    );
    let m = cmd
        .try_get_matches_from(std::iter::once("tusk server".to_string()).chain(normalised))
        .unwrap_or_else(|e| e.exit());
    let opts = server_options(&m, exe, recorded);
    ExitCode::from(tusk_server::run(opts).clamp(0, 255) as u8)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let prog = argv
        .first()
        .map(|a| {
            PathBuf::from(a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    if prog == "postgres" || prog == "tusk-postgres" || prog == "postmaster" {
        let invoked = PathBuf::from(&argv[0]);
        let exe = if invoked.is_absolute() || !argv[0].contains('/') {
            if invoked.is_absolute() {
                argv[0].clone()
            } else {
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| argv[0].clone())
            }
        } else {
            std::env::current_dir()
                .map(|d| d.join(&invoked).display().to_string())
                .unwrap_or_else(|_| argv[0].clone())
        };
        let rest = argv[1..].to_vec();
        return run_server(exe, rest.clone(), rest);
    }
    if argv.get(1).map(String::as_str) == Some("server") {
        // Parsed by hand-ordered clap matches, see run_server.
        if argv.iter().skip(2).any(|a| a == "--help") {
            let mut cmd = ServerArgs::augment_args(
                clap::Command::new("tusk server")
                    .about("Run the tusk server (the postmaster) in the foreground"),
            );
            let _ = cmd.print_long_help();
            return ExitCode::SUCCESS;
        }
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "tusk".into());
        let rest = argv[2..].to_vec();
        let recorded = std::iter::once("server".to_string())
            .chain(rest.iter().cloned())
            .collect();
        return run_server(exe, recorded, rest);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Init(a) => {
            // Authentication choices are checked before anything is written.
            let auth = match tusk_server::roles::InitAuth::from_args(
                a.auth.as_deref(),
                a.auth_local.as_deref(),
                a.auth_host.as_deref(),
                a.pwfile.as_deref(),
                a.pwprompt,
            ) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("tusk init: error: {e}");
                    return ExitCode::from(1);
                }
            };
            match tusk_server::datadir::init_with(
                &a.data_dir,
                a.username.as_deref(),
                a.next_xid,
                a.data_checksums,
            )
            .and_then(|user| auth.apply(&a.data_dir).map(|()| user))
            {
                Ok(user) => {
                    println!(
                        "The files belonging to this database system will be owned by user \"{}\".",
                        tusk_server::datadir::os_user_name()
                    );
                    println!("The database superuser is \"{user}\".");
                    println!("\nSuccess. You can now start the database server using:\n\n    tusk server -D {}\n", a.data_dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("tusk init: error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Server(_) => unreachable!("handled above"),
        Command::Ctl { args } => ctl::run(args),
        Command::Ipc { args } => ipc::run(args),
        Command::Check { args } => check::run(args),
    }
}

#[allow(dead_code)]
fn command() -> clap::Command {
    Cli::command()
}
