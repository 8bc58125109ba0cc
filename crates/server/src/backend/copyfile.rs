//! COPY to or from a server file or program: the backend's side of
//! `COPY t FROM '/path'`, `COPY t TO '/path'` and `... PROGRAM 'cmd'`.
//!
//! Why here and not in tusk-sql: the SQL crate binds the statement (and
//! checks the predefined roles), cuts lines and formats rows the same way
//! for every endpoint; opening files and starting a shell belong to the
//! process that runs the statement, as do its interrupts (a cancel or
//! statement_timeout stops a long COPY between chunks). The program runs
//! under `/bin/sh -c` in the data directory, as PostgreSQL's popen does;
//! its failure is PostgreSQL's 38000 "program ... failed" with the wait
//! status in the DETAIL.
//!
//! Called only by the backend running the COPY statement.

use super::Session;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use tusk_common::{sqlstate, PgError};
use tusk_sql::{CopyEndpoint, Value};
use tusk_storage::smgr::{file_access_code, strerror};

/// The size of one read from the file or pipe.
const CHUNK: usize = 64 * 1024;

/// PostgreSQL's wait_result_to_str, for the DETAIL of a failed program.
fn wait_status_text(st: ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(126), _) => "command not executable".into(),
        (Some(127), _) => "command not found".into(),
        (Some(c), _) => format!("child process exited with exit code {c}"),
        (None, Some(s)) => {
            // SAFETY: strsignal returns a pointer to a static (or
            // thread-local) string for any signal number.
            let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(s)) };
            format!(
                "child process was terminated by signal {s}: {}",
                name.to_string_lossy()
            )
        }
        (None, None) => "child process exited with unrecognized status".into(),
    }
}

fn program_failed(cmd: &str, st: ExitStatus) -> PgError {
    PgError::error(
        sqlstate::EXTERNAL_ROUTINE_EXCEPTION,
        format!("program \"{cmd}\" failed"),
    )
    .with_detail(wait_status_text(st))
}

fn spawn(cmd: &str, reading: bool) -> Result<Child, PgError> {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(cmd);
    if reading {
        c.stdin(Stdio::null()).stdout(Stdio::piped());
    } else {
        c.stdin(Stdio::piped()).stdout(Stdio::null());
    }
    c.spawn().map_err(|e| {
        PgError::error(
            file_access_code(&e),
            format!("could not execute command \"{cmd}\": {}", strerror(&e)),
        )
    })
}

/// Waits for a COPY program; its failure is the statement's error unless
/// the statement failed already (that error wins, as in PostgreSQL).
fn reap(cmd: &str, mut child: Child) -> Result<(), PgError> {
    match child.wait() {
        Ok(st) if st.success() => Ok(()),
        Ok(st) => Err(program_failed(cmd, st)),
        Err(e) => Err(PgError::error(
            sqlstate::EXTERNAL_ROUTINE_EXCEPTION,
            format!("could not close pipe to external command: {}", strerror(&e)),
        )),
    }
}

impl Session {
    /// Runs a COPY whose endpoint is a server file or program.
    pub(super) fn run_copy_server(
        &mut self,
        p: &tusk_sql::Prepared,
        dir: tusk_sql::CopyDirection,
        endpoint: CopyEndpoint,
        params: Vec<Value>,
    ) -> Result<String, PgError> {
        match dir {
            tusk_sql::CopyDirection::In { .. } => self.copy_from_server(p, &endpoint),
            tusk_sql::CopyDirection::Out { .. } => self.copy_to_server(p, &endpoint, params),
        }
    }

