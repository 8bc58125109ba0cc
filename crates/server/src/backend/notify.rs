//! LISTEN / NOTIFY / UNLISTEN for one session: what the transaction asked
//! for, applied at its commit, and the delivery of notifications to the
//! client (PostgreSQL's async.c, the session's half).
//!
//! Why this shape:
//! - Everything a transaction asks is *pending* until it commits, tagged
//!   with the subtransaction depth that asked (so ROLLBACK TO drops it,
//!   RELEASE hands it to the parent): a rolled-back NOTIFY is never sent
//!   and a rolled-back LISTEN never takes effect.
//! - Before the commit the notifications' bytes are reserved in the
//!   shared queue (tusk_storage::notify), so a full queue fails the
//!   transaction with 54000 instead of losing notifications after it
//!   committed; after the commit they are appended and listeners woken.
//! - Channels are filtered here, per session: the shared queue only knows
//!   who listens in which database.
//! - Delivery happens where PostgreSQL 15 delivers: before ReadyForQuery
//!   when no transaction block is open, and while idle on the client
//!   socket (the writer sets this backend's latch; the socket read gives
//!   way when this slot's queue signal is set and the session is idle
//!   outside a block, see [`idle_delivery_wanted`]).

use super::Session;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};
use tusk_common::{sqlstate, PgError, Severity};
use tusk_storage::notify::{entry_size, Notification, NotifyQueue, QueueFull};

/// What a transaction asked for, applied at its commit.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Listen(String),
    Unlisten(String),
    UnlistenAll,
}

/// The session's LISTEN/NOTIFY state.
#[derive(Default)]
pub(super) struct NotifyState {
    /// Channels listened on (committed), in LISTEN order.
    channels: Vec<String>,
    /// (subtransaction depth, action) not committed yet.
    actions: Vec<(usize, Action)>,
    /// (depth, channel, payload) not committed yet, duplicates folded.
    notifies: Vec<(usize, String, String)>,
    /// Bytes reserved in the queue for `notifies` (pre-commit).
    reserved: u64,
    /// Registered as a listener in the shared queue.
    registered: bool,
}

/// Whether the socket read may give way to deliver notifications: set by
/// the main loop while it waits for a message outside any transaction.
static IDLE_OUTSIDE_BLOCK: AtomicBool = AtomicBool::new(false);

/// This slot's queue signal flag (null: no queue attached yet).
static SIGNAL: AtomicPtr<AtomicU32> = AtomicPtr::new(std::ptr::null_mut());

/// Called by the socket read after every wake-up: true when a
/// notification waits and the session may deliver it now.
pub(super) fn idle_delivery_wanted() -> bool {
    if !IDLE_OUTSIDE_BLOCK.load(Ordering::SeqCst) {
        return false;
    }
    let p = SIGNAL.load(Ordering::SeqCst);
    // SAFETY: the pointer is to this slot's listener entry in shared
    // memory, mapped for the life of the process (set by `attach`).
    !p.is_null() && unsafe { (*p).load(Ordering::SeqCst) } != 0
}

/// The main loop says whether it now waits idle outside a transaction.
pub(super) fn set_idle_outside_block(idle: bool) {
    IDLE_OUTSIDE_BLOCK.store(idle, Ordering::SeqCst);
}

fn queue_full() -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        "too many notifications in the NOTIFY queue",
    )
}

impl Session {
    fn queue(&self) -> Option<NotifyQueue> {
        self.shared.notify_queue()
    }

    /// Makes this slot's signal visible to the socket read and arranges
    /// for UNLISTEN * at exit. Once, at session start.
    pub(super) fn attach_notify(&mut self) {
        let Some(q) = self.queue() else {
            return;
        };
        SIGNAL.store(
            q.signal_flag(self.slot as u32) as *const _ as *mut _,
            Ordering::SeqCst,
        );
        let lw = self.shared.clone();
        let me = self.slot as u32;
        let _ = tusk_storage::exit::before_shmem_exit("unlisten all", move |_| {
            q.unlisten(&lw, me);
        });
    }

