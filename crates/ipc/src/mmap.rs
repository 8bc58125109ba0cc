//! Anonymous shared mappings for `shared_memory_type = mmap`: the bulk of
//! shared memory outside System V (no SHMMAX/SHMALL limits), optionally on
//! huge pages. The header-only System V segment stays as the interlock
//! (its attach count), see [`crate::keys`].
//!
//! Why MAP_SHARED|MAP_ANONYMOUS: children forked after the mapping share
//! it, and nothing exists outside the processes that map it, so a crash
//! leaves nothing behind. Unlike a [`crate::shm::Segment`], dropping an
//! [`AnonMapping`] unmaps it: each process's mapping is its own.
//!
//! Huge pages (Linux `MAP_HUGETLB`): the request is rounded up to a
//! multiple of the huge page size, since the kernel would round it anyway
//! and munmap with the unrounded length would then fail. `Try` falls back
//! to normal pages at the original size; `On` fails with the rounded size
//! in the error, so the operator knows how many huge pages to reserve.

use crate::limits;
use crate::shm::fmt_report;
use crate::sys::errno_text;
use tusk_common::{elog, sqlstate, PgError};

/// Whether to use huge pages (the `huge_pages` setting's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HugePages {
    Off,
    Try,
    On,
}

/// Page size assumed when /proc/meminfo does not say (as PostgreSQL does).
pub const DEFAULT_HUGE_PAGE_SIZE: usize = 2 * 1024 * 1024;

/// An anonymous shared mapping; unmapped on drop.
#[derive(Debug)]
pub struct AnonMapping {
    base: *mut u8,
    size: usize,
    huge_page_size: Option<usize>,
}

/// Why [`AnonMapping::create`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmapError {
    /// Bytes requested from mmap: rounded up to the huge page size when
    /// huge pages were required.
    pub size: usize,
    pub errno: i32,
    /// The huge page size the failed call used, if it used MAP_HUGETLB.
    pub huge_page_size: Option<usize>,
}

impl MmapError {
    /// The FATAL report with PostgreSQL's message, the limit that was hit
    /// (memory accounting, free huge pages), its current value read from
    /// the kernel now, and the command that raises it.
    pub fn to_pg_error(&self) -> PgError {
        self.report(&limits::KernelView::read()).0
    }

    /// The report against a given view of the kernel, and the limit that
    /// was hit.
    pub fn report(&self, view: &limits::KernelView) -> (PgError, limits::Exceeded) {
        let ex = limits::diagnose_mmap(
            self.errno,
            self.size as u64,
            self.huge_page_size.map(|n| n as u64),
            view,
        );
        // PostgreSQL's hint (the request size, what to reduce) stays,
        // after the diagnosis.
        let plain = self.plain_report();
        let generic = plain.hint.clone();
        let mut e = crate::keys::with_diagnosis(plain, &ex);
        if let (Some(g), Some(h)) = (generic, e.hint.as_mut()) {
            if !h.contains(&g) {
                h.push('\n');
                h.push_str(&g);
            }
        }
        (e, ex)
    }

    /// PostgreSQL's report alone.
    fn plain_report(&self) -> PgError {
        let flags = if self.huge_page_size.is_some() {
            "MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB"
        } else {
            "MAP_SHARED|MAP_ANONYMOUS"
        };
        let mut e = PgError::fatal(
            sqlstate::INTERNAL_ERROR,
            format!(
                "could not map anonymous shared memory: {}",
                errno_text(self.errno)
            ),
        )
        .with_detail(format!(
            "Failed system call was mmap(NULL, {}, PROT_READ|PROT_WRITE, {flags}, -1, 0).",
            self.size
        ));
        if self.errno == libc::ENOMEM {
            let mut hint = format!(
                "This error usually means that tusk's request for a shared memory segment exceeded available memory, \
                 swap space, or huge pages. To reduce the request size (currently {} bytes), reduce tusk's shared \
                 memory usage, perhaps by reducing shared_buffers or max_connections.",
                self.size
            );
            if let Some(hp) = self.huge_page_size {
                hint.push_str(&format!(
                    "\nWith huge pages the request needs {} free huge pages of {} kB (see HugePages_Free in \
                     /proc/meminfo and the sysctl vm.nr_hugepages).",
                    self.size.div_ceil(hp),
                    hp / 1024
                ));
            }
            e = e.with_hint(hint);
        }
        e
    }
}

impl std::fmt::Display for MmapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_report(f, &self.to_pg_error())
    }
}

impl std::error::Error for MmapError {}

fn map(size: usize, extra_flags: libc::c_int) -> Result<*mut u8, i32> {
    // SAFETY: a fresh anonymous mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS | extra_flags,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(crate::sys::errno());
    }
    Ok(p as *mut u8)
}

impl AnonMapping {
    /// Maps `size` bytes; with huge pages (`Try`, `On`) at the system's
    /// default huge page size.
    pub fn create(size: usize, huge: HugePages) -> Result<AnonMapping, MmapError> {
        Self::create_with_page_size(size, huge, 0)
    }

