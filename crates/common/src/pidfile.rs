//! `postmaster.pid` (and a socket's `.s.PGSQL.<port>.lock`): the one
//! parser of PostgreSQL's lock-file format, for the server that writes it
//! and for the tools that read it.
//!
//! Why one parser: the starting server (is an old lock stale?), `tusk ctl`
//! (which postmaster to signal, is it ready?), `tusk ipc` (which segment
//! does this data directory's server own?) and the leftover-segment check
//! all read the same eight lines. Three hand-written readers disagreed on
//! small things — a PID of `-2147483648` crashed one of them, line 7's key
//! was `u32` in one, `i64` in another and `u64` in a third — so the format
//! is read here once and each caller keeps only its own judgement and its
//! own words for a bad file. Pure text: no I/O, callable from any process.
//!
//! The format is PostgreSQL's, line for line:
//!
//! ```text
//! 1  postmaster PID (negative for a single-user server)
//! 2  data directory (absolute)
//! 3  start time, seconds since the epoch
//! 4  port
//! 5  first Unix-socket directory ("" if none)
//! 6  first listen address as configured ("" if no TCP)
//! 7  "%9lu %9lu": shared memory key and id
//! 8  status, always 8 characters: "starting", "stopping", "ready   ", "standby "
//! ```
//!
//! Lines 2 to 8 appear as the server gets that far, so every accessor
//! answers `None` for a line that is missing, empty or unparsable.

/// Line numbers (1-based), as PostgreSQL's `LOCK_FILE_LINE_*`.
pub const LINE_PID: usize = 1;
pub const LINE_DATA_DIR: usize = 2;
pub const LINE_START_TIME: usize = 3;
pub const LINE_PORT: usize = 4;
pub const LINE_SOCKET_DIR: usize = 5;
pub const LINE_LISTEN_ADDR: usize = 6;
pub const LINE_SHMEM_KEY: usize = 7;
pub const LINE_PM_STATUS: usize = 8;

/// Line 8's values, padded to 8 characters so that an update never
/// changes the file's length.
pub const STATUS_STARTING: &str = "starting";
pub const STATUS_STOPPING: &str = "stopping";
pub const STATUS_READY: &str = "ready   ";

/// Why a text is not a lock file. Each reader words it its own way
/// (PostgreSQL's server says "bogus data in lock file", pg_ctl "invalid
/// data in PID file").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidFileError {
    /// The file has no bytes at all (a server crashed between creating
    /// and writing it, or is doing so now).
    Empty,
    /// Line 1, trimmed, is not a non-zero PID in `i32` range.
    BadPid(String),
}

/// A parsed lock file: its PID and its lines as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidFile {
    /// Line 1 as written: negative for a single-user server. Never 0, and
    /// its absolute value fits in a `pid_t`.
    pub pid: i64,
    lines: Vec<String>,
}

impl PidFile {
    /// Parses a lock file's text. Only line 1 must be valid.
    pub fn parse(text: &str) -> Result<PidFile, PidFileError> {
        if text.is_empty() {
            return Err(PidFileError::Empty);
        }
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let first = lines.first().map(|l| l.trim()).unwrap_or("");
        match first.parse::<i64>() {
            Ok(pid) if pid != 0 && pid.unsigned_abs() <= i32::MAX as u64 => {
                Ok(PidFile { pid, lines })
            }
            _ => Err(PidFileError::BadPid(first.to_string())),
        }
    }

    /// The process to signal or test: line 1 without a single-user
    /// server's minus sign.
    pub fn postmaster_pid(&self) -> i32 {
        // parse() bounds |pid| by i32::MAX.
        self.pid.unsigned_abs() as i32
    }

    /// Line `n` (1-based) exactly as written, without its newline.
    pub fn line(&self, n: usize) -> Option<&str> {
        self.lines.get(n.checked_sub(1)?).map(String::as_str)
    }

    /// Line `n` trimmed, or `None` when it is missing or blank.
    fn field(&self, n: usize) -> Option<&str> {
        self.line(n).map(str::trim).filter(|l| !l.is_empty())
    }

    /// Line 2: the data directory.
    pub fn data_dir(&self) -> Option<&str> {
        self.field(LINE_DATA_DIR)
    }

    /// Line 3: when the postmaster started, in Unix seconds.
    pub fn start_time(&self) -> Option<i64> {
        self.field(LINE_START_TIME)?.parse().ok()
    }

    /// Line 4: the port.
    pub fn port(&self) -> Option<u32> {
        self.field(LINE_PORT)?.parse().ok()
    }

    /// Line 5: the first Unix-socket directory.
    pub fn socket_dir(&self) -> Option<&str> {
        self.field(LINE_SOCKET_DIR)
    }

    /// Line 6: the first listen address.
    pub fn listen_addr(&self) -> Option<&str> {
        self.field(LINE_LISTEN_ADDR)
    }

