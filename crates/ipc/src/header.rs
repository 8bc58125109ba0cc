//! tusk's segment header at offset 0 of the main System V segment, and a
//! reader for PostgreSQL's header so that `tusk ipc` can name PostgreSQL's
//! segments too.
//!
//! Why a header at all: a System V segment carries no owner information a
//! restarting server could trust beyond uid and creator PID (which may be
//! recycled). The header proves which data directory (device + inode) a
//! segment belongs to, so a server reclaims only its own leftovers and
//! `tusk ipc` can say what each segment is. It is also where each shared
//! area's offset is published, as offsets (never pointers): every process
//! that attaches may map the segment at a different address.
//!
//! Layout (layout version 2, little-endian x86-64, 2624 bytes, repr(C),
//! every field naturally aligned, no implicit padding):
//!
//! ```text
//!  offset  size  field
//!  ------  ----  ---------------------------------------------------------
//!       0     8  magic           TUSK_SHMEM_MAGIC, the bytes "tuskSHM1"
//!       8     4  layout_version  LAYOUT_VERSION (2)
//!      12     4  creator_pid     getpid() of the creating postmaster
//!      16     8  datadir_dev     st_dev of the data directory
//!      24     8  datadir_ino     st_ino of the data directory
//!  ------  ----  ^ frozen: every future layout keeps these at these offsets
//!      32     8  total_size      bytes of the whole region (the SysV segment
//!                                for mode 0; the anonymous mapping for mode 1)
//!      40     4  port            the server's port, for display
//!      44     4  mode            0 = everything in this SysV segment,
//!                                1 = header-only SysV segment, bulk in an
//!                                    anonymous mmap (shared_memory_type=mmap)
//!      48     4  area_count      entries used in `areas` (<= MAX_AREAS)
//!      52     4  header_size     size_of::<ShmemHeader>() of the writer
//!      56     8  created_at      Unix time (seconds) of creation
//!      64  1536  areas[64]       AreaEntry { id u32, reserved u32,
//!                                            offset u64, size u64 }, 24 bytes
//!    1600  1024  datadir         data directory path, NUL-padded, display only
//!    2624        end
//! ```
//!
//! Layout 1 (before the area registry) had 16 area entries, the path at
//! 448 and 1472 bytes in all; [`ShmemHeader::read`] still recognises such
//! a segment by the frozen prefix and recovers its path for display.
//!
//! Write order (see [`ShmemHeader::write_new`]): magic zero, creator PID,
//! the rest, a Release fence, then the magic. A reader that sees a valid
//! magic (loaded with Acquire) therefore also sees the PID and the data
//! directory identity, never a half-written header. PostgreSQL orders its
//! writes the same way for the same reason.
//!
//! PostgreSQL's own header (9.4 to 18, x86-64, 56 bytes) is read by
//! [`read_pg_header`]:
//!
//! ```text
//!   0 int32 magic (679834894)   4 pid_t creatorPID   8 Size totalsize
//!  16 Size freeoffset          24 uint32 dsm_control (+4 pad)
//!  32 void *index              40 dev_t device      48 ino_t inode
//! ```

use std::mem::{offset_of, size_of};
use std::path::Path;
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// tusk's magic: the ASCII bytes "tuskSHM1" at offset 0, so that a hex dump
/// of the segment says what it is. Its low 32 bits differ from
/// [`PG_SHMEM_MAGIC`], so the two servers never mistake each other's segment.
pub const TUSK_SHMEM_MAGIC: u64 = u64::from_le_bytes(*b"tuskSHM1");

/// Layout of the fields after the frozen prefix. Bump it when they change.
/// 2: the area table grew from 16 to 64 entries (the area registry).
pub const LAYOUT_VERSION: u32 = 2;

/// How many shared areas the header can list: room for PostgreSQL's ~80
/// ShmemIndex entries' worth of subsystems as they arrive.
pub const MAX_AREAS: usize = 64;

/// Layout 1's size and path offset, to read an old segment's path.
const V1_HEADER_SIZE: usize = 1472;
const V1_DATADIR_OFFSET: usize = 448;

/// The frozen prefix: magic to `datadir_ino`, the same in every layout.
pub const FROZEN_PREFIX: usize = 32;