    /// LISTEN (`listen`), UNLISTEN channel, UNLISTEN * (`channel` None).
    pub(super) fn notify_listen(
        &mut self,
        channel: Option<&str>,
        listen: bool,
    ) -> Result<(), PgError> {
        if self.queue().is_none() {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "LISTEN needs the notification queue, which is not attached",
            ));
        }
        let depth = self.xact.subtransaction_depth();
        let a = match (channel, listen) {
            (Some(c), true) => Action::Listen(c.to_string()),
            (Some(c), false) => Action::Unlisten(c.to_string()),
            (None, _) => Action::UnlistenAll,
        };
        self.notify.actions.push((depth, a));
        Ok(())
    }

    /// NOTIFY / pg_notify, checked already: pending until commit, an
    /// identical (channel, payload) of the same transaction folded into
    /// the first, as PostgreSQL does.
    pub(super) fn notify_send(&mut self, channel: &str, payload: &str) -> Result<(), PgError> {
        if self.queue().is_none() {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "NOTIFY needs the notification queue, which is not attached",
            ));
        }
        if self
            .notify
            .notifies
            .iter()
            .any(|(_, c, p)| c == channel && p == payload)
        {
            return Ok(());
        }
        let depth = self.xact.subtransaction_depth();
        self.notify
            .notifies
            .push((depth, channel.to_string(), payload.to_string()));
        Ok(())
    }

    pub(super) fn listening_channels(&self) -> Vec<String> {
        self.notify.channels.clone()
    }

    pub(super) fn queue_usage(&self) -> f64 {
        self.queue()
            .map_or(0.0, |q| q.usage(&self.shared, self.slot as u32))
    }

    /// Before the commit: registers as a listener if a LISTEN commits
    /// (so nothing committed after this point is missed) and reserves the
    /// queue space of the notifications. Fails with 54000 when full.
    pub(super) fn notify_pre_commit(&mut self) -> Result<(), PgError> {
        let Some(q) = self.queue() else {
            return Ok(());
        };
        let me = self.slot as u32;
        if !self.notify.registered
            && self
                .notify
                .actions
                .iter()
                .any(|(_, a)| matches!(a, Action::Listen(_)))
        {
            q.listen(&self.shared, me, self.db_oid);
            self.notify.registered = true;
        }
        if self.notify.reserved == 0 && !self.notify.notifies.is_empty() {
            let bytes: u64 = self
                .notify
                .notifies
                .iter()
                .map(|(_, c, p)| entry_size(c, p))
                .sum();
            let (warning, reserved) = q.reserve(&self.shared, me, bytes);
            if let Some(w) = warning {
                let mut e = PgError::new(
                    Severity::Warning,
                    sqlstate::WARNING,
                    format!("NOTIFY queue is {:.0}% full", w.fill * 100.0),
                );
                if let Some(pid) = w.oldest_pid {
                    e = e
                        .with_detail(format!(
                            "The server process with PID {pid} is among those with the oldest transactions."
                        ))
                        .with_hint(
                            "The NOTIFY queue cannot be emptied until that process ends its current transaction.",
                        );
                }
                tusk_common::elog::report(&e);
                self.conn.notice(&e);
            }
            reserved.map_err(|QueueFull| queue_full())?;
            self.notify.reserved = bytes;
        }
        Ok(())
    }

    /// At the transaction's end: a commit applies the LISTEN/UNLISTENs
    /// and sends the notifications; an abort forgets both.
    pub(super) fn notify_transaction_ended(&mut self, committed: bool) {
        let actions = std::mem::take(&mut self.notify.actions);
        let notifies = std::mem::take(&mut self.notify.notifies);
        let reserved = std::mem::take(&mut self.notify.reserved);
        let Some(q) = self.queue() else {
            return;
        };
        let me = self.slot as u32;
        if committed {
            for (_, a) in actions {
                let ch = &mut self.notify.channels;
                match a {
                    Action::Listen(c) => {
                        if !ch.contains(&c) {
                            ch.push(c);
                        }
                    }
                    Action::Unlisten(c) => ch.retain(|x| *x != c),
                    Action::UnlistenAll => ch.clear(),
                }
            }
            if reserved > 0 {
                let entries: Vec<(String, String)> =
                    notifies.into_iter().map(|(_, c, p)| (c, p)).collect();
                q.append(
                    &self.shared,
                    me,
                    self.id.backend_pid,
                    self.db_oid,
                    reserved,
                    &entries,
                );
            }
        } else if reserved > 0 {
            q.unreserve(&self.shared, me, reserved);
        }
        if self.notify.registered && self.notify.channels.is_empty() {
            q.unlisten(&self.shared, me);
            self.notify.registered = false;
        }
    }

    /// A subtransaction ended, leaving `depth` open: what an aborted one
    /// asked for goes, a committed one's passes to its parent.
    pub(super) fn notify_subtransaction_ended(&mut self, depth: usize, aborted: bool) {
        if aborted {
            self.notify.actions.retain(|(d, _)| *d <= depth);
            self.notify.notifies.retain(|(d, ..)| *d <= depth);
        } else {
            for (d, _) in &mut self.notify.actions {
                *d = (*d).min(depth);
            }
            for (d, ..) in &mut self.notify.notifies {
                *d = (*d).min(depth);
            }
        }
    }

    /// UNLISTEN * for DISCARD ALL (outside a transaction block, so at
    /// once).
    pub(super) fn unlisten_all_now(&mut self) {
        self.notify.channels.clear();
        if self.notify.registered {
            if let Some(q) = self.queue() {
                q.unlisten(&self.shared, self.slot as u32);
            }
            self.notify.registered = false;
        }
    }

    /// Sends what the queue holds for this session's channels as
    /// NotificationResponse messages. Only outside a transaction block
    /// (PostgreSQL's ProcessNotifyInterrupt); the caller flushes.
    pub(super) fn deliver_notifications(&mut self) {
        let Some(q) = self.queue() else {
            return;
        };
        let me = self.slot as u32;
        if !q.signalled(me) || self.xact.in_transaction() {
            return;
        }
        let mut got: Vec<Notification> = Vec::new();
        q.read(&self.shared, me, self.db_oid, &mut got);
        for n in got {
            if self.notify.channels.contains(&n.channel) {
                self.conn.notification(n.pid, &n.channel, &n.payload);
            }
        }
    }
}
