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
//! [`crate::xactwal::XlogCommit`]). Not here yet: subtransactions
//! (SAVEPOINT, see [`Xact::begin_subtransaction`]; the engine side,
//! subxids, exists in `transam`).
//!
//! Everything here is per backend, in process-local memory; only the
//! backend's main loop calls it.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use tusk_common::{sqlstate, PgError, Severity};

/// The transaction-block state (PostgreSQL's `TBlockState`, without the
/// subtransaction and two-phase states tusk has no use for yet).
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
}

/// How a transaction ended, for what the backend undoes or keeps
/// (SET's values, portals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Committed,
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
pub struct ResourceId(usize);

/// The resources one transaction holds (PostgreSQL's `ResourceOwner`).
#[derive(Default)]
pub struct ResourceOwner {
    /// Indexed by [`ResourceId`]; `None` once forgotten or released.
    slots: Vec<Option<Box<dyn Resource>>>,
    held: usize,
}

impl ResourceOwner {
    /// Records a resource just acquired. Acquire first, then remember: a
    /// failure in between leaks nothing because nothing was held yet.
    pub fn remember(&mut self, r: Box<dyn Resource>) -> ResourceId {
        self.slots.push(Some(r));
        self.held += 1;
        ResourceId(self.slots.len() - 1)
    }

    /// Takes back a resource its user is about to release itself; `None`
    /// when the owner no longer holds it.
    pub fn forget(&mut self, id: ResourceId) -> Option<Box<dyn Resource>> {
        let r = self.slots.get_mut(id.0)?.take();
        if r.is_some() {
            self.held -= 1;
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
            for i in (0..self.slots.len()).rev() {
                if self.slots[i].as_ref().is_some_and(|r| r.phase() == phase) {
                    let r = self.slots[i].take().expect("checked above");
                    self.held -= 1;
                    if why == Release::Commit && phase != ReleasePhase::Locks {
                        leaked.push(r.kind());
                    }
                    r.release(why);
                }
            }
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
    /// Shared with the exit callback (weakly), so that a process that
    /// ends inside a transaction still releases what it holds.
    owner: Rc<RefCell<ResourceOwner>>,
    /// The top-level xid, 0 until the first write.
    xid: u64,
    /// Subtransaction xids assigned in this transaction.
    subxids: Vec<u64>,
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
            owner: Rc::new(RefCell::new(ResourceOwner::default())),
            xid: 0,
            subxids: Vec::new(),
            engine: None,
        }
    }

    /// Gives the transaction its engine (the backend, once its shared
    /// memory views exist). Without one no xid can be assigned.
    pub fn set_engine(&mut self, engine: Rc<dyn XactEngine>) {
        self.engine = Some(engine);
    }