    fn copy_from_server(
        &mut self,
        p: &tusk_sql::Prepared,
        endpoint: &CopyEndpoint,
    ) -> Result<String, PgError> {
        let Some(mut cin) = p.copy_in() else {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "COPY FROM without its plan",
            ));
        };
        let (mut reader, child): (Box<dyn Read>, Option<(&str, Child)>) = match endpoint {
            CopyEndpoint::File(f) => {
                let file = File::open(f).map_err(|e| {
                    let mut err = PgError::error(
                        file_access_code(&e),
                        format!("could not open file \"{f}\" for reading: {}", strerror(&e)),
                    );
                    if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::EACCES)) {
                        err = err.with_hint("COPY FROM instructs the PostgreSQL server process to read a file. You may want a client-side facility such as psql's \\copy.");
                    }
                    err
                })?;
                let is_dir = file.metadata().map(|m| m.is_dir()).map_err(|e| {
                    PgError::error(
                        file_access_code(&e),
                        format!("could not stat file \"{f}\": {}", strerror(&e)),
                    )
                })?;
                if is_dir {
                    return Err(PgError::error(
                        sqlstate::WRONG_OBJECT_TYPE,
                        format!("\"{f}\" is a directory"),
                    ));
                }
                (Box::new(file), None)
            }
            CopyEndpoint::Program(cmd) => {
                let mut child = spawn(cmd, true)?;
                let Some(out) = child.stdout.take() else {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        "COPY program without its pipe",
                    ));
                };
                (Box::new(out), Some((cmd.as_str(), child)))
            }
            CopyEndpoint::Client => {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "COPY from the client is not a server-side COPY",
                ))
            }
        };
        let mut buf = vec![0u8; CHUNK];
        let fed = (|| loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.process_interrupts(false)?;
                    continue;
                }
                Err(e) => {
                    return Err(PgError::error(
                        file_access_code(&e),
                        format!("could not read from COPY file: {}", strerror(&e)),
                    ))
                }
            };
            cin.feed(&buf[..n], self)?;
            self.process_interrupts(false)?;
        })();
        // Close our end before waiting, so that a program still writing
        // gets SIGPIPE instead of blocking for ever.
        drop(reader);
        let waited = match child {
            Some((cmd, c)) => {
                if fed.is_err() {
                    let mut c = c;
                    let _ = c.kill();
                    let _ = c.wait();
                    Ok(())
                } else {
                    reap(cmd, c)
                }
            }
            None => Ok(()),
        };
        fed?;
        waited?;
        cin.finish(self)
    }

    fn copy_to_server(
        &mut self,
        p: &tusk_sql::Prepared,
        endpoint: &CopyEndpoint,
        params: Vec<Value>,
    ) -> Result<String, PgError> {
        let (writer, child): (Box<dyn Write>, Option<(&str, Child)>) = match endpoint {
            CopyEndpoint::File(f) => {
                // The server's umask (077) keeps its own files private; a
                // COPY file is for others to read, so PostgreSQL opens it
                // under umask 022: 0644.
                // SAFETY: umask only swaps the process's mask; one thread.
                let saved = unsafe { libc::umask(0o022) };
                let opened = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o666)
                    .open(f);
                // SAFETY: as above, restoring the mask.
                unsafe { libc::umask(saved) };
                let file = opened
                    .map_err(|e| {
                        let mut err = PgError::error(
                            file_access_code(&e),
                            format!("could not open file \"{f}\" for writing: {}", strerror(&e)),
                        );
                        if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::EACCES)) {
                            err = err.with_hint("COPY TO instructs the PostgreSQL server process to write a file. You may want a client-side facility such as psql's \\copy.");
                        }
                        err
                    })?;
                (Box::new(io::BufWriter::with_capacity(CHUNK, file)), None)
            }
            CopyEndpoint::Program(cmd) => {
                let mut child = spawn(cmd, false)?;
                let Some(inp) = child.stdin.take() else {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        "COPY program without its pipe",
                    ));
                };
                (
                    Box::new(io::BufWriter::with_capacity(CHUNK, inp)),
                    Some((cmd.as_str(), child)),
                )
            }
            CopyEndpoint::Client => {
                return Err(PgError::error(
                    sqlstate::INTERNAL_ERROR,
                    "COPY to the client is not a server-side COPY",
                ))
            }
        };
        let mut writer = writer;
        let write_failed = |e: io::Error| {
            PgError::error(
                file_access_code(&e),
                format!("could not write to COPY file: {}", strerror(&e)),
            )
        };
        let written = (|| {
            let rels = self.relations_for(p);
            let mut ex = tusk_sql::start(p, params, self, &rels)?;
            if let Some(h) = p.copy_out_header() {
                writer.write_all(&h).map_err(write_failed)?;
            }
            let mut n: u64 = 0;
            while let Some(row) = ex.next(self)? {
                writer
                    .write_all(&p.copy_out_row(&row))
                    .map_err(write_failed)?;
                n += 1;
                self.process_interrupts(false)?;
            }
            writer.flush().map_err(write_failed)?;
            Ok(n)
        })();
        drop(writer);
        let waited = match child {
            Some((cmd, c)) => reap(cmd, c),
            None => Ok(()),
        };
        // A program that exits early breaks the pipe: its exit status
        // says more than EPIPE, as PostgreSQL reports it.
        let n = match (written, waited) {
            (Ok(n), Ok(())) => n,
            (Err(e), Ok(())) => return Err(e),
            (_, Err(e)) => return Err(e),
        };
        Ok(format!("COPY {n}"))
    }
}
