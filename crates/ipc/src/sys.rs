//! Small helpers around errno shared by every module of the crate.
//!
//! Why not `io::Error`'s Display: it appends " (os error 22)", while
//! PostgreSQL prints `%m`, the bare `strerror` text ("Invalid argument"),
//! and operators and scripts match on those messages.

use std::ffi::CStr;
use std::io;

/// The creation flags tusk passes to `shmget`/`semget`: `IPC_CREAT |
/// IPC_EXCL | 0600`. PostgreSQL prints them as `03600`.
pub const IPC_CREATE_FLAGS: i32 = libc::IPC_CREAT | libc::IPC_EXCL | 0o600;

/// errno of the last failed call in this thread.
pub(crate) fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The C library's text for `errno`, as `%m` prints it.
pub fn errno_text(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the libc crate binds the XSI strerror_r (glibc's
    // __xpg_strerror_r), which writes at most buf.len() bytes including the
    // NUL and returns non-zero on failure.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("Unknown error {errno}");
    }
    // SAFETY: strerror_r succeeded, so buf holds a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
    text.to_string_lossy().into_owned()
}

/// An `io::Error` for an errno value, for APIs that return `io::Result`.
/// Building it does not allocate, so it is usable in signal handlers.
pub(crate) fn os_error(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

/// The creation flags in PostgreSQL's `0%o` notation.
pub(crate) fn flags_octal(flags: i32) -> String {
    format!("0{flags:o}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_is_bare_strerror() {
        assert_eq!(errno_text(libc::EINVAL), "Invalid argument");
        assert_eq!(errno_text(libc::ENOSPC), "No space left on device");
    }

    #[test]
    fn create_flags_print_as_postgresql_does() {
        assert_eq!(flags_octal(IPC_CREATE_FLAGS), "03600");
    }
}
