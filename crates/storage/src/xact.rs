//! Transactions of one backend: the transaction-block state machine and
//! the resource owner of the running transaction.
//!
//! Why here, in storage: commit and abort are where the storage engine
//! acts (assign and release the xid, write the commit record and wait for
//! its flush, set the commit status, release buffer pins, LWLocks and
//! locks). The backend drives this module at statement boundaries; it does
//! not decide what a transaction is. The backend keeps only session
//! concerns (settings, portals, ParameterStatus) and does them when a
//! method here says that a transaction ended.
//!
//! The block states and their transitions are PostgreSQL 15's
//! (`TBlockState` in `access/transam/xact.c`), because clients see them:
//! ReadyForQuery's status byte, which warnings BEGIN/COMMIT/ROLLBACK give,
//! and what a multi-statement Query does on error. The backend calls:
//!
//! - [`Xact::start_command`] before each statement (and each
//!   extended-protocol message): starts a transaction when none is open.
//! - [`Xact::begin_implicit_block`] before each statement of a Query
//!   string holding several: they share one transaction, as in PostgreSQL.
//! - [`Xact::begin_block`], [`Xact::end_block`],
//!   [`Xact::user_abort_block`] for BEGIN, COMMIT and ROLLBACK.
//! - [`Xact::commit_command`] after a statement that ends a unit of work;
//!   [`Xact::command_counter_increment`] between statements of one.
//! - [`Xact::abort_current`] when a statement fails.
//!
//! Each transaction has a [`ResourceOwner`]: buffer pins, LWLocks and
//! heavyweight locks will register there when they exist, and it releases
//! whatever is still held at commit, at abort and at process exit (the
//! backend registers [`Xact::release_at_exit`] with
//! [`crate::exit::before_shmem_exit`]).
//!
//! The transaction id is assigned lazily, at the first write
//! ([`Xact::current_xid`], PostgreSQL's GetCurrentTransactionId), through
//! the backend's [`XactEngine`] (shared memory: [`crate::transam`]); at
//! commit and abort the engine writes the record, sets the commit status
//! and leaves the proc array. A transaction that never wrote has no xid
//! and costs no shared-memory work at commit. The server's backend sets
//! its engine at connection start (commit records through
//! [`crate::xactwal::XlogCommit`]).
//!
//! **Subtransactions** (SAVEPOINT, RELEASE, ROLLBACK TO) are PostgreSQL's
//! model: a stack of levels above the top one, each with its own block
//! state (the `Sub*` states), its own [`ResourceOwner`] (what it acquired
//! is released when it rolls back) and its own xid, assigned lazily at
//! its first write, parents first ([`Xact::current_xid`]). RELEASE
//! commits a level into its parent: its xid (and its children's) becomes
//! the parent's child and shares its fate, so the commit record of the
//! top level lists every released subxid. ROLLBACK TO aborts the levels
//! above the savepoint and the savepoint's own (an abort record for its
//! xid and children, [`XactEngine::abort_subxact`]) and opens it again;
//! that works in a failed block, which is how clients recover from an
//! error without losing the transaction. An aborted level's xids stop
//! being "ours" ([`Xact::is_current_xid`]): its rows are invisible to the
//! transaction itself. Savepoint names may repeat; the innermost wins.
//!
//! Everything here is per backend, in process-local memory; only the
//! backend's main loop calls it.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use tusk_common::{sqlstate, PgError, Severity};

/// The transaction-block state (PostgreSQL's `TBlockState`, without the
/// two-phase and parallel states tusk has no use for yet). The `Sub*`
/// states are those of one subtransaction level; the top level is always
/// in one of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockState {
    /// No transaction.
    Default,
    /// A transaction for a single statement (or extended-protocol step).
    Started,
    /// BEGIN ran; the block opens when its statement completes.
    Begin,
    /// Inside BEGIN ... COMMIT.
    InProgress,
    /// Inside a multi-statement Query string, before any BEGIN.
    ImplicitInProgress,
    /// COMMIT ran; the transaction commits when its statement completes.
    End,
    /// A statement failed inside BEGIN ... : everything but ROLLBACK
    /// (or COMMIT, which rolls back) is refused until the block ends.
    Abort,
    /// ROLLBACK (or COMMIT) of a failed block ran.
    AbortEnd,
    /// ROLLBACK of a block in progress ran.
    AbortPending,
    /// SAVEPOINT ran; the subtransaction is open once its statement ends.
    SubBegin,
    /// Inside a subtransaction.
    SubInProgress,
    /// RELEASE ran: this level commits into its parent when the statement
    /// ends.
    SubRelease,
    /// COMMIT ran inside a subtransaction: every level commits into its
    /// parent, then the top level commits.
    SubCommit,
    /// A statement failed inside the subtransaction: only ROLLBACK,
    /// ROLLBACK TO (or COMMIT, which rolls back) may run.
    SubAbort,
    /// ROLLBACK, or ROLLBACK TO an outer savepoint, ran in this failed
    /// level: it goes away when the statement ends.
    SubAbortEnd,
    /// The same for a level that had not failed: it aborts, then goes.
    SubAbortPending,
    /// ROLLBACK TO this level's savepoint ran: it aborts and starts again
    /// under the same name.
    SubRestart,
    /// ROLLBACK TO this level's savepoint ran while it had failed.
    SubAbortRestart,
}

/// How a transaction ended, for what the backend undoes or keeps
/// (SET's values, portals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Committed,
    Aborted,
}

/// A subtransaction level began or ended, for the session state that
/// nests with it (SET's values, PostgreSQL's GUC nest levels): the
/// backend takes them with [`Xact::take_sub_events`] after each
/// [`Xact::commit_command`] / [`Xact::abort_current`] and before acting
/// on a transaction end those return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubEvent {
    Started,
    /// Released into its parent: its changes are the parent's now.
    Committed,
    /// Rolled back: its changes are undone.
    Aborted,
}

/// ReadyForQuery's status byte, as PostgreSQL's
/// `TransactionBlockStatusCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `I`
    Idle,
    /// `T`
    InBlock,
    /// `E`
    Failed,
}

/// When a resource is released relative to the others, as PostgreSQL's
/// `ResourceReleasePhase`: buffer pins and relation references before
/// locks (so no one waits for a lock while we still pin its pages), then
/// the locks, then what may depend on neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReleasePhase {
    BeforeLocks,
    Locks,
    AfterLocks,
}

/// Why a resource owner is releasing what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// The transaction committed: anything still held was leaked by its
    /// user, and is released with a warning (PostgreSQL's "resource was
    /// not closed").
    Commit,
    /// The transaction aborted: held resources are normal (the error came
    /// while they were held) and released quietly.
    Abort,
    /// The process is exiting with an open transaction.
    Exit,
}

/// Something a transaction holds that must be given back however the
/// transaction ends: a buffer pin, an LWLock, a heavyweight lock.
pub trait Resource {
    /// What it is, for the leak warning ("buffer pin", "lock").
    fn kind(&self) -> &'static str;
    fn phase(&self) -> ReleasePhase;
    /// Gives it back. Runs in the owning backend, at commit, abort or exit.
    fn release(self: Box<Self>, why: Release);
}

/// A handle for a remembered resource, to forget it when its user
/// releases it normally (an unpin, an LWLock release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceId(u64);