    /// Line 7: the shared memory key and id (see [`parse_shmem_line`]).
    pub fn shmem(&self) -> Option<(i32, i32)> {
        parse_shmem_line(self.line(LINE_SHMEM_KEY)?)
    }

    /// Line 8 without its padding: `starting`, `ready`, `stopping`,
    /// `standby`.
    pub fn status(&self) -> Option<&str> {
        self.field(LINE_PM_STATUS)
    }
}

/// Line 7 — `"%9lu %9lu"` of the segment's key and id — as
/// `(key_t, shmid)`. The key is a C `int` printed unsigned: tusk writes it
/// as 32 bits, PostgreSQL as `unsigned long`, so a negative key is either
/// `4294967295`-style or sign-extended to 64 bits; both come back as the
/// same negative `i32`.
pub fn parse_shmem_line(line: &str) -> Option<(i32, i32)> {
    let mut it = line.split_whitespace();
    let key: u64 = it.next()?.parse().ok()?;
    let id: i32 = it.next()?.parse().ok()?;
    let key = if key <= u32::MAX as u64 {
        key as u32 as i32
    } else if key >= 0xFFFF_FFFF_8000_0000 {
        key as i64 as i32
    } else {
        return None;
    };
    Some((key, id))
}

/// Line 7 as written: key (as 32 unsigned bits) and id right-aligned in 9
/// columns, as PostgreSQL prints them.
pub fn shmem_line(key: i32, id: i32) -> String {
    format!("{:9} {:9}", key as u32, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_server_file_reads_back_every_line() {
        let text = format!(
            "4242\n/var/lib/tusk\n1700000000\n5432\n/tmp\n*\n{}\n{STATUS_READY}\n",
            shmem_line(5_432_001, 26)
        );
        let pf = PidFile::parse(&text).unwrap();
        assert_eq!((pf.pid, pf.postmaster_pid()), (4242, 4242));
        assert_eq!(pf.data_dir(), Some("/var/lib/tusk"));
        assert_eq!(pf.start_time(), Some(1_700_000_000));
        assert_eq!(pf.port(), Some(5432));
        assert_eq!(pf.socket_dir(), Some("/tmp"));
        assert_eq!(pf.listen_addr(), Some("*"));
        assert_eq!(pf.shmem(), Some((5_432_001, 26)));
        assert_eq!(pf.status(), Some("ready"));
        assert_eq!(pf.line(LINE_SHMEM_KEY), Some("  5432001        26"));
        assert_eq!(pf.line(LINE_PM_STATUS), Some("ready   "));
        assert_eq!(pf.line(0), None);
        assert_eq!(pf.line(9), None);
    }

    #[test]
    fn a_starting_server_file_has_only_its_first_lines() {
        // What a postmaster writes before it has sockets and memory.
        let pf = PidFile::parse("99\n/data\n1\n5432\n\n").unwrap();
        assert_eq!(pf.socket_dir(), None);
        assert_eq!(
            (pf.status(), pf.shmem(), pf.listen_addr()),
            (None, None, None)
        );
        // A single-user server writes its PID negated.
        let single = PidFile::parse("-77\n").unwrap();
        assert_eq!((single.pid, single.postmaster_pid()), (-77, 77));
        assert_eq!(PidFile::parse(" 12 \n").unwrap().pid, 12);
    }

    #[test]
    fn bad_first_lines_are_refused_without_panicking() {
        assert_eq!(PidFile::parse(""), Err(PidFileError::Empty));
        for bad in ["\n", "abc\n", "0\n", "99999999999\n", "2147483648\n"] {
            assert_eq!(
                PidFile::parse(bad),
                Err(PidFileError::BadPid(bad.trim().to_string())),
                "{bad:?}"
            );
        }
        // i32::MIN has no positive counterpart: refused, not overflowed.
        assert!(PidFile::parse("-2147483648\n").is_err());
        assert_eq!(
            PidFile::parse("2147483647\n").unwrap().postmaster_pid(),
            i32::MAX
        );
    }

    #[test]
    fn shmem_keys_round_trip_both_ways_of_printing_a_negative_key() {
        assert_eq!(parse_shmem_line(&shmem_line(-5, 7)), Some((-5, 7)));
        assert_eq!(shmem_line(-1, 3), "4294967295         3");
        // PostgreSQL's (unsigned long) of a negative int on 64 bits.
        assert_eq!(parse_shmem_line("18446744073709551615 3"), Some((-1, 3)));
        assert_eq!(parse_shmem_line("4294967296 3"), None);
        assert_eq!(parse_shmem_line("5432001"), None);
        assert_eq!(parse_shmem_line("x 1"), None);
        assert_eq!(parse_shmem_line(""), None);
    }
}
