//! Creating, handing to children, and destroying the shared-memory region
//! and the semaphores.
//!
//! `shared_memory_type = sysv` (tusk's default, the seeds' model): the
//! whole region is one System V segment at key port × 1000 + 1 (or the
//! next free key). `mmap`: the System V segment holds only the header,
//! kept because its attach count is the one portable way to ask the
//! kernel whether processes of an old server still exist; the region
//! itself is an anonymous shared mapping that children inherit across
//! fork, and the only kind that can use huge pages.
//!
//! Semaphores: one per proc slot that can wait, in sets of 16 plus a
//! marker, at the keys after the segment's key.
//!
//! Only the postmaster creates and destroys; children get a
//! [`ChildShared`], a view that can never remove anything.

use std::path::Path;
use tusk_common::{sqlstate, PgError};
use tusk_config::Settings;
use tusk_ipc::header::{AreaEntry, ShmemHeader, HEADER_SIZE};
use tusk_ipc::sem::{SemSet, SEMAS_PER_SET};
use tusk_ipc::shm::Segment;
use tusk_storage::layout::{AreaId, Layout, Sizing};
use tusk_storage::procarray::{ProcArray, SharedControl};

/// The layout for a configuration: what `-C shared_memory_size`, `tusk
/// check` and [`Shared::create`] all use.
pub fn layout_for(settings: &Settings) -> (Sizing, Layout) {
    let z = Sizing::from_settings(settings);
    let l = Layout::compute(&z, HEADER_SIZE);
    (z, l)
}

pub fn first_key(port: u16) -> i32 {
    port as i32 * 1000 + 1
}

fn is_mmap(settings: &Settings) -> bool {
    settings.str("shared_memory_type") == "mmap"
}

pub struct Shared {
    segment: Segment,
    mapping: Option<tusk_ipc::mmap::AnonMapping>,
    layout: Layout,
    sizing: Sizing,
    sems: Vec<SemSet>,
}

/// What a child needs: views into the region and the semaphore handles.
#[derive(Clone)]
pub struct ChildShared {
    pub procs: ProcArray,
    control: *const SharedControl,
    sems: Vec<SemSet>,
}

impl ChildShared {
    pub fn control(&self) -> &'static SharedControl {
        // SAFETY: the region stays mapped for the life of every child.
        unsafe { &*self.control }
    }

    /// The semaphore of proc slot `slot`.
    pub fn semaphore(&self, slot: usize) -> (SemSet, usize) {
        (self.sems[slot / SEMAS_PER_SET], slot % SEMAS_PER_SET)
    }
}

impl Shared {
    pub fn create(settings: &Settings, data_dir: &Path, port: u16) -> Result<Shared, PgError> {
        let (sizing, layout) = layout_for(settings);
        let mmap = is_mmap(settings);
        let huge = settings.str("huge_pages");
        if !mmap && huge == "on" {
            return Err(PgError::fatal(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "huge pages not supported with the current shared_memory_type setting",
            )
            .with_hint("Set shared_memory_type = mmap to use huge pages, or huge_pages = try."));
        }
        let seg_size = if mmap { HEADER_SIZE } else { layout.total };
        let areas = layout.areas.clone();
        let total = layout.total;
        let mut area_error = None;
        let segment = tusk_ipc::keys::create_main_segment(
            first_key(port),
            seg_size,
            data_dir,
            |h: &mut ShmemHeader| {
                h.port = port as u32;
                h.mode = if mmap {
                    tusk_ipc::header::MODE_MMAP
                } else {
                    tusk_ipc::header::MODE_SYSV
                };
                h.total_size = total as u64;
                for a in &areas {
                    if let Err(e) =
                        h.add_area(AreaEntry::new(a.id as u32, a.offset as u64, a.size as u64))
                    {
                        area_error = Some(e.to_string());
                    }
                }
            },
        )
        .map_err(|e| crate::resources::explain_ipc_failure(settings, &e.into()))?;
        if let Some(e) = area_error {
            let _ = segment.remove();
            return Err(PgError::fatal(sqlstate::INTERNAL_ERROR, e));
        }
        let mapping = if mmap {
            let mode = match huge {
                "on" => tusk_ipc::mmap::HugePages::On,
                "off" => tusk_ipc::mmap::HugePages::Off,
                _ => tusk_ipc::mmap::HugePages::Try,
            };
            match tusk_ipc::mmap::AnonMapping::create(layout.total, mode) {
                Ok(m) => Some(m),
                Err(e) => {
                    let _ = segment.remove();
                    return Err(crate::resources::explain_ipc_failure(settings, &e.into()));
                }
            }
        } else {
            None
        };
        let nsets = sizing.semaphores().div_ceil(SEMAS_PER_SET);
        let sems = match tusk_ipc::keys::create_sem_sets(segment.key() + 1, nsets) {
            Ok(s) => s,
            Err(e) => {
                let _ = segment.remove();
                return Err(crate::resources::explain_ipc_failure(settings, &e.into()));
            }
        };
        let sh = Shared {
            segment,
            mapping,
            layout,
            sizing,
            sems,
        };
        sh.procs().init();
        // SAFETY: freshly created, nobody else attached.
        unsafe {
            std::ptr::write_bytes(
                sh.base().add(sh.layout.area(AreaId::Control).offset),
                0,
                std::mem::size_of::<SharedControl>(),
            )
        };
        Ok(sh)
    }