/// Hands out [`ResourceId`]s, unique within the process, so that an id
/// stays valid when its resource passes from a subtransaction's owner to
/// its parent's ([`ResourceOwner::reassign_into`]).
static NEXT_RESOURCE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The resources one transaction holds (PostgreSQL's `ResourceOwner`).
#[derive(Default)]
pub struct ResourceOwner {
    /// Oldest first; `None` once forgotten or released. Trailing `None`s
    /// are dropped, so the usual last-in-first-out use stays short.
    slots: Vec<(ResourceId, Option<Box<dyn Resource>>)>,
    held: usize,
}

impl ResourceOwner {
    /// Records a resource just acquired. Acquire first, then remember: a
    /// failure in between leaks nothing because nothing was held yet.
    pub fn remember(&mut self, r: Box<dyn Resource>) -> ResourceId {
        let id = ResourceId(NEXT_RESOURCE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        self.slots.push((id, Some(r)));
        self.held += 1;
        id
    }

    /// Takes back a resource its user is about to release itself; `None`
    /// when the owner no longer holds it.
    pub fn forget(&mut self, id: ResourceId) -> Option<Box<dyn Resource>> {
        // Newest first: resources are mostly given back in reverse order.
        let i = self.slots.iter().rposition(|(i, _)| *i == id)?;
        let r = self.slots[i].1.take();
        if r.is_some() {
            self.held -= 1;
        }
        while self.slots.last().is_some_and(|(_, r)| r.is_none()) {
            self.slots.pop();
        }
        r
    }

    /// How many resources are held.
    pub fn len(&self) -> usize {
        self.held
    }

    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Releases what is held in `phase`, newest first; returns the kinds
    /// released at [`Release::Commit`] (leaks), empty otherwise.
    pub fn release_phase(&mut self, phase: ReleasePhase, why: Release) -> Vec<&'static str> {
        let mut leaked = Vec::new();
        for i in (0..self.slots.len()).rev() {
            if self.slots[i].1.as_ref().is_some_and(|r| r.phase() == phase) {
                let r = self.slots[i].1.take().expect("checked above");
                self.held -= 1;
                if why == Release::Commit && phase != ReleasePhase::Locks {
                    leaked.push(r.kind());
                }
                r.release(why);
            }
        }
        leaked
    }

    /// Hands everything still held to `parent` (a subtransaction that
    /// committed into it), oldest first, under the same [`ResourceId`]s:
    /// their users forget them in the parent.
    pub fn reassign_into(&mut self, parent: &mut ResourceOwner) {
        for (id, r) in self.slots.drain(..) {
            if let Some(r) = r {
                parent.slots.push((id, Some(r)));
                parent.held += 1;
            }
        }
        self.held = 0;
    }

    /// Releases everything held, phase by phase, newest first within a
    /// phase. Returns the kinds released at [`Release::Commit`] (leaks,
    /// for the caller's warning); empty otherwise. Heavyweight locks
    /// ([`ReleasePhase::Locks`]) are held until the transaction ends by
    /// design (relation locks, the lock on the transaction's own xid), so
    /// releasing them at commit is no leak, as in PostgreSQL.
    pub fn release_all(&mut self, why: Release) -> Vec<&'static str> {
        let mut leaked = Vec::new();
        for phase in [
            ReleasePhase::BeforeLocks,
            ReleasePhase::Locks,
            ReleasePhase::AfterLocks,
        ] {
            leaked.extend(self.release_phase(phase, why));
        }
        self.slots.clear();
        leaked
    }
}

/// The storage engine's side of a transaction, as the backend implements
/// it over shared memory ([`crate::transam::Transam`], the commit-status
/// cache and WAL). Called only by [`Xact`], in the backend.
pub trait XactEngine {
    /// Assigns this backend's top-level xid
    /// ([`crate::transam::Transam::assign_xid`]).
    fn assign_xid(&self) -> Result<u64, PgError>;
    /// Commit record flushed, statuses set, out of the proc array
    /// ([`crate::transam::Transam::commit`]).
    fn commit(&self, subxids: &[u64]) -> Result<(), PgError>;
    /// Abort record, aborted statuses, out of the proc array.
    fn abort(&self, subxids: &[u64]) -> Result<(), PgError>;
    /// Assigns a subtransaction xid to this backend, published in its
    /// proc's subxid cache ([`crate::transam::Transam::assign_xid`] with
    /// `sub`). The top-level xid is assigned first, by the caller.
    fn assign_subxid(&self) -> Result<u64, PgError>;
    /// A subtransaction rolled back (ROLLBACK TO, or an error inside it):
    /// an abort record for `xid` and its committed `children`, their
    /// aborted statuses, then out of the subxid cache
    /// ([`crate::transam::Transam::remove_subxids`]). The top-level
    /// transaction goes on.
    fn abort_subxact(&self, xid: u64, children: &[u64]) -> Result<(), PgError>;
}

/// One subtransaction level (PostgreSQL's TransactionState of a
/// subtransaction); its resource owner is at the same depth in
/// [`Xact`]'s owner stack.
struct SubXact {
    /// The savepoint's name (as the parser gave it: folded unless quoted).
    name: String,
    state: BlockState,
    /// 0 until the level's first write.
    xid: u64,
    /// Xids of the levels that committed (RELEASE) into this one: they
    /// share its fate.
    children: Vec<u64>,
}

/// One backend's transaction state.
pub struct Xact {
    block: BlockState,
    /// When the running transaction started (`now()`), microseconds since
    /// 2000-01-01; 0 outside a transaction.
    start: i64,
    /// Counts commands within the transaction
    /// ([`Self::command_counter_increment`]).
    command_id: u32,
    /// One resource owner per level: `[0]` the top level's, `[i + 1]`
    /// that of `subs[i]`. Shared with the exit callback (weakly), so that
    /// a process that ends inside a transaction still releases what it
    /// holds.
    owners: Rc<RefCell<Vec<ResourceOwner>>>,
    /// The top-level xid, 0 until the first write.
    xid: u64,
    /// Xids of the subtransactions that committed (RELEASE) into the top
    /// level: committed or aborted with it.
    subxids: Vec<u64>,
    /// The open subtransactions, outermost first; the block state of the
    /// innermost is the current one.
    subs: Vec<SubXact>,
    /// Levels begun and ended since the backend last asked.
    events: Vec<SubEvent>,
    engine: Option<Rc<dyn XactEngine>>,
}

impl Default for Xact {
    fn default() -> Self {
        Self::new()
    }
}

fn warning(code: tusk_common::SqlState, message: &str) -> PgError {
    PgError::new(Severity::Warning, code, message)
}

fn no_savepoint(name: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_SAVEPOINT_SPECIFICATION,
        format!("savepoint \"{name}\" does not exist"),
    )
}

fn leak_warnings(kinds: Vec<&'static str>) -> Vec<PgError> {
    kinds
        .into_iter()
        .map(|kind| {
            warning(
                sqlstate::WARNING,
                &format!("resource was not closed: {kind}"),
            )
        })
        .collect()
}

fn unexpected(what: &str, state: BlockState) -> PgError {
    PgError::error(
        sqlstate::INTERNAL_ERROR,
        format!("{what}: unexpected state {state:?}"),
    )
}

impl Xact {
    pub fn new() -> Xact {
        Xact {
            block: BlockState::Default,
            start: 0,
            command_id: 0,
            owners: Rc::new(RefCell::new(vec![ResourceOwner::default()])),
            xid: 0,
            subxids: Vec::new(),
            subs: Vec::new(),
            events: Vec::new(),
            engine: None,
        }
    }

    /// Gives the transaction its engine (the backend, once its shared
    /// memory views exist). Without one no xid can be assigned.
    pub fn set_engine(&mut self, engine: Rc<dyn XactEngine>) {
        self.engine = Some(engine);
    }

    /// The xid that stamps a write of the current (sub)transaction,
    /// assigned now if it has none (PostgreSQL's
    /// GetCurrentTransactionId): called before the first write of each
    /// level. A subtransaction's parents get theirs first, outermost
    /// first, so a parent's xid is always below its children's. Outside a
    /// transaction, or without an engine, an error.
    pub fn current_xid(&mut self) -> Result<u64, PgError> {
        if let Some(s) = self.subs.last() {
            if s.xid != 0 {
                return Ok(s.xid);
            }
        }
        self.top_xid()?;
        for i in 0..self.subs.len() {
            if self.subs[i].xid == 0 {
                self.subs[i].xid = self.engine()?.assign_subxid()?;
            }
        }
        Ok(self.subs.last().map_or(self.xid, |s| s.xid))
    }

    /// The top-level xid, assigned now if it has none (PostgreSQL's
    /// GetTopTransactionId, what `txid_current()` shows).
    pub fn top_xid(&mut self) -> Result<u64, PgError> {
        if self.xid != 0 {
            return Ok(self.xid);
        }
        if self.block == BlockState::Default {
            return Err(unexpected("GetCurrentTransactionId", self.block));
        }
        self.xid = self.engine()?.assign_xid()?;
        Ok(self.xid)
    }