    /// As [`AnonMapping::create`], with an explicit huge page size in bytes
    /// (the `huge_page_size` setting; 0 = the system default). A size other
    /// than the default is encoded into the mmap flags (MAP_HUGE_SHIFT).
    pub fn create_with_page_size(
        size: usize,
        huge: HugePages,
        huge_page_size: usize,
    ) -> Result<AnonMapping, MmapError> {
        if huge != HugePages::Off {
            let default = limits::huge_page_size().and_then(|n| usize::try_from(n).ok());
            let hp = if huge_page_size != 0 {
                huge_page_size
            } else {
                default.unwrap_or(DEFAULT_HUGE_PAGE_SIZE)
            };
            let mut flags = libc::MAP_HUGETLB;
            if Some(hp) != default {
                if !hp.is_power_of_two() {
                    return Err(MmapError {
                        size,
                        errno: libc::EINVAL,
                        huge_page_size: Some(hp),
                    });
                }
                flags |= ((hp.trailing_zeros() as libc::c_int) & libc::MAP_HUGE_MASK)
                    << libc::MAP_HUGE_SHIFT;
            }
            let rounded = size.checked_next_multiple_of(hp).unwrap_or(usize::MAX);
            match map(rounded, flags) {
                Ok(base) => {
                    return Ok(AnonMapping {
                        base,
                        size: rounded,
                        huge_page_size: Some(hp),
                    })
                }
                Err(errno) if huge == HugePages::On => {
                    return Err(MmapError {
                        size: rounded,
                        errno,
                        huge_page_size: Some(hp),
                    });
                }
                Err(errno) => elog::debug(format!(
                    "mmap({rounded}) with MAP_HUGETLB failed, huge pages disabled: {}",
                    errno_text(errno)
                )),
            }
        }
        match map(size, 0) {
            Ok(base) => Ok(AnonMapping {
                base,
                size,
                huge_page_size: None,
            }),
            Err(errno) => Err(MmapError {
                size,
                errno,
                huge_page_size: None,
            }),
        }
    }

    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// The mapped size: the request, or rounded up to the huge page size.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether huge pages back the mapping (what `huge_pages_status` shows).
    pub fn huge_pages(&self) -> bool {
        self.huge_page_size.is_some()
    }

    pub fn huge_page_size(&self) -> Option<usize> {
        self.huge_page_size
    }
}

impl Drop for AnonMapping {
    fn drop(&mut self) {
        // SAFETY: exactly the range mmap returned, which nothing else owns.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_pages_are_shared_and_writable() {
        let m = AnonMapping::create(1 << 20, HugePages::Off).unwrap();
        assert_eq!(m.size(), 1 << 20);
        assert!(!m.huge_pages());
        // SAFETY: inside the mapping.
        unsafe {
            *m.base() = 7;
            *m.base().add((1 << 20) - 1) = 9;
            assert_eq!(*m.base(), 7);
        }
    }

    #[test]
    fn try_reports_which_pages_it_got() {
        let size = 3 * 1024 * 1024 + 5;
        let m = AnonMapping::create(size, HugePages::Try).unwrap();
        match m.huge_page_size() {
            // Huge pages: the request was rounded up to whole pages.
            Some(hp) => assert_eq!(m.size(), size.next_multiple_of(hp)),
            // Fallback: the original, unrounded size.
            None => assert_eq!(m.size(), size),
        }
    }

    #[test]
    fn on_either_maps_huge_pages_or_names_the_rounded_size() {
        let size = 3 * 1024 * 1024 + 5;
        let hp = limits::huge_page_size()
            .map(|n| n as usize)
            .unwrap_or(DEFAULT_HUGE_PAGE_SIZE);
        match AnonMapping::create(size, HugePages::On) {
            Ok(m) => {
                assert!(m.huge_pages());
                assert_eq!(m.size(), size.next_multiple_of(hp));
            }
            Err(e) => {
                assert_eq!(e.size, size.next_multiple_of(hp));
                assert_eq!(e.huge_page_size, Some(hp));
                let text = e.to_string();
                assert!(
                    text.starts_with("could not map anonymous shared memory: "),
                    "{text}"
                );
                assert!(text.contains("MAP_HUGETLB"), "{text}");
            }
        }
    }

    #[test]
    fn enomem_hint_names_the_request() {
        let e = MmapError {
            size: 2_241_184_104_448,
            errno: libc::ENOMEM,
            huge_page_size: None,
        };
        let pg = e.to_pg_error();
        assert_eq!(
            pg.message,
            "could not map anonymous shared memory: Cannot allocate memory"
        );
        assert!(pg.hint.unwrap().contains("currently 2241184104448 bytes"));
        let e = MmapError {
            size: 150_994_944,
            errno: libc::ENOMEM,
            huge_page_size: Some(2 << 20),
        };
        assert!(e
            .to_pg_error()
            .hint
            .unwrap()
            .contains("72 free huge pages of 2048 kB"));
    }

    #[test]
    fn zero_size_is_an_error_not_a_panic() {
        let e = AnonMapping::create(0, HugePages::Off).unwrap_err();
        assert_eq!(e.errno, libc::EINVAL);
    }
}
