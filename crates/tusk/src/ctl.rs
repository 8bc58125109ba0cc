//! `tusk ctl` (placeholder until its issue lands).

use std::process::ExitCode;

/// Entry point: `args` are the arguments after the subcommand name.
pub fn run(args: Vec<String>) -> ExitCode {
    let _ = args;
    eprintln!("tusk: this command is not available yet; nothing was done.");
    ExitCode::from(2)
}