    fn engine(&self) -> Result<Rc<dyn XactEngine>, PgError> {
        self.engine.clone().ok_or_else(|| {
            PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "this process cannot write: it has no transaction engine",
            )
        })
    }

    /// The current level's xid if it has one (PostgreSQL's
    /// GetCurrentTransactionIdIfAny), else 0.
    pub fn current_xid_if_any(&self) -> u64 {
        self.subs.last().map_or(self.xid, |s| s.xid)
    }

    /// The top-level xid if one was assigned
    /// (GetTopTransactionIdIfAny), else 0.
    pub fn top_xid_if_any(&self) -> u64 {
        self.xid
    }

    /// Is `xid` one of this transaction's: the top level's, an open
    /// subtransaction's, or one released into them — but not one rolled
    /// back (PostgreSQL's TransactionIdIsCurrentTransactionId). A row
    /// written by a rolled-back savepoint is invisible to us too.
    pub fn is_current_xid(&self, xid: u64) -> bool {
        xid != 0
            && (xid == self.xid
                || self.subxids.contains(&xid)
                || self
                    .subs
                    .iter()
                    .any(|s| s.xid == xid || s.children.contains(&xid)))
    }

    /// Every xid [`Self::is_current_xid`] accepts, for a visibility check
    /// that takes them as a slice (`visibility::ProcXactState`).
    pub fn current_xids(&self) -> Vec<u64> {
        let mut v = Vec::new();
        if self.xid != 0 {
            v.push(self.xid);
        }
        v.extend_from_slice(&self.subxids);
        for s in &self.subs {
            if s.xid != 0 {
                v.push(s.xid);
            }
            v.extend_from_slice(&s.children);
        }
        v
    }

    /// The subtransaction levels begun and ended since the last call, in
    /// order.
    pub fn take_sub_events(&mut self) -> Vec<SubEvent> {
        std::mem::take(&mut self.events)
    }

    /// How many subtransactions are open (PostgreSQL's nesting level
    /// minus one).
    pub fn subtransaction_depth(&self) -> usize {
        self.subs.len()
    }

    /// Registers the exit callback that releases the open transaction's
    /// resources if the process ends inside it (PostgreSQL's
    /// `ShutdownPostgres` → `AbortOutOfAnyTransaction`). Call once, in the
    /// backend, after the session exists.
    pub fn release_at_exit(&self) -> crate::exit::Registration {
        let owners: Weak<RefCell<Vec<ResourceOwner>>> = Rc::downgrade(&self.owners);
        crate::exit::before_shmem_exit("abort the open transaction", move |_| {
            if let Some(o) = owners.upgrade() {
                // The borrow fails only if the exit came from inside an
                // owner's own release; what it was releasing is then gone.
                // Innermost level first, as an abort would.
                if let Ok(mut o) = o.try_borrow_mut() {
                    for owner in o.iter_mut().rev() {
                        owner.release_all(Release::Exit);
                    }
                }
            }
        })
    }

    /// The current level's block state (the innermost subtransaction's).
    pub fn block_state(&self) -> BlockState {
        self.subs.last().map_or(self.block, |s| s.state)
    }

    fn set_state(&mut self, state: BlockState) {
        match self.subs.last_mut() {
            Some(s) => s.state = state,
            None => self.block = state,
        }
    }

    /// The current level's resource owner (the innermost subtransaction's:
    /// what it acquires is released when it rolls back).
    pub fn owner(&self) -> std::cell::RefMut<'_, ResourceOwner> {
        std::cell::RefMut::map(self.owners.borrow_mut(), |o| {
            o.last_mut().expect("the top level's owner is never popped")
        })
    }

    /// The transaction's start time (`now()`, `current_timestamp`): the
    /// same for every statement of it, explicit block or not.
    pub fn start_timestamp(&self) -> i64 {
        self.start
    }

    pub fn command_id(&self) -> u32 {
        self.command_id
    }

    /// ReadyForQuery's status.
    pub fn status(&self) -> Status {
        match self.block_state() {
            BlockState::Default | BlockState::Started => Status::Idle,
            BlockState::Abort
            | BlockState::AbortEnd
            | BlockState::AbortPending
            | BlockState::SubAbort
            | BlockState::SubAbortEnd
            | BlockState::SubAbortPending
            | BlockState::SubRestart
            | BlockState::SubAbortRestart => Status::Failed,
            BlockState::Begin
            | BlockState::InProgress
            | BlockState::ImplicitInProgress
            | BlockState::End
            | BlockState::SubBegin
            | BlockState::SubInProgress
            | BlockState::SubRelease
            | BlockState::SubCommit => Status::InBlock,
        }
    }

    /// Whether a transaction is open at all (a single statement's too).
    pub fn in_transaction(&self) -> bool {
        self.block != BlockState::Default
    }

    /// Whether statements share a transaction with the ones before and
    /// after (explicit or implicit block): PostgreSQL's
    /// `IsTransactionBlock`.
    pub fn is_transaction_block(&self) -> bool {
        !matches!(self.block, BlockState::Default | BlockState::Started)
    }

    /// Whether the block (or the current subtransaction) failed and only
    /// ROLLBACK, ROLLBACK TO or COMMIT may run.
    pub fn is_aborted_block(&self) -> bool {
        matches!(self.block_state(), BlockState::Abort | BlockState::SubAbort)
    }

    /// For statements that must run on their own (DISCARD ALL, VACUUM):
    /// 25001 inside any block, implicit ones included, as PostgreSQL's
    /// `PreventInTransactionBlock`.
    pub fn prevent_in_transaction_block(&self, what: &str) -> Result<(), PgError> {
        if self.is_transaction_block() {
            return Err(PgError::error(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                format!("{what} cannot run inside a transaction block"),
            ));
        }
        Ok(())
    }

    /// Before a statement: opens a transaction when none is open. `now`
    /// becomes its start time. Returns true when a transaction started, so
    /// the caller opens its own per-transaction state (settings).
    pub fn start_command(&mut self, now: i64) -> bool {
        if self.block != BlockState::Default {
            return false;
        }
        self.block = BlockState::Started;
        self.start = now;
        self.command_id = 0;
        // The engine: a virtual xid and a snapshot; the real xid comes at
        // the first write.
        true
    }

    /// Before each statement of a multi-statement Query: the single
    /// statement transaction becomes an implicit block that the next
    /// statements share.
    pub fn begin_implicit_block(&mut self) {
        if self.block == BlockState::Started {
            self.block = BlockState::ImplicitInProgress;
        }
    }

    /// After the last statement of a multi-statement Query: the implicit
    /// block closes, so [`Self::commit_command`] commits it.
    pub fn end_implicit_block(&mut self) {
        if self.block == BlockState::ImplicitInProgress {
            self.block = BlockState::Started;
        }
    }

    /// BEGIN. A BEGIN inside an implicit block turns it into an explicit
    /// one (the statements before it stay in the transaction). Returns
    /// the warning to send, if any.
    pub fn begin_block(&mut self) -> Result<Option<PgError>, PgError> {
        match self.block_state() {
            BlockState::Started | BlockState::ImplicitInProgress => {
                self.block = BlockState::Begin;
                Ok(None)
            }
            BlockState::InProgress
            | BlockState::Abort
            | BlockState::SubInProgress
            | BlockState::SubAbort => Ok(Some(warning(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                "there is already a transaction in progress",
            ))),
            s => Err(unexpected("BeginTransactionBlock", s)),
        }
    }

    /// COMMIT. Returns whether it commits (false: the block had failed,
    /// and the tag is ROLLBACK) and the warning to send, if any.
    pub fn end_block(&mut self) -> Result<(bool, Option<PgError>), PgError> {
        match self.block_state() {
            BlockState::InProgress => {
                self.block = BlockState::End;
                Ok((true, None))
            }
            // Every open savepoint is released, then the top commits.
            BlockState::SubInProgress => {
                for s in &mut self.subs {
                    if s.state != BlockState::SubInProgress {
                        return Err(unexpected("EndTransactionBlock", s.state));
                    }
                    s.state = BlockState::SubCommit;
                }
                if self.block != BlockState::InProgress {
                    return Err(unexpected("EndTransactionBlock", self.block));
                }
                self.block = BlockState::End;
                Ok((true, None))
            }
            // A failed subtransaction: the whole transaction rolls back.
            BlockState::SubAbort => {
                self.mark_all_aborting("EndTransactionBlock")?;
                Ok((false, None))
            }
            BlockState::Abort => {
                self.block = BlockState::AbortEnd;
                Ok((false, None))
            }
            // No block: commit what there is (the statements before, in an
            // implicit block), with PostgreSQL's warning.
            BlockState::Started | BlockState::ImplicitInProgress => {
                self.block = BlockState::End;
                Ok((
                    true,
                    Some(warning(
                        sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                        "there is no transaction in progress",
                    )),
                ))
            }
            s => Err(unexpected("EndTransactionBlock", s)),
        }
    }

    /// ROLLBACK. Returns the warning to send, if any. In an implicit
    /// block it rolls back the statements before it, as in PostgreSQL.
    pub fn user_abort_block(&mut self) -> Result<Option<PgError>, PgError> {
        match self.block_state() {
            BlockState::InProgress => {
                self.block = BlockState::AbortPending;
                Ok(None)
            }
            BlockState::SubInProgress | BlockState::SubAbort => {
                self.mark_all_aborting("UserAbortTransactionBlock")?;
                Ok(None)
            }
            BlockState::Abort => {
                self.block = BlockState::AbortEnd;
                Ok(None)
            }
            BlockState::Started | BlockState::ImplicitInProgress => {
                self.block = BlockState::AbortPending;
                Ok(Some(warning(
                    sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    "there is no transaction in progress",
                )))
            }
            s => Err(unexpected("UserAbortTransactionBlock", s)),
        }
    }

    /// Makes the changes of the command just finished visible to the next
    /// one in the same transaction. The engine fills this in: today only
    /// the command id advances (nothing is stored yet to become visible).
    pub fn command_counter_increment(&mut self) {
        self.command_id = self.command_id.wrapping_add(1);
    }

    /// After a statement that ends a unit of work: the last statement of
    /// a Query, a transaction statement, an extended-protocol Sync.
    /// Commits or finishes aborting as the block state says; returns how
    /// the transaction ended, if it did, and the leak warnings of a commit
    /// — or, when the commit itself failed and the transaction aborted
    /// instead (`Ended::Aborted` from a commit), that ERROR, which the
    /// caller reports instead of COMMIT.
    pub fn commit_command(&mut self) -> (Option<Ended>, Vec<PgError>) {
        match self.block_state() {
            BlockState::Default => (None, Vec::new()),
            BlockState::SubBegin => {
                // The subtransaction's xid comes at its first write.
                self.set_state(BlockState::SubInProgress);
                (None, Vec::new())
            }
            BlockState::SubInProgress => {
                self.command_counter_increment();
                (None, Vec::new())
            }
            BlockState::SubAbort => (None, Vec::new()),
            BlockState::SubRelease => {
                let mut leaks = Vec::new();
                while self.block_state() == BlockState::SubRelease {
                    leaks.extend(self.commit_sub());
                }
                self.command_counter_increment();
                (None, leaks)
            }
            BlockState::SubCommit => {
                let mut leaks = Vec::new();
                while self.block_state() == BlockState::SubCommit {
                    leaks.extend(self.commit_sub());
                }
                // The top level is at End now (end_block set it).
                let (ended, more) = self.commit_command();
                leaks.extend(more);
                (ended, leaks)
            }
            BlockState::SubAbortPending => {
                self.abort_sub();
                self.cleanup_sub();
                self.commit_command()
            }
            BlockState::SubAbortEnd => {
                self.cleanup_sub();
                self.commit_command()
            }
            BlockState::SubRestart | BlockState::SubAbortRestart => {
                // ROLLBACK TO: the level is undone and a fresh one with the
                // same name takes its place (the savepoint stays defined).
                if self.block_state() == BlockState::SubRestart {
                    self.abort_sub();
                }
                let name = self.cleanup_sub();
                self.push_sub(name, BlockState::SubInProgress);
                self.command_counter_increment();
                (None, Vec::new())
            }
            BlockState::Started | BlockState::End => {
                let (ended, errors) = self.commit();
                (Some(ended), errors)
            }
            BlockState::Begin => {
                self.block = BlockState::InProgress;
                (None, Vec::new())
            }
            BlockState::InProgress | BlockState::ImplicitInProgress => {
                self.command_counter_increment();
                (None, Vec::new())
            }
            BlockState::Abort => (None, Vec::new()),
            BlockState::AbortEnd | BlockState::AbortPending => {
                self.abort_and_cleanup();
                (Some(Ended::Aborted), Vec::new())
            }
        }
    }

    /// A statement failed. Inside an explicit block the transaction is
    /// aborted now and the block stays failed (Abort) until ROLLBACK;
    /// anywhere else the transaction is rolled back now. Returns how it ended, if it did: in both cases the
    /// engine's work is undone now, but the session's settings only when
    /// the transaction ends.
    pub fn abort_current(&mut self) -> Option<Ended> {
        match self.block_state() {
            BlockState::Default => None,
            // The current level fails and stays (SubAbort) until ROLLBACK
            // TO or ROLLBACK: what it did is undone now.
            BlockState::SubInProgress => {
                self.abort_sub();
                self.set_state(BlockState::SubAbort);
                None
            }
            BlockState::SubAbort => None,
            // Failing in the middle of a transaction statement: this level
            // goes, and the failure passes to its parent.
            BlockState::SubBegin
            | BlockState::SubRelease
            | BlockState::SubCommit
            | BlockState::SubAbortPending
            | BlockState::SubRestart => {
                self.abort_sub();
                self.cleanup_sub();
                self.abort_current()
            }
            BlockState::SubAbortEnd | BlockState::SubAbortRestart => {
                self.cleanup_sub();
                self.abort_current()
            }
            // PostgreSQL's AbortTransaction now, CleanupTransaction at
            // ROLLBACK: the xid is aborted and leaves the proc array at
            // the error, so sessions waiting for its rows go on at once
            // instead of waiting for this session's ROLLBACK.
            BlockState::InProgress => {
                if self.xid != 0 {
                    if let Some(engine) = self.engine.clone() {
                        let _ = engine.abort(&self.subxids);
                    }
                }
                self.xid = 0;
                self.subxids.clear();
                self.owner().release_all(Release::Abort);
                self.block = BlockState::Abort;
                None
            }
            BlockState::Abort => None,
            BlockState::Started
            | BlockState::ImplicitInProgress
            | BlockState::Begin
            | BlockState::End
            | BlockState::AbortEnd
            | BlockState::AbortPending => {
                self.abort_and_cleanup();
                Some(Ended::Aborted)
            }
        }
    }

    /// SAVEPOINT `name` (PostgreSQL's DefineSavepoint): a subtransaction
    /// opens when the statement completes, inside an explicit block only.
    /// Names may repeat: the innermost wins.
    pub fn define_savepoint(&mut self, name: &str) -> Result<(), PgError> {
        match self.block_state() {
            BlockState::InProgress | BlockState::SubInProgress => {
                self.push_sub(name.to_string(), BlockState::SubBegin);
                Ok(())
            }
            s => Err(self.refuse("SAVEPOINT", "DefineSavepoint", s)),
        }
    }

    /// RELEASE [SAVEPOINT] `name` (ReleaseSavepoint): the savepoint and
    /// every one opened after it commit into their parent when the
    /// statement completes; their xids are then the parent's children.
    pub fn release_savepoint(&mut self, name: &str) -> Result<(), PgError> {
        match self.block_state() {
            BlockState::InProgress => return Err(no_savepoint(name)),
            BlockState::SubInProgress => {}
            s => return Err(self.refuse("RELEASE SAVEPOINT", "ReleaseSavepoint", s)),
        }
        let target = self.find_savepoint(name)?;
        for s in &mut self.subs[target..] {
            if s.state != BlockState::SubInProgress {
                return Err(unexpected("ReleaseSavepoint", s.state));
            }
            s.state = BlockState::SubRelease;
        }
        Ok(())
    }

    /// ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] `name`
    /// (RollbackToSavepoint): every savepoint opened after it is rolled
    /// back and gone, and it is rolled back and opened again, when the
    /// statement completes. Works in a failed block or subtransaction:
    /// that is how a client recovers from an error without losing the
    /// whole transaction.
    pub fn rollback_to_savepoint(&mut self, name: &str) -> Result<(), PgError> {
        match self.block_state() {
            BlockState::InProgress | BlockState::Abort => return Err(no_savepoint(name)),
            BlockState::SubInProgress | BlockState::SubAbort => {}
            s => return Err(self.refuse("ROLLBACK TO SAVEPOINT", "RollbackToSavepoint", s)),
        }
        let target = self.find_savepoint(name)?;
        for (i, s) in self.subs.iter_mut().enumerate().skip(target) {
            s.state = match (i == target, s.state) {
                (false, BlockState::SubInProgress) => BlockState::SubAbortPending,
                (false, BlockState::SubAbort) => BlockState::SubAbortEnd,
                (true, BlockState::SubInProgress) => BlockState::SubRestart,
                (true, BlockState::SubAbort) => BlockState::SubAbortRestart,
                (_, st) => return Err(unexpected("RollbackToSavepoint", st)),
            };
        }
        Ok(())
    }

    /// The error for a savepoint statement in state `s`: outside an
    /// explicit block 25P01 (PostgreSQL's RequireTransactionBlock, and the
    /// implicit-block case of each savepoint function); in a failed one
    /// 25P02 (the backend refuses before, this is the same answer).
    fn refuse(&self, stmt: &str, func: &str, s: BlockState) -> PgError {
        match s {
            BlockState::Started | BlockState::ImplicitInProgress | BlockState::Default => {
                PgError::error(
                    sqlstate::NO_ACTIVE_SQL_TRANSACTION,
                    format!("{stmt} can only be used in transaction blocks"),
                )
            }
            BlockState::Abort | BlockState::SubAbort => PgError::error(
                sqlstate::IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block",
            ),
            s => unexpected(func, s),
        }
    }

    /// The innermost open savepoint called `name`, as an index into
    /// `subs`; 3B001 when there is none.
    fn find_savepoint(&self, name: &str) -> Result<usize, PgError> {
        self.subs
            .iter()
            .rposition(|s| s.name == name)
            .ok_or_else(|| no_savepoint(name))
    }

    /// Sets every level to roll back (ROLLBACK, or COMMIT of a failed
    /// subtransaction): open levels abort, failed ones only go, then the
    /// top level ends aborted.
    fn mark_all_aborting(&mut self, func: &str) -> Result<(), PgError> {
        for s in &mut self.subs {
            s.state = match s.state {
                BlockState::SubInProgress => BlockState::SubAbortPending,
                BlockState::SubAbort => BlockState::SubAbortEnd,
                st => return Err(unexpected(func, st)),
            };
        }
        self.block = match self.block {
            BlockState::InProgress => BlockState::AbortPending,
            BlockState::Abort => BlockState::AbortEnd,
            st => return Err(unexpected(func, st)),
        };
        Ok(())
    }

    /// BeginInternalSubTransaction (a PL/pgSQL exception block): a
    /// subtransaction level that opens now, in or out of a transaction
    /// block, and is closed by the same statement with
    /// [`Self::release_internal_sub`] or [`Self::rollback_internal_sub`].
    /// Called by the backend running the statement.
    pub fn begin_internal_sub(&mut self) {
        self.push_sub(String::new(), BlockState::SubInProgress);
    }

    /// ReleaseCurrentSubTransaction: the innermost level commits into its
    /// parent; returns leak warnings.
    pub fn release_internal_sub(&mut self) -> Vec<PgError> {
        let leaks = self.commit_sub();
        self.command_counter_increment();
        leaks
    }

    /// RollbackAndReleaseCurrentSubTransaction: the innermost level's
    /// work is undone and the level goes.
    pub fn rollback_internal_sub(&mut self) {
        if self.subs.is_empty() {
            return;
        }
        self.abort_sub();
        self.cleanup_sub();
        self.command_counter_increment();
    }

    fn push_sub(&mut self, name: String, state: BlockState) {
        self.owners.borrow_mut().push(ResourceOwner::default());
        self.events.push(SubEvent::Started);
        self.subs.push(SubXact {
            name,
            state,
            xid: 0,
            children: Vec::new(),
        });
    }

    /// CommitSubTransaction: the innermost level commits into its parent.
    /// Its xid and its children's become the parent's children (they are
    /// still running, and commit or abort with the parent). Buffer pins
    /// it still holds are leaks, released with a warning; locks and the
    /// rest pass to the parent's owner, as PostgreSQL keeps a
    /// subtransaction's locks until the top level ends.
    fn commit_sub(&mut self) -> Vec<PgError> {
        let Some(sub) = self.subs.pop() else {
            return Vec::new();
        };
        self.events.push(SubEvent::Committed);
        let parent_children = match self.subs.last_mut() {
            Some(p) => &mut p.children,
            None => &mut self.subxids,
        };
        if sub.xid != 0 {
            parent_children.push(sub.xid);
        }
        parent_children.extend_from_slice(&sub.children);
        let mut owners = self.owners.borrow_mut();
        let mut owner = owners.pop().expect("one owner per level");
        let leaks = owner.release_phase(ReleasePhase::BeforeLocks, Release::Commit);
        owner.reassign_into(owners.last_mut().expect("the top level's owner"));
        leak_warnings(leaks)
    }

    /// AbortSubTransaction: the innermost level's writes are undone (an
    /// abort record, aborted statuses for its xid and its children's, out
    /// of the subxid cache) and its resources released. It stays on the
    /// stack (failed) until [`Self::cleanup_sub`]. Its xids are no longer
    /// ours: a row it wrote is invisible to us too.
    fn abort_sub(&mut self) {
        let Some(sub) = self.subs.last_mut() else {
            return;
        };
        if sub.xid != 0 {
            if let Some(engine) = self.engine.clone() {
                // A failure is logged by the engine: an xid that is neither
                // running nor committed is aborted anyway.
                let _ = engine.abort_subxact(sub.xid, &sub.children);
            }
        }
        sub.xid = 0;
        sub.children.clear();
        self.owner().release_all(Release::Abort);
    }

    /// CleanupSubTransaction: the (aborted) innermost level goes; returns
    /// its savepoint name.
    fn cleanup_sub(&mut self) -> String {
        let sub = self.subs.pop().expect("a subtransaction to clean up");
        self.events.push(SubEvent::Aborted);
        let mut owners = self.owners.borrow_mut();
        let mut owner = owners.pop().expect("one owner per level");
        owner.release_all(Release::Abort);
        sub.name
    }

    fn commit(&mut self) -> (Ended, Vec<PgError>) {
        // A transaction that wrote: commit record flushed, commit status,
        // out of the proc array (the engine does all three, in order). If
        // that fails before the status is set, the transaction aborts and
        // the caller must report the error instead of COMMIT.
        if self.xid != 0 {
            if let Some(engine) = self.engine.clone() {
                if let Err(e) = engine.commit(&self.subxids) {
                    let _ = engine.abort(&self.subxids);
                    self.owner().release_all(Release::Abort);
                    self.reset();
                    return (Ended::Aborted, vec![e]);
                }
            }
        }
        let leaks = self.owner().release_all(Release::Commit);
        self.reset();
        (Ended::Committed, leak_warnings(leaks))
    }

    fn abort_and_cleanup(&mut self) {
        // Abort record (no flush wait), aborted status, out of the proc
        // array; a failure there is logged by the engine and changes
        // nothing: an xid that is neither running nor committed is aborted.
        if self.xid != 0 {
            if let Some(engine) = self.engine.clone() {
                let _ = engine.abort(&self.subxids);
            }
        }
        self.owner().release_all(Release::Abort);
        self.reset();
    }

    fn reset(&mut self) {
        // Only the top level is left by the time a transaction ends: every
        // subtransaction committed into it or was rolled back.
        debug_assert!(self.subs.is_empty());
        self.subs.clear();
        self.owners.borrow_mut().truncate(1);
        self.xid = 0;
        self.subxids.clear();
        self.block = BlockState::Default;
        self.start = 0;
        self.command_id = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A stand-in for a pin or a lock: records when and why it is
    /// released, into a log shared with the test.
    struct Dummy {
        name: &'static str,
        phase: ReleasePhase,
        log: Rc<RefCell<Vec<String>>>,
    }

    impl Resource for Dummy {
        fn kind(&self) -> &'static str {
            self.name
        }
        fn phase(&self) -> ReleasePhase {
            self.phase
        }
        fn release(self: Box<Self>, why: Release) {
            self.log
                .borrow_mut()
                .push(format!("{} {:?}", self.name, why));
        }
    }

    fn dummy(
        name: &'static str,
        phase: ReleasePhase,
        log: &Rc<RefCell<Vec<String>>>,
    ) -> Box<dyn Resource> {
        Box::new(Dummy {
            name,
            phase,
            log: log.clone(),
        })
    }

    #[test]
    fn owner_releases_by_phase_newest_first_and_forgets() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut o = ResourceOwner::default();
        o.remember(dummy("lock a", ReleasePhase::Locks, &log));
        o.remember(dummy("pin 1", ReleasePhase::BeforeLocks, &log));
        let unpinned = o.remember(dummy("pin 2", ReleasePhase::BeforeLocks, &log));
        o.remember(dummy("pin 3", ReleasePhase::BeforeLocks, &log));
        assert_eq!(o.len(), 4);
        // pin 2's user releases it itself: the owner no longer does.
        assert!(o.forget(unpinned).is_some());
        assert!(o.forget(unpinned).is_none());
        assert_eq!(o.len(), 3);
        assert!(o.release_all(Release::Abort).is_empty());
        assert_eq!(
            *log.borrow(),
            ["pin 3 Abort", "pin 1 Abort", "lock a Abort"].map(String::from)
        );
        assert!(o.is_empty());
    }

    #[test]
    fn commit_releases_leaks_with_a_warning_abort_quietly() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut x = Xact::new();
        assert!(x.start_command(100));
        x.owner()
            .remember(dummy("buffer pin", ReleasePhase::BeforeLocks, &log));
        let (ended, warnings) = x.commit_command();
        assert_eq!(ended, Some(Ended::Committed));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].message, "resource was not closed: buffer pin");
        assert_eq!(*log.borrow(), ["buffer pin Commit"]);

        // Locks are transaction-scoped: released at commit without a
        // warning.
        log.borrow_mut().clear();
        x.start_command(150);
        x.owner().remember(dummy("lock", ReleasePhase::Locks, &log));
        let (ended, warnings) = x.commit_command();
        assert_eq!(ended, Some(Ended::Committed));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(*log.borrow(), ["lock Commit"]);

        log.borrow_mut().clear();
        x.start_command(200);
        x.begin_block().unwrap();
        x.commit_command();
        x.owner().remember(dummy("lock", ReleasePhase::Locks, &log));
        // An error inside the block releases at once, the block stays.
        assert_eq!(x.abort_current(), None);
        assert_eq!(*log.borrow(), ["lock Abort"]);
        assert_eq!(x.status(), Status::Failed);
        assert!(x.owner().is_empty());
    }

    /// What a process that ends inside a transaction still releases.
    #[test]
    fn exit_releases_the_open_transactions_resources() {
        crate::exit::on_exit_reset();
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut x = Xact::new();
        let _ = x.release_at_exit();
        x.start_command(1);
        x.begin_implicit_block();
        x.owner()
            .remember(dummy("LWLock", ReleasePhase::Locks, &log));
        crate::exit::shmem_exit(1);
        assert_eq!(*log.borrow(), ["LWLock Exit"]);
        crate::exit::on_exit_reset();
    }

    #[test]
    fn single_statement_starts_and_commits() {
        let mut x = Xact::new();
        assert!(x.start_command(42));
        assert_eq!(x.block_state(), BlockState::Started);
        assert_eq!(x.start_timestamp(), 42);
        assert!(!x.is_transaction_block());
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
        assert_eq!(x.block_state(), BlockState::Default);
        assert_eq!(x.status(), Status::Idle);
        assert_eq!(x.start_timestamp(), 0);
    }

    /// `SET ...; SELECT 1/0`: one implicit transaction, rolled back whole.
    #[test]
    fn multi_statement_query_is_one_implicit_transaction() {
        let mut x = Xact::new();
        assert!(x.start_command(7));
        x.begin_implicit_block();
        assert!(x.is_transaction_block());
        assert!(x.prevent_in_transaction_block("DISCARD ALL").is_err());
        assert_eq!(x.commit_command().0, None); // between statements
        assert_eq!(x.command_id(), 1);
        assert!(!x.start_command(8)); // same transaction, same start
        x.begin_implicit_block();
        assert_eq!(x.start_timestamp(), 7);
        assert_eq!(x.abort_current(), Some(Ended::Aborted));
        assert_eq!(x.status(), Status::Idle);

        // And when every statement succeeds it commits at the end.
        x.start_command(9);
        x.begin_implicit_block();
        x.commit_command();
        x.start_command(9);
        x.begin_implicit_block();
        x.end_implicit_block();
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
    }

    /// `SET ...; BEGIN; SELECT 1/0`: BEGIN turns the implicit block into an
    /// explicit one, which fails and waits for ROLLBACK.
    #[test]
    fn begin_inside_implicit_block_makes_it_explicit() {
        let mut x = Xact::new();
        x.start_command(1);
        x.begin_implicit_block();
        x.commit_command();
        x.start_command(2);
        x.begin_implicit_block();
        assert_eq!(x.begin_block().unwrap(), None);
        assert_eq!(x.commit_command().0, None); // a transaction statement
        assert_eq!(x.block_state(), BlockState::InProgress);
        x.start_command(3);
        x.begin_implicit_block(); // no effect in an explicit block
        assert_eq!(x.abort_current(), None);
        assert_eq!(x.status(), Status::Failed);
        assert!(x.is_aborted_block());
        x.start_command(4);
        let (commits, w) = x.end_block().unwrap();
        assert!(!commits && w.is_none()); // COMMIT of a failed block: ROLLBACK
        assert_eq!(x.commit_command().0, Some(Ended::Aborted));
        assert_eq!(x.status(), Status::Idle);
    }

    /// `SELECT 1; COMMIT; SELECT 2` and `SET ...; ROLLBACK` in one string.
    #[test]
    fn commit_and_rollback_inside_implicit_block() {
        let mut x = Xact::new();
        x.start_command(1);
        x.begin_implicit_block();
        x.commit_command();
        x.start_command(1);
        x.begin_implicit_block();
        let (commits, w) = x.end_block().unwrap();
        assert!(commits);
        assert_eq!(w.unwrap().code, sqlstate::NO_ACTIVE_SQL_TRANSACTION);
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
        assert!(x.start_command(5)); // SELECT 2: a new transaction
        assert_eq!(x.start_timestamp(), 5);
        x.begin_implicit_block();
        let w = x.user_abort_block().unwrap();
        assert_eq!(w.unwrap().message, "there is no transaction in progress");
        assert_eq!(x.commit_command().0, Some(Ended::Aborted));
    }

    #[test]
    fn explicit_block_warnings_and_ends() {
        let mut x = Xact::new();
        x.start_command(1);
        x.begin_block().unwrap();
        x.commit_command();
        assert_eq!(x.status(), Status::InBlock);
        x.start_command(2);
        let w = x.begin_block().unwrap().unwrap();
        assert_eq!(w.code, sqlstate::ACTIVE_SQL_TRANSACTION);
        assert_eq!(x.commit_command().0, None);
        assert_eq!(x.start_timestamp(), 1);
        x.start_command(3);
        assert_eq!(x.end_block().unwrap(), (true, None));
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
        x.start_command(4);
        x.begin_block().unwrap();
        x.commit_command();
        x.start_command(5);
        assert_eq!(x.user_abort_block().unwrap(), None);
        assert_eq!(x.commit_command().0, Some(Ended::Aborted));
        assert_eq!(x.status(), Status::Idle);
    }

    /// Records what the engine was asked, and can fail the commit.
    struct FakeEngine {
        calls: RefCell<Vec<String>>,
        next: std::cell::Cell<u64>,
        fail_commit: bool,
    }

    impl XactEngine for FakeEngine {
        fn assign_xid(&self) -> Result<u64, PgError> {
            let x = self.next.get();
            self.next.set(x + 1);
            self.calls.borrow_mut().push(format!("assign {x}"));
            Ok(x)
        }
        fn commit(&self, subxids: &[u64]) -> Result<(), PgError> {
            self.calls.borrow_mut().push(if subxids.is_empty() {
                "commit".into()
            } else {
                format!("commit {subxids:?}")
            });
            if self.fail_commit {
                return Err(PgError::error(sqlstate::IO_ERROR, "could not flush"));
            }
            Ok(())
        }
        fn abort(&self, subxids: &[u64]) -> Result<(), PgError> {
            self.calls.borrow_mut().push(if subxids.is_empty() {
                "abort".into()
            } else {
                format!("abort {subxids:?}")
            });
            Ok(())
        }
        fn assign_subxid(&self) -> Result<u64, PgError> {
            let x = self.next.get();
            self.next.set(x + 1);
            self.calls.borrow_mut().push(format!("sub {x}"));
            Ok(x)
        }
        fn abort_subxact(&self, xid: u64, children: &[u64]) -> Result<(), PgError> {
            self.calls
                .borrow_mut()
                .push(format!("subabort {xid} {children:?}"));
            Ok(())
        }
    }

    fn engine(fail_commit: bool) -> Rc<FakeEngine> {
        Rc::new(FakeEngine {
            calls: RefCell::new(Vec::new()),
            next: std::cell::Cell::new(1000),
            fail_commit,
        })
    }

    #[test]
    fn the_xid_is_assigned_at_the_first_write_and_released_at_the_end() {
        let e = engine(false);
        let mut x = Xact::new();
        x.set_engine(e.clone());
        assert!(x.current_xid().is_err(), "no transaction, no xid");
        // A read-only transaction never touches the engine.
        x.start_command(1);
        assert_eq!(x.current_xid_if_any(), 0);
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
        assert!(e.calls.borrow().is_empty());
        // A writing one: one xid however many writes, committed once.
        x.start_command(2);
        assert_eq!(x.current_xid().unwrap(), 1000);
        assert_eq!(x.current_xid().unwrap(), 1000);
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
        assert_eq!(x.current_xid_if_any(), 0);
        // A failing statement aborts it.
        x.start_command(3);
        x.current_xid().unwrap();
        assert_eq!(x.abort_current(), Some(Ended::Aborted));
        assert_eq!(
            *e.calls.borrow(),
            ["assign 1000", "commit", "assign 1001", "abort"]
        );
    }

    #[test]
    fn a_commit_that_cannot_be_made_durable_aborts_and_says_so() {
        let e = engine(true);
        let mut x = Xact::new();
        x.set_engine(e.clone());
        x.start_command(1);
        x.current_xid().unwrap();
        let (ended, errors) = x.commit_command();
        assert_eq!(ended, Some(Ended::Aborted));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "could not flush");
        assert_eq!(*e.calls.borrow(), ["assign 1000", "commit", "abort"]);
        assert_eq!(x.block_state(), BlockState::Default);
        // Without an engine a write is refused, never given a fake xid.
        let mut y = Xact::new();
        y.start_command(1);
        assert_eq!(
            y.current_xid().unwrap_err().code,
            sqlstate::FEATURE_NOT_SUPPORTED
        );
    }

    /// Runs one statement as the backend does: start, the statement's
    /// own effect, then the end of a transaction statement (or the
    /// statement's error).
    fn stmt(x: &mut Xact, f: impl FnOnce(&mut Xact) -> Result<(), PgError>) -> Result<(), PgError> {
        x.start_command(1);
        match f(x) {
            Ok(()) => {
                x.commit_command();
                Ok(())
            }
            Err(e) => {
                x.abort_current();
                Err(e)
            }
        }
    }

    fn begin(x: &mut Xact) {
        stmt(x, |x| x.begin_block().map(|_| ())).unwrap();
    }

    #[test]
    fn savepoint_statements_outside_a_block_are_refused_with_25p01() {
        let mut x = Xact::new();
        for (stmt_name, r) in [
            ("SAVEPOINT", {
                x.start_command(1);
                x.define_savepoint("a")
            }),
            ("RELEASE SAVEPOINT", x.release_savepoint("a")),
            ("ROLLBACK TO SAVEPOINT", x.rollback_to_savepoint("a")),
        ] {
            let e = r.unwrap_err();
            assert_eq!(e.code, sqlstate::NO_ACTIVE_SQL_TRANSACTION);
            assert_eq!(
                e.message,
                format!("{stmt_name} can only be used in transaction blocks")
            );
        }
        // In an implicit block (several statements in one Query) too.
        x.begin_implicit_block();
        let e = x.define_savepoint("a").unwrap_err();
        assert_eq!(e.code, sqlstate::NO_ACTIVE_SQL_TRANSACTION);
        assert_eq!(x.abort_current(), Some(Ended::Aborted));
    }

    #[test]
    fn unknown_savepoints_are_3b001_and_fail_the_block() {
        let mut x = Xact::new();
        begin(&mut x);
        let e = stmt(&mut x, |x| x.release_savepoint("nope")).unwrap_err();
        assert_eq!(e.code, sqlstate::INVALID_SAVEPOINT_SPECIFICATION);
        assert_eq!(e.message, "savepoint \"nope\" does not exist");
        assert_eq!(x.status(), Status::Failed);
        // In the failed block ROLLBACK TO still answers, with the same
        // error (there is no savepoint to go back to).
        let e = stmt(&mut x, |x| x.rollback_to_savepoint("nope")).unwrap_err();
        assert_eq!(e.code, sqlstate::INVALID_SAVEPOINT_SPECIFICATION);
        assert_eq!(x.status(), Status::Failed);
        // SAVEPOINT in a failed block: 25P02.
        x.start_command(1);
        let e = x.define_savepoint("a").unwrap_err();
        assert_eq!(e.code, sqlstate::IN_FAILED_SQL_TRANSACTION);
        stmt(&mut x, |x| x.user_abort_block().map(|_| ())).unwrap();
        assert_eq!(x.status(), Status::Idle);
    }

    #[test]
    fn nested_savepoints_repeat_names_and_the_innermost_wins() {
        let mut x = Xact::new();
        begin(&mut x);
        for n in ["a", "b", "a"] {
            stmt(&mut x, |x| x.define_savepoint(n)).unwrap();
        }
        assert_eq!(x.subtransaction_depth(), 3);
        assert_eq!(x.block_state(), BlockState::SubInProgress);
        assert_eq!(x.status(), Status::InBlock);
        // RELEASE a releases the inner a only.
        stmt(&mut x, |x| x.release_savepoint("a")).unwrap();
        assert_eq!(x.subtransaction_depth(), 2);
        // ROLLBACK TO a: b is gone, a stays (opened again).
        stmt(&mut x, |x| x.rollback_to_savepoint("a")).unwrap();
        assert_eq!(x.subtransaction_depth(), 1);
        assert_eq!(x.block_state(), BlockState::SubInProgress);
        let e = stmt(&mut x, |x| x.release_savepoint("b")).unwrap_err();
        assert_eq!(e.code, sqlstate::INVALID_SAVEPOINT_SPECIFICATION);
        assert_eq!(x.block_state(), BlockState::SubAbort);
        assert!(x.is_aborted_block());
        // RELEASE of the failed level: 25P02 (it stays failed).
        x.start_command(1);
        assert_eq!(
            x.release_savepoint("a").unwrap_err().code,
            sqlstate::IN_FAILED_SQL_TRANSACTION
        );
        stmt(&mut x, |x| x.rollback_to_savepoint("a")).unwrap();
        assert_eq!(x.status(), Status::InBlock);
        // RELEASE everything, then COMMIT commits.
        stmt(&mut x, |x| x.release_savepoint("a")).unwrap();
        assert_eq!(x.subtransaction_depth(), 0);
        assert_eq!(x.block_state(), BlockState::InProgress);
        x.start_command(1);
        assert_eq!(x.end_block().unwrap(), (true, None));
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
    }

    /// The ORM pattern: an error inside a savepoint, ROLLBACK TO it, and
    /// the transaction goes on and commits what was done outside it.
    #[test]
    fn rollback_to_recovers_a_failed_transaction_and_undoes_only_the_savepoint() {
        let e = engine(false);
        let mut x = Xact::new();
        x.set_engine(e.clone());
        begin(&mut x);
        x.start_command(1);
        assert_eq!(x.current_xid().unwrap(), 1000); // a write before
        x.commit_command();
        stmt(&mut x, |x| x.define_savepoint("s")).unwrap();
        x.start_command(1);
        assert_eq!(x.current_xid().unwrap(), 1001);
        assert!(x.is_current_xid(1001));
        assert_eq!(x.abort_current(), None); // the statement failed
        assert_eq!(x.status(), Status::Failed);
        assert!(!x.is_current_xid(1001), "rolled back: no longer ours");
        assert!(x.is_current_xid(1000));
        stmt(&mut x, |x| x.rollback_to_savepoint("s")).unwrap();
        assert_eq!(x.status(), Status::InBlock);
        assert_eq!(x.subtransaction_depth(), 1);
        // A new write in the reopened savepoint gets a new xid.
        x.start_command(1);
        assert_eq!(x.current_xid().unwrap(), 1002);
        x.commit_command();
        assert_eq!(x.current_xids(), [1000, 1002]);
        x.start_command(1);
        assert_eq!(x.end_block().unwrap(), (true, None));
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
        assert_eq!(
            *e.calls.borrow(),
            [
                "assign 1000",
                "sub 1001",
                "subabort 1001 []",
                "sub 1002",
                "commit [1002]"
            ]
        );
    }

    /// Xids are assigned parent first; RELEASE makes a level's xids its
    /// parent's children; ROLLBACK TO aborts a level with its children.
    #[test]
    fn subxids_pass_to_the_parent_on_release_and_abort_with_it() {
        let e = engine(false);
        let mut x = Xact::new();
        x.set_engine(e.clone());
        begin(&mut x);
        stmt(&mut x, |x| x.define_savepoint("a")).unwrap();
        stmt(&mut x, |x| x.define_savepoint("b")).unwrap();
        // The first write, two levels down: top, a, b in that order.
        x.start_command(1);
        assert_eq!(x.current_xid().unwrap(), 1002);
        assert_eq!(x.top_xid_if_any(), 1000);
        x.commit_command();
        stmt(&mut x, |x| x.release_savepoint("b")).unwrap();
        assert!(x.is_current_xid(1002), "released: still ours");
        assert_eq!(x.current_xid_if_any(), 1001);
        stmt(&mut x, |x| x.rollback_to_savepoint("a")).unwrap();
        assert!(!x.is_current_xid(1001) && !x.is_current_xid(1002));
        stmt(&mut x, |x| x.define_savepoint("c")).unwrap();
        x.start_command(1);
        assert_eq!(x.current_xid().unwrap(), 1004); // a again: 1003, c: 1004
        x.commit_command();
        // COMMIT inside two savepoints: both commit into the top.
        x.start_command(1);
        assert_eq!(x.end_block().unwrap(), (true, None));
        assert_eq!(x.commit_command().0, Some(Ended::Committed));
        assert_eq!(x.subtransaction_depth(), 0);
        assert_eq!(
            *e.calls.borrow(),
            [
                "assign 1000",
                "sub 1001",
                "sub 1002",
                "subabort 1001 [1002]",
                "sub 1003",
                "sub 1004",
                "commit [1003, 1004]"
            ]
        );
        // ROLLBACK inside savepoints: each level aborts, then the top
        // with the children released into it.
        e.calls.borrow_mut().clear();
        begin(&mut x);
        stmt(&mut x, |x| x.define_savepoint("a")).unwrap();
        x.start_command(1);
        x.current_xid().unwrap();
        x.commit_command();
        stmt(&mut x, |x| x.release_savepoint("a")).unwrap();
        stmt(&mut x, |x| x.define_savepoint("b")).unwrap();
        x.start_command(1);
        x.current_xid().unwrap();
        x.commit_command();
        stmt(&mut x, |x| x.user_abort_block().map(|_| ())).unwrap();
        assert_eq!(x.status(), Status::Idle);
        assert_eq!(
            *e.calls.borrow(),
            [
                "assign 1005",
                "sub 1006",
                "sub 1007",
                "subabort 1007 []",
                "abort [1006]"
            ]
        );
    }

    /// PL/pgSQL's exception blocks: internal levels open at once, outside
    /// a transaction block too, and close within the statement; a rolled
    /// back one aborts only its own xid, a released one commits with the
    /// top level.
    #[test]
    fn internal_subtransactions_open_and_close_within_a_statement() {
        let e = engine(false);
        let mut x = Xact::new();
        x.set_engine(e.clone());
        x.start_command(1);
        x.current_xid().unwrap();
        x.begin_internal_sub();
        assert_eq!(x.block_state(), BlockState::SubInProgress);
        x.current_xid().unwrap();
        x.rollback_internal_sub();
        assert_eq!(x.subtransaction_depth(), 0);
        x.begin_internal_sub();
        x.current_xid().unwrap();
        assert!(x.release_internal_sub().is_empty());
        assert_eq!(x.subtransaction_depth(), 0);
        assert_eq!(x.block_state(), BlockState::Started);
        assert!(matches!(x.commit_command().0, Some(Ended::Committed)));
        assert_eq!(
            *e.calls.borrow(),
            [
                "assign 1000",
                "sub 1001",
                "subabort 1001 []",
                "sub 1002",
                "commit [1002]"
            ]
        );
    }

    #[test]
    fn commit_of_a_failed_subtransaction_rolls_back_everything() {
        let e = engine(false);
        let mut x = Xact::new();
        x.set_engine(e.clone());
        begin(&mut x);
        stmt(&mut x, |x| x.define_savepoint("a")).unwrap();
        x.start_command(1);
        x.current_xid().unwrap();
        assert_eq!(x.abort_current(), None);
        x.start_command(1);
        // BEGIN in it only warns.
        assert!(x.begin_block().unwrap().is_some());
        assert_eq!(x.end_block().unwrap(), (false, None)); // tag ROLLBACK
        assert_eq!(x.commit_command().0, Some(Ended::Aborted));
        assert_eq!(x.status(), Status::Idle);
        assert_eq!(
            *e.calls.borrow(),
            ["assign 1000", "sub 1001", "subabort 1001 []", "abort"]
        );
    }

    /// An error in the SAVEPOINT statement itself (after the level was
    /// pushed) takes the level away and fails the parent.
    #[test]
    fn an_error_in_a_savepoint_statement_fails_the_parent() {
        let mut x = Xact::new();
        begin(&mut x);
        x.start_command(1);
        x.define_savepoint("a").unwrap();
        assert_eq!(x.block_state(), BlockState::SubBegin);
        assert_eq!(x.abort_current(), None);
        assert_eq!(x.subtransaction_depth(), 0);
        assert_eq!(x.block_state(), BlockState::Abort);
    }

    #[test]
    fn each_savepoint_has_its_own_resource_owner() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut x = Xact::new();
        begin(&mut x);
        x.owner()
            .remember(dummy("top lock", ReleasePhase::Locks, &log));
        stmt(&mut x, |x| x.define_savepoint("a")).unwrap();
        x.owner()
            .remember(dummy("a lock", ReleasePhase::Locks, &log));
        x.owner()
            .remember(dummy("a pin", ReleasePhase::BeforeLocks, &log));
        // ROLLBACK TO releases what the savepoint acquired, only that.
        stmt(&mut x, |x| x.rollback_to_savepoint("a")).unwrap();
        assert_eq!(*log.borrow(), ["a pin Abort", "a lock Abort"]);
        assert!(x.owner().is_empty());
        // RELEASE: a leaked pin is released with a warning, a lock passes
        // to the parent and is released when the transaction ends.
        log.borrow_mut().clear();
        x.owner()
            .remember(dummy("a lock", ReleasePhase::Locks, &log));
        let unlocked = x
            .owner()
            .remember(dummy("a lock 2", ReleasePhase::Locks, &log));
        x.owner()
            .remember(dummy("buffer pin", ReleasePhase::BeforeLocks, &log));
        x.start_command(1);
        x.release_savepoint("a").unwrap();
        let (ended, warnings) = x.commit_command();
        assert_eq!(ended, None);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].message, "resource was not closed: buffer pin");
        assert_eq!(*log.borrow(), ["buffer pin Commit"]);
        assert_eq!(x.owner().len(), 3);
        // A lock taken in the savepoint and given back after RELEASE: its
        // id is still good in the parent, and names that lock only.
        let r = x.owner().forget(unlocked).expect("passed to the parent");
        assert_eq!(r.kind(), "a lock 2");
        assert!(x.owner().forget(unlocked).is_none());
        assert_eq!(x.owner().len(), 2);
        x.start_command(1);
        x.end_block().unwrap();
        let (_, warnings) = x.commit_command();
        // Locks are transaction-scoped: released at commit, no warning.
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            *log.borrow(),
            ["buffer pin Commit", "a lock Commit", "top lock Commit"]
        );
    }

    #[test]
    fn exit_inside_a_savepoint_releases_every_level() {
        crate::exit::on_exit_reset();
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut x = Xact::new();
        let _ = x.release_at_exit();
        begin(&mut x);
        x.owner().remember(dummy("top", ReleasePhase::Locks, &log));
        stmt(&mut x, |x| x.define_savepoint("a")).unwrap();
        x.owner().remember(dummy("sub", ReleasePhase::Locks, &log));
        crate::exit::shmem_exit(1);
        assert_eq!(*log.borrow(), ["sub Exit", "top Exit"]);
        crate::exit::on_exit_reset();
    }
}