/// Bytes reserved for the data directory path (including the final NUL).
pub const DATADIR_BYTES: usize = 1024;

/// Size of [`ShmemHeader`]: the smallest segment that can hold one.
pub const HEADER_SIZE: usize = size_of::<ShmemHeader>();

/// `mode`: the whole region is this System V segment.
pub const MODE_SYSV: u32 = 0;
/// `mode`: this System V segment holds only the header (its attach count is
/// the interlock); the bulk lives in an anonymous shared mapping.
pub const MODE_MMAP: u32 = 1;

/// PostgreSQL's `PGShmemMagic` (8.2 and later).
pub const PG_SHMEM_MAGIC: u32 = 679_834_894;

/// Size of PostgreSQL 9.4–18's `PGShmemHeader` on x86-64.
pub const PG_HEADER_SIZE: usize = 56;

/// One shared area: an id chosen by the caller (the storage layer numbers
/// its areas), and where it lives relative to the start of the region.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AreaEntry {
    pub id: u32,
    reserved: u32,
    pub offset: u64,
    pub size: u64,
}

impl AreaEntry {
    pub fn new(id: u32, offset: u64, size: u64) -> AreaEntry {
        AreaEntry {
            id,
            reserved: 0,
            offset,
            size,
        }
    }
}

/// tusk's header; see the module documentation for the byte layout.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShmemHeader {
    pub magic: u64,
    pub layout_version: u32,
    pub creator_pid: i32,
    pub datadir_dev: u64,
    pub datadir_ino: u64,
    pub total_size: u64,
    pub port: u32,
    pub mode: u32,
    pub area_count: u32,
    pub header_size: u32,
    pub created_at: i64,
    pub areas: [AreaEntry; MAX_AREAS],
    pub datadir: [u8; DATADIR_BYTES],
}

const _: () = {
    assert!(HEADER_SIZE == 2624);
    assert!(offset_of!(ShmemHeader, magic) == 0);
    assert!(offset_of!(ShmemHeader, layout_version) == 8);
    assert!(offset_of!(ShmemHeader, creator_pid) == 12);
    assert!(offset_of!(ShmemHeader, datadir_dev) == 16);
    assert!(offset_of!(ShmemHeader, datadir_ino) == 24);
    assert!(offset_of!(ShmemHeader, total_size) == 32);
    assert!(offset_of!(ShmemHeader, port) == 40);
    assert!(offset_of!(ShmemHeader, mode) == 44);
    assert!(offset_of!(ShmemHeader, area_count) == 48);
    assert!(offset_of!(ShmemHeader, header_size) == 52);
    assert!(offset_of!(ShmemHeader, created_at) == 56);
    assert!(offset_of!(ShmemHeader, areas) == 64);
    assert!(size_of::<AreaEntry>() == 24);
    assert!(offset_of!(ShmemHeader, datadir) == 1600);
    assert!(offset_of!(ShmemHeader, datadir_ino) + 8 == FROZEN_PREFIX);
    // The low half of our magic must never read as PostgreSQL's.
    assert!((TUSK_SHMEM_MAGIC as u32) != PG_SHMEM_MAGIC);
};