    fn base(&self) -> *mut u8 {
        match &self.mapping {
            Some(m) => m.base(),
            None => self.segment.base(),
        }
    }

    fn procs(&self) -> ProcArray {
        let a = self.layout.area(AreaId::ProcArray);
        // SAFETY: the area lies inside the mapping, which outlives every use.
        unsafe {
            ProcArray::from_raw(
                self.base().add(a.offset),
                self.sizing.total_procs(),
                self.sizing.max_connections,
            )
        }
    }

    pub fn control(&self) -> &SharedControl {
        let a = self.layout.area(AreaId::Control);
        // SAFETY: as above.
        unsafe { &*(self.base().add(a.offset) as *const SharedControl) }
    }

    pub fn child_handle(&self) -> ChildShared {
        ChildShared {
            procs: self.procs(),
            control: self.control() as *const _,
            sems: self.sems.clone(),
        }
    }

    pub fn key(&self) -> i32 {
        self.segment.key()
    }

    pub fn id(&self) -> i32 {
        self.segment.id()
    }

    pub fn sizing(&self) -> &Sizing {
        &self.sizing
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn describe_segment(&self) -> String {
        let k = self.segment.key();
        match &self.mapping {
            None => format!("shared memory segment key {k} (0x{:08x}) id {} of {} bytes (sysv)", k as u32, self.segment.id(), self.layout.total),
            Some(m) => format!(
                "shared memory: {} bytes in an anonymous shared mapping{}, interlock segment key {k} (0x{:08x}) id {} of {} bytes (mmap)",
                self.layout.total,
                if m.huge_pages() { " on huge pages" } else { "" },
                k as u32,
                self.segment.id(),
                self.segment.size()
            ),
        }
    }

    pub fn describe_semaphores(&self) -> String {
        let ids: Vec<String> = self.sems.iter().map(|s| s.id().to_string()).collect();
        let first = self.sems.first().map(|s| s.key()).unwrap_or(0);
        let last = self.sems.last().map(|s| s.key()).unwrap_or(0);
        format!(
            "{} semaphore sets (keys {first}..{last}, ids {}) of {}+1 semaphores for {} waiting processes",
            self.sems.len(),
            ids.join(","),
            SEMAS_PER_SET,
            self.sizing.semaphores()
        )
    }

    /// Removes the semaphores and the segment. Only the postmaster calls
    /// this, when no child is left (clean exit or crash restart).
    pub fn destroy(self) {
        for s in &self.sems {
            if let Err(e) = s.remove() {
                tusk_common::elog::log(format!("could not remove semaphore set {}: {e}", s.id()));
            }
        }
        if let Err(e) = self.segment.remove() {
            tusk_common::elog::log(format!(
                "could not remove shared memory segment {}: {e}",
                self.segment.id()
            ));
        }
        drop(self.mapping);
        drop(self.segment);
    }
}

/// Judges line 7 of a stale postmaster.pid: the segment it names must not
/// still be attached by processes of the old server.
pub fn check_leftover(line7: &str, data_dir: &Path) -> Result<(), PgError> {
    let Some((key, id)) = tusk_common::pidfile::parse_shmem_line(line7) else {
        return Ok(());
    };
    let dd = tusk_ipc::keys::datadir_identity(data_dir).ok();
    match tusk_ipc::keys::judge_segment(id, dd) {
        tusk_ipc::keys::SegmentState::TuskAttached(_, nattch) => {
            let pids = tusk_ipc::shm::attached_pids(key, id);
            let who = if pids.is_empty() {
                format!("{nattch} process(es)")
            } else {
                format!(
                    "PID {}",
                    pids.iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            Err(PgError::fatal(
                sqlstate::LOCK_FILE_EXISTS,
                format!(
                    "pre-existing shared memory block (key {}, ID {id}) is still in use",
                    key as u32
                ),
            )
            .with_detail(format!("It is attached by {who}."))
            .with_hint(format!(
                "Terminate any old server processes associated with data directory \"{}\".",
                data_dir.display()
            )))
        }
        _ => Ok(()),
    }
}