    /// The running transaction's xid, assigned now if it has none
    /// (PostgreSQL's GetCurrentTransactionId): called before the first
    /// write of a transaction. Outside a transaction, or without an
    /// engine, an error.
    pub fn current_xid(&mut self) -> Result<u64, PgError> {
        if self.xid != 0 {
            return Ok(self.xid);
        }
        if self.block == BlockState::Default {
            return Err(unexpected("GetCurrentTransactionId", self.block));
        }
        let Some(engine) = &self.engine else {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "this process cannot write: it has no transaction engine",
            ));
        };
        self.xid = engine.assign_xid()?;
        Ok(self.xid)
    }

    /// The xid if one was assigned (PostgreSQL's
    /// GetCurrentTransactionIdIfAny), else 0.
    pub fn current_xid_if_any(&self) -> u64 {
        self.xid
    }

    /// Registers the exit callback that releases the open transaction's
    /// resources if the process ends inside it (PostgreSQL's
    /// `ShutdownPostgres` → `AbortOutOfAnyTransaction`). Call once, in the
    /// backend, after the session exists.
    pub fn release_at_exit(&self) -> crate::exit::Registration {
        let owner: Weak<RefCell<ResourceOwner>> = Rc::downgrade(&self.owner);
        crate::exit::before_shmem_exit("abort the open transaction", move |_| {
            if let Some(o) = owner.upgrade() {
                // The borrow fails only if the exit came from inside the
                // owner's own release; what it was releasing is then gone.
                if let Ok(mut o) = o.try_borrow_mut() {
                    o.release_all(Release::Exit);
                }
            }
        })
    }

    pub fn block_state(&self) -> BlockState {
        self.block
    }

    /// The running transaction's resource owner.
    pub fn owner(&self) -> std::cell::RefMut<'_, ResourceOwner> {
        self.owner.borrow_mut()
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
        match self.block {
            BlockState::Default | BlockState::Started => Status::Idle,
            BlockState::Abort | BlockState::AbortEnd | BlockState::AbortPending => Status::Failed,
            BlockState::Begin
            | BlockState::InProgress
            | BlockState::ImplicitInProgress
            | BlockState::End => Status::InBlock,
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

    /// Whether the block failed and only ROLLBACK/COMMIT may run.
    pub fn is_aborted_block(&self) -> bool {
        self.block == BlockState::Abort
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
        match self.block {
            BlockState::Started | BlockState::ImplicitInProgress => {
                self.block = BlockState::Begin;
                Ok(None)
            }
            BlockState::InProgress | BlockState::Abort => Ok(Some(warning(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                "there is already a transaction in progress",
            ))),
            s => Err(unexpected("BeginTransactionBlock", s)),
        }
    }

    /// COMMIT. Returns whether it commits (false: the block had failed,
    /// and the tag is ROLLBACK) and the warning to send, if any.
    pub fn end_block(&mut self) -> Result<(bool, Option<PgError>), PgError> {
        match self.block {
            BlockState::InProgress => {
                self.block = BlockState::End;
                Ok((true, None))
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
        match self.block {
            BlockState::InProgress => {
                self.block = BlockState::AbortPending;
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
        match self.block {
            BlockState::Default => (None, Vec::new()),
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

    /// A statement failed. Inside an explicit block the block fails and
    /// stays (Abort) until ROLLBACK; anywhere else the transaction is
    /// rolled back now. Returns how it ended, if it did: in both cases the
    /// engine's work is undone now, but the session's settings only when
    /// the transaction ends.
    pub fn abort_current(&mut self) -> Option<Ended> {
        match self.block {
            BlockState::Default => None,
            BlockState::InProgress => {
                self.owner.borrow_mut().release_all(Release::Abort);
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

    /// SAVEPOINT: subtransactions come with the storage engine (each gets
    /// its own resource owner, child of the transaction's).
    pub fn begin_subtransaction(&mut self, _name: &str) -> Result<(), PgError> {
        Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "SAVEPOINT is not supported yet",
        ))
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
                    self.owner.borrow_mut().release_all(Release::Abort);
                    self.reset();
                    return (Ended::Aborted, vec![e]);
                }
            }
        }
        let leaks = self.owner.borrow_mut().release_all(Release::Commit);
        self.reset();
        let leaks = leaks
            .into_iter()
            .map(|kind| {
                warning(
                    sqlstate::WARNING,
                    &format!("resource was not closed: {kind}"),
                )
            })
            .collect();
        (Ended::Committed, leaks)
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
        self.owner.borrow_mut().release_all(Release::Abort);
        self.reset();
    }

    fn reset(&mut self) {
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
        fn commit(&self, _: &[u64]) -> Result<(), PgError> {
            self.calls.borrow_mut().push("commit".into());
            if self.fail_commit {
                return Err(PgError::error(sqlstate::IO_ERROR, "could not flush"));
            }
            Ok(())
        }
        fn abort(&self, _: &[u64]) -> Result<(), PgError> {
            self.calls.borrow_mut().push("abort".into());
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
}