/// Why a header could not be built or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The region is smaller than the header.
    TooSmall { size: usize, needed: usize },
    /// The base address is not 8-byte aligned (the magic is stored
    /// atomically). Segments and mappings are page-aligned, so this means
    /// the caller passed an offset into one.
    Misaligned { address: usize },
    /// More areas than the header has room for.
    TooManyAreas { max: usize },
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::TooSmall { size, needed } => write!(
                f,
                "shared memory region of {size} bytes is too small for tusk's header, which needs {needed} bytes"
            ),
            HeaderError::Misaligned { address } => write!(
                f,
                "shared memory header address {address:#x} is not 8-byte aligned"
            ),
            HeaderError::TooManyAreas { max } => {
                write!(f, "the shared memory header can list at most {max} areas")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

impl ShmemHeader {
    /// A header for a new region: magic, layout version, this process as
    /// creator, the data directory's identity and path, no areas yet,
    /// `mode` sysv, `port` 0 (the caller fills in what it knows).
    pub fn new(datadir_dev: u64, datadir_ino: u64, total_size: u64, datadir: &Path) -> ShmemHeader {
        let mut path = [0u8; DATADIR_BYTES];
        let bytes = datadir.as_os_str().as_encoded_bytes();
        // Keep the final NUL; a longer path is cut (it is for display, the
        // identity is device + inode).
        let n = bytes.len().min(DATADIR_BYTES - 1);
        path[..n].copy_from_slice(&bytes[..n]);
        ShmemHeader {
            magic: TUSK_SHMEM_MAGIC,
            layout_version: LAYOUT_VERSION,
            creator_pid: std::process::id() as i32,
            datadir_dev,
            datadir_ino,
            total_size,
            port: 0,
            mode: MODE_SYSV,
            area_count: 0,
            header_size: HEADER_SIZE as u32,
            created_at: unix_now(),
            areas: [AreaEntry::default(); MAX_AREAS],
            datadir: path,
        }
    }

    /// Appends an area entry.
    pub fn add_area(&mut self, entry: AreaEntry) -> Result<(), HeaderError> {
        let i = self.area_count as usize;
        if i >= MAX_AREAS {
            return Err(HeaderError::TooManyAreas { max: MAX_AREAS });
        }
        self.areas[i] = entry;
        self.area_count += 1;
        Ok(())
    }

    /// The used area entries. A header read from a segment written by
    /// another layout version (or corrupted) may claim more than
    /// [`MAX_AREAS`]; the slice is cut there rather than trusted.
    pub fn areas(&self) -> &[AreaEntry] {
        &self.areas[..(self.area_count as usize).min(MAX_AREAS)]
    }

    /// The entry with the given area id.
    pub fn area(&self, id: u32) -> Option<&AreaEntry> {
        self.areas().iter().find(|a| a.id == id)
    }

    /// The data directory path as recorded (lossy UTF-8, up to the NUL).
    pub fn datadir_lossy(&self) -> String {
        let end = self
            .datadir
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(DATADIR_BYTES);
        String::from_utf8_lossy(&self.datadir[..end]).into_owned()
    }

    /// "sysv", "mmap", or the number for a mode this build does not know.
    pub fn mode_name(&self) -> String {
        match self.mode {
            MODE_SYSV => "sysv".to_string(),
            MODE_MMAP => "mmap".to_string(),
            other => format!("unknown ({other})"),
        }
    }

    /// Whether this header was written by the layout this build reads in
    /// full. Fields after the frozen prefix of another layout are garbage
    /// to us and must not be used.
    pub fn is_current_layout(&self) -> bool {
        self.layout_version == LAYOUT_VERSION && self.header_size as usize == HEADER_SIZE
    }

    /// Writes this header at `base`, in the order that keeps a concurrent
    /// reader from seeing a valid magic with a bad PID or identity: magic
    /// zeroed, creator PID, every other field, a Release fence, then the
    /// magic (the `magic` field of `self` is ignored; TUSK_SHMEM_MAGIC is
    /// written).
    ///
    /// # Safety
    /// `base` must point to at least `size` writable bytes of a live mapping
    /// that nothing else writes to concurrently.
    pub unsafe fn write_new(&self, base: *mut u8, size: usize) -> Result<(), HeaderError> {
        if size < HEADER_SIZE {
            return Err(HeaderError::TooSmall {
                size,
                needed: HEADER_SIZE,
            });
        }
        if !(base as usize).is_multiple_of(8) {
            return Err(HeaderError::Misaligned {
                address: base as usize,
            });
        }
        // SAFETY: base is 8-aligned and at least HEADER_SIZE bytes are
        // writable (checked above, promised by the caller).
        unsafe {
            let magic = AtomicU64::from_ptr(base as *mut u64);
            magic.store(0, Ordering::Relaxed);
            let pid_at = base.add(offset_of!(ShmemHeader, creator_pid)) as *mut i32;
            std::ptr::write_volatile(pid_at, self.creator_pid);
            // Everything after the magic, PID included again (same value).
            let src = (self as *const ShmemHeader as *const u8).add(8);
            std::ptr::copy_nonoverlapping(src, base.add(8), HEADER_SIZE - 8);
            fence(Ordering::Release);
            magic.store(TUSK_SHMEM_MAGIC, Ordering::Release);
        }
        Ok(())
    }

    /// Reads a header at `base`. `None` if the region is smaller than the
    /// frozen prefix or the magic is not tusk's. A header of another
    /// layout version is returned with only the frozen prefix (magic to
    /// `datadir_ino`) meaningful, see [`ShmemHeader::is_current_layout`];
    /// the rest is zero, except a layout-1 header's data directory path,
    /// which is recovered for display. A region smaller than this layout's
    /// header (an old header-only segment) is read as far as it goes.
    ///
    /// # Safety
    /// `base` must point to at least `size` readable bytes of a live mapping.
    pub unsafe fn read(base: *const u8, size: usize) -> Option<ShmemHeader> {
        if size < FROZEN_PREFIX {
            return None;
        }
        // SAFETY: size >= FROZEN_PREFIX readable bytes, promised by the
        // caller; at most min(size, HEADER_SIZE) bytes are copied.
        unsafe {
            let magic = if (base as usize).is_multiple_of(8) {
                // The atomic is only loaded, never stored through this pointer.
                AtomicU64::from_ptr(base as *mut u64).load(Ordering::Acquire)
            } else {
                let m = std::ptr::read_unaligned(base as *const u64);
                fence(Ordering::Acquire);
                m
            };
            if magic != TUSK_SHMEM_MAGIC {
                return None;
            }
            let mut raw = [0u8; HEADER_SIZE];
            let n = size.min(HEADER_SIZE);
            std::ptr::copy_nonoverlapping(base, raw.as_mut_ptr(), n);
            // Every field is an integer or a byte array: any bytes are a
            // valid ShmemHeader.
            let mut h = std::ptr::read_unaligned(raw.as_ptr() as *const ShmemHeader);
            h.magic = magic;
            if n < HEADER_SIZE || h.layout_version != LAYOUT_VERSION {
                let old_path = (h.layout_version == 1 && n >= V1_HEADER_SIZE)
                    .then(|| raw[V1_DATADIR_OFFSET..V1_HEADER_SIZE].to_vec());
                // Only the frozen prefix is ours to interpret.
                raw[FROZEN_PREFIX..].fill(0);
                let mut old = std::ptr::read_unaligned(raw.as_ptr() as *const ShmemHeader);
                old.magic = magic;
                old.layout_version = h.layout_version;
                old.header_size = 0;
                if let Some(p) = old_path {
                    old.datadir.copy_from_slice(&p);
                    old.datadir[DATADIR_BYTES - 1] = 0;
                }
                return Some(old);
            }
            Some(h)
        }
    }
}

impl std::fmt::Debug for ShmemHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmemHeader")
            .field("magic", &format_args!("{:#018x}", self.magic))
            .field("layout_version", &self.layout_version)
            .field("creator_pid", &self.creator_pid)
            .field("datadir_dev", &self.datadir_dev)
            .field("datadir_ino", &self.datadir_ino)
            .field("total_size", &self.total_size)
            .field("port", &self.port)
            .field("mode", &self.mode)
            .field("header_size", &self.header_size)
            .field("created_at", &self.created_at)
            .field("areas", &self.areas())
            .field("datadir", &self.datadir_lossy())
            .finish()
    }
}

/// The fields of PostgreSQL's `PGShmemHeader` that identify a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgShmemHeader {
    pub creator_pid: i32,
    pub total_size: u64,
    pub free_offset: u64,
    pub dsm_control: u32,
    pub device: u64,
    pub inode: u64,
}

/// Reads PostgreSQL 9.4–18's 56-byte header (x86-64 and other LP64
/// targets). `None` if the region is smaller or the magic differs.
/// PostgreSQL 19 dropped the `index` field (48 bytes, device at 32); such a
/// segment is not recognised.
///
/// # Safety
/// `base` must point to at least `size` readable bytes of a live mapping.
pub unsafe fn read_pg_header(base: *const u8, size: usize) -> Option<PgShmemHeader> {
    if cfg!(not(target_pointer_width = "64")) || size < PG_HEADER_SIZE {
        return None;
    }
    // SAFETY: PG_HEADER_SIZE readable bytes, promised by the caller.
    let raw: [u8; PG_HEADER_SIZE] =
        unsafe { std::ptr::read_unaligned(base as *const [u8; PG_HEADER_SIZE]) };
    let u32_at = |o: usize| u32::from_ne_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]]);
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[o..o + 8]);
        u64::from_ne_bytes(b)
    };
    if u32_at(0) != PG_SHMEM_MAGIC {
        return None;
    }
    Some(PgShmemHeader {
        creator_pid: u32_at(4) as i32,
        total_size: u64_at(8),
        free_offset: u64_at(16),
        dsm_control: u32_at(24),
        device: u64_at(40),
        inode: u64_at(48),
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An 8-aligned scratch buffer standing in for a segment.
    fn buffer(bytes: usize) -> Vec<u64> {
        vec![0u64; bytes.div_ceil(8)]
    }

    #[test]
    fn round_trip() {
        let mut h = ShmemHeader::new(0x801, 123_456, 1 << 20, Path::new("/var/lib/tusk/data"));
        h.port = 5432;
        h.add_area(AreaEntry::new(1, 2624, 4096)).unwrap();
        h.add_area(AreaEntry::new(7, 8192, 65536)).unwrap();
        let mut buf = buffer(4096);
        let base = buf.as_mut_ptr() as *mut u8;
        // SAFETY: `base` is a live, 8-aligned local buffer of at least the
        // size passed, used by nothing else.
        unsafe { h.write_new(base, 4096).unwrap() };
        // SAFETY: the same buffer, as above.
        let back = unsafe { ShmemHeader::read(base, 4096) }.expect("header reads back");
        assert!(back == h);
        assert!(back.is_current_layout());
        assert_eq!(back.areas().len(), 2);
        assert_eq!(back.area(7), Some(&AreaEntry::new(7, 8192, 65536)));
        assert_eq!(back.datadir_lossy(), "/var/lib/tusk/data");
        assert_eq!(back.mode_name(), "sysv");
        // The magic is the readable "tuskSHM1" at offset 0.
        // SAFETY: the same buffer, as above.
        assert_eq!(&unsafe { std::slice::from_raw_parts(base, 8) }, b"tuskSHM1");
    }

    #[test]
    fn byte_positions_are_as_documented() {
        let h = ShmemHeader::new(0x0102, 0x0304, 0x0506, Path::new("/d"));
        let mut buf = buffer(HEADER_SIZE);
        let base = buf.as_mut_ptr() as *mut u8;
        // SAFETY: `base` is a live, 8-aligned local buffer of at least the
        // size passed, used by nothing else.
        unsafe { h.write_new(base, HEADER_SIZE).unwrap() };
        // SAFETY: the same buffer, as above.
        let bytes = unsafe { std::slice::from_raw_parts(base, HEADER_SIZE) };
        assert_eq!(
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
            LAYOUT_VERSION
        );
        assert_eq!(
            i32::from_le_bytes(bytes[12..16].try_into().unwrap()),
            std::process::id() as i32
        );
        assert_eq!(
            u64::from_le_bytes(bytes[16..24].try_into().unwrap()),
            0x0102
        );
        assert_eq!(
            u64::from_le_bytes(bytes[24..32].try_into().unwrap()),
            0x0304
        );
        assert_eq!(
            u64::from_le_bytes(bytes[32..40].try_into().unwrap()),
            0x0506
        );
        assert_eq!(&bytes[1600..1602], b"/d");
        assert_eq!(bytes[1602], 0);
    }

    #[test]
    fn rejects_foreign_content() {
        let mut buf = buffer(HEADER_SIZE);
        let base = buf.as_mut_ptr() as *mut u8;
        // All zeroes: no magic.
        // SAFETY: `base` is a live, 8-aligned local buffer of at least the
        // size passed, used by nothing else.
        assert!(unsafe { ShmemHeader::read(base, HEADER_SIZE) }.is_none());
        // Random-looking bytes.
        // SAFETY: the same buffer, as above.
        for (i, b) in unsafe { std::slice::from_raw_parts_mut(base, HEADER_SIZE) }
            .iter_mut()
            .enumerate()
        {
            *b = (i * 37 + 11) as u8;
        }
        // SAFETY: the same buffer, as above.
        assert!(unsafe { ShmemHeader::read(base, HEADER_SIZE) }.is_none());
        // A PostgreSQL header is not ours, and ours is not PostgreSQL's.
        let pg = pg_header_bytes(4242, 0x801, 999);
        // SAFETY: `pg` is a live, 8-aligned buffer of PG_HEADER_SIZE bytes.
        assert!(unsafe { ShmemHeader::read(pg.as_ptr() as *const u8, PG_HEADER_SIZE) }.is_none());
        let h = ShmemHeader::new(1, 2, 3, Path::new("/x"));
        let mut ours = buffer(HEADER_SIZE);
        // SAFETY: `ours` is a live, 8-aligned local buffer of HEADER_SIZE
        // bytes, used by nothing else.
        unsafe {
            h.write_new(ours.as_mut_ptr() as *mut u8, HEADER_SIZE)
                .unwrap()
        };
        // SAFETY: the same buffer, as above.
        assert!(unsafe { read_pg_header(ours.as_ptr() as *const u8, HEADER_SIZE) }.is_none());
    }

    #[test]
    fn too_small_regions() {
        let h = ShmemHeader::new(1, 2, 3, Path::new("/x"));
        let mut buf = buffer(HEADER_SIZE);
        let base = buf.as_mut_ptr() as *mut u8;
        // SAFETY: `base` is a live, 8-aligned local buffer of at least the
        // size passed, used by nothing else.
        let short = unsafe { h.write_new(base, HEADER_SIZE - 1) };
        assert_eq!(
            short,
            Err(HeaderError::TooSmall {
                size: HEADER_SIZE - 1,
                needed: HEADER_SIZE
            })
        );
        // SAFETY: the same buffer, as above.
        unsafe { h.write_new(base, HEADER_SIZE).unwrap() };
        // A region cut short (an older layout's header-only segment is
        // smaller than this layout's header) is still recognised by its
        // frozen prefix, but nothing past the prefix is trusted.
        // SAFETY: the same buffer, as above.
        let cut = unsafe { ShmemHeader::read(base, HEADER_SIZE - 1) }.expect("prefix read");
        assert!(!cut.is_current_layout());
        assert_eq!(cut.creator_pid, h.creator_pid);
        assert!(cut.areas().is_empty() && cut.datadir_lossy().is_empty());
        // SAFETY: the same buffer, as above.
        assert!(unsafe { ShmemHeader::read(base, FROZEN_PREFIX - 1) }.is_none());
        // SAFETY: the same buffer, as above.
        assert!(unsafe { read_pg_header(base, PG_HEADER_SIZE - 1) }.is_none());
    }

    #[test]
    fn misaligned_write_is_refused() {
        let h = ShmemHeader::new(1, 2, 3, Path::new("/x"));
        let mut buf = buffer(HEADER_SIZE + 8);
        // SAFETY: one byte into a local buffer 8 bytes longer than needed,
        // still in bounds (the misalignment is the point of the test).
        let base = unsafe { (buf.as_mut_ptr() as *mut u8).add(1) };
        // SAFETY: HEADER_SIZE bytes from `base` lie inside the buffer; the
        // call refuses a misaligned base before touching it.
        let r = unsafe { h.write_new(base, HEADER_SIZE) };
        assert!(matches!(r, Err(HeaderError::Misaligned { .. })));
    }

    #[test]
    fn area_table_is_bounded() {
        let mut h = ShmemHeader::new(1, 2, 3, Path::new("/x"));
        for i in 0..MAX_AREAS as u32 {
            h.add_area(AreaEntry::new(i, 0, 0)).unwrap();
        }
        assert_eq!(
            h.add_area(AreaEntry::new(99, 0, 0)),
            Err(HeaderError::TooManyAreas { max: MAX_AREAS })
        );
        // A corrupt count read from a segment is cut, not trusted.
        h.area_count = 1000;
        assert_eq!(h.areas().len(), MAX_AREAS);
    }

    /// A layout-1 segment (16 areas, path at 448, 1472 bytes) written by
    /// an older tusk is still recognised: identity from the frozen prefix,
    /// path recovered, nothing else trusted.
    #[test]
    fn layout_1_segments_are_still_recognised() {
        let mut buf = buffer(V1_HEADER_SIZE);
        // SAFETY: a live local buffer of V1_HEADER_SIZE bytes (rounded up to
        // whole u64s), viewed as bytes; no other reference to it is used.
        let raw =
            unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut u8, V1_HEADER_SIZE) };
        raw[0..8].copy_from_slice(b"tuskSHM1");
        raw[8..12].copy_from_slice(&1u32.to_le_bytes());
        raw[12..16].copy_from_slice(&4242i32.to_le_bytes());
        raw[16..24].copy_from_slice(&0x801u64.to_le_bytes());
        raw[24..32].copy_from_slice(&77u64.to_le_bytes());
        raw[40..44].copy_from_slice(&5432u32.to_le_bytes());
        raw[48..52].copy_from_slice(&7u32.to_le_bytes());
        raw[52..56].copy_from_slice(&(V1_HEADER_SIZE as u32).to_le_bytes());
        raw[448..460].copy_from_slice(b"/srv/old/dat");
        // SAFETY: `raw` is that buffer, 8-aligned, V1_HEADER_SIZE bytes.
        let h = unsafe { ShmemHeader::read(raw.as_ptr(), V1_HEADER_SIZE) }.expect("recognised");
        assert!(!h.is_current_layout());
        assert_eq!(h.layout_version, 1);
        assert_eq!(
            (h.creator_pid, h.datadir_dev, h.datadir_ino),
            (4242, 0x801, 77)
        );
        assert_eq!(h.datadir_lossy(), "/srv/old/dat");
        assert_eq!(h.port, 0, "fields after the prefix are not trusted");
        assert!(h.areas().is_empty());
        // Shorter than the prefix: not a header.
        // SAFETY: the same buffer, as above.
        assert!(unsafe { ShmemHeader::read(raw.as_ptr(), FROZEN_PREFIX - 1) }.is_none());
    }

    #[test]
    fn long_datadir_is_cut_with_final_nul() {
        let long = "/".to_string() + &"a".repeat(2000);
        let h = ShmemHeader::new(1, 2, 3, Path::new(&long));
        assert_eq!(h.datadir[DATADIR_BYTES - 1], 0);
        assert_eq!(h.datadir_lossy().len(), DATADIR_BYTES - 1);
    }

    fn pg_header_bytes(pid: i32, dev: u64, ino: u64) -> Vec<u64> {
        let mut raw = [0u8; PG_HEADER_SIZE];
        raw[0..4].copy_from_slice(&PG_SHMEM_MAGIC.to_ne_bytes());
        raw[4..8].copy_from_slice(&pid.to_ne_bytes());
        raw[8..16].copy_from_slice(&56u64.to_ne_bytes());
        raw[16..24].copy_from_slice(&56u64.to_ne_bytes());
        raw[24..28].copy_from_slice(&0x1234u32.to_ne_bytes());
        raw[40..48].copy_from_slice(&dev.to_ne_bytes());
        raw[48..56].copy_from_slice(&ino.to_ne_bytes());
        let mut buf = buffer(PG_HEADER_SIZE);
        // SAFETY: `raw` is PG_HEADER_SIZE local bytes and `buf` at least as
        // many; distinct buffers.
        unsafe {
            std::ptr::copy_nonoverlapping(raw.as_ptr(), buf.as_mut_ptr() as *mut u8, PG_HEADER_SIZE)
        };
        buf
    }

    #[test]
    fn reads_postgresql_header() {
        let buf = pg_header_bytes(4242, 0x801, 10_043_495);
        // SAFETY: `buf` is a live, 8-aligned buffer of PG_HEADER_SIZE bytes.
        let pg = unsafe { read_pg_header(buf.as_ptr() as *const u8, PG_HEADER_SIZE) }
            .expect("pg header");
        assert_eq!(
            pg,
            PgShmemHeader {
                creator_pid: 4242,
                total_size: 56,
                free_offset: 56,
                dsm_control: 0x1234,
                device: 0x801,
                inode: 10_043_495
            }
        );
    }
}
