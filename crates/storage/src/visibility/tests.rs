//! Visibility against tables of cases: every combination of inserter and
//! deleter (committed, aborted, crashed, running, committed after the
//! snapshot, our own before/after the current command, our rolled-back
//! subtransaction), with and without hint bits, for MVCC reads; then the
//! writer's and vacuum's classifications.

use super::*;
use std::cell::Cell;

// Xids of the cases.
const OURS: u64 = 100; // our top-level transaction
const OUR_SUB: u64 = 101; // our subtransaction, still alive
const OUR_SUB_ABORTED: u64 = 102; // our subtransaction, rolled back
const COMMITTED: u64 = 50;
const ABORTED: u64 = 51;
const CRASHED: u64 = 52; // never got a status, not running
const RUNNING: u64 = 60; // another backend, running at the snapshot
const LATE: u64 = 120; // committed after our snapshot was taken
const CURCID: u32 = 5;

struct State {
    status_calls: Cell<u32>,
    combos: ComboCids,
}

impl XactState for State {
    fn is_current(&self, xid: u64) -> bool {
        xid == OURS || xid == OUR_SUB
    }
    fn is_in_progress(&self, xid: u64) -> bool {
        [OURS, OUR_SUB, RUNNING].contains(&xid)
    }
    fn status(&self, xid: u64) -> Result<XidStatus, PgError> {
        self.status_calls.set(self.status_calls.get() + 1);
        Ok(match xid {
            COMMITTED | LATE => XidStatus::Committed,
            ABORTED | OUR_SUB_ABORTED => XidStatus::Aborted,
            _ => XidStatus::InProgress,
        })
    }
    fn combo(&self, c: u32) -> (u32, u32) {
        self.combos.lookup(c)
    }
}

fn state() -> State {
    State {
        status_calls: Cell::new(0),
        combos: ComboCids::default(),
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        xmin: RUNNING,
        xmax: 110,
        xip: vec![RUNNING],
        subxip: vec![],
        curcid: CURCID,
        ..Snapshot::default()
    }
}

/// Who inserted or deleted, and for our own, by which command.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    None,
    Committed,
    Aborted,
    Crashed,
    Running,
    Late,
    /// Ours (top-level or subxid), by a command before the current one.
    OursBefore(u64),
    /// Ours, by the current command or a later one.
    OursAfter(u64),
    OurSubAborted,
}

impl Who {
    fn xid(self) -> u64 {
        match self {
            Who::None => 0,
            Who::Committed => COMMITTED,
            Who::Aborted => ABORTED,
            Who::Crashed => CRASHED,
            Who::Running => RUNNING,
            Who::Late => LATE,
            Who::OursBefore(x) | Who::OursAfter(x) => x,
            Who::OurSubAborted => OUR_SUB_ABORTED,
        }
    }
    fn cid(self) -> u32 {
        match self {
            Who::OursAfter(_) => CURCID,
            _ => CURCID - 2,
        }
    }
    fn ours(self) -> bool {
        matches!(self, Who::OursBefore(_) | Who::OursAfter(_))
    }
    /// Does the snapshot see this transaction's change? The whole of
    /// MVCC in one line: committed before the snapshot, or ours from an
    /// earlier command.
    fn seen(self) -> bool {
        matches!(self, Who::Committed | Who::OursBefore(_))
    }
    /// The hint bit a previous reader would have left, if any.
    fn hint(self, committed: u16, invalid: u16) -> u16 {
        match self {
            Who::Committed | Who::Late => committed,
            Who::Aborted | Who::Crashed | Who::OurSubAborted => invalid,
            _ => 0,
        }
    }
}

/// A tuple header inserted by `ins` and deleted by `del`, set up the way
/// the heap would (cids, combo ids), hints as given.
fn tuple(ins: Who, del: Who, hints: bool, st: &mut State) -> Vec<u8> {
    let mut t = vec![0u8; 32];
    heaptuple::set_xmin(&mut t, ins.xid());
    heaptuple::set_cid(&mut t, ins.cid());
    if del != Who::None {
        let mut combos = std::mem::take(&mut st.combos);
        set_deleter(&mut t, del.xid(), del.cid(), false, st, &mut combos);
        st.combos = combos;
    } else {
        heaptuple::set_infomask(&mut t, HEAP_XMAX_INVALID);
    }
    if hints {
        let m = heaptuple::infomask(&t)
            | ins.hint(HEAP_XMIN_COMMITTED, HEAP_XMIN_INVALID)
            | del.hint(HEAP_XMAX_COMMITTED, HEAP_XMAX_INVALID);
        heaptuple::set_infomask(&mut t, m);
    }
    t
}

fn inserters() -> Vec<Who> {
    vec![
        Who::Committed,
        Who::Aborted,
        Who::Crashed,
        Who::Running,
        Who::Late,
        Who::OursBefore(OURS),
        Who::OursAfter(OURS),
        Who::OursBefore(OUR_SUB),
        Who::OursAfter(OUR_SUB),
    ]
}

/// Deleters possible for an inserter: another transaction can only delete
/// a version whose inserter committed.
fn deleters(ins: Who) -> Vec<Who> {
    let ours = vec![
        Who::None,
        Who::OursBefore(OURS),
        Who::OursAfter(OURS),
        Who::OursBefore(OUR_SUB),
        Who::OursAfter(OUR_SUB),
        Who::OurSubAborted,
    ];
    match ins {
        Who::Committed => {
            let mut v = ours;
            v.extend([
                Who::Committed,
                Who::Aborted,
                Who::Crashed,
                Who::Running,
                Who::Late,
            ]);
            v
        }
        Who::OursBefore(_) | Who::OursAfter(_) => ours,
        // Nobody can delete what was never (or not yet) visible to them.
        _ => vec![Who::None],
    }
}

#[test]
fn mvcc_table_of_cases() {
    let snap = snapshot();
    let mut n = 0;
    for hints in [false, true] {
        for ins in inserters() {
            for del in deleters(ins) {
                let mut st = state();
                let mut t = tuple(ins, del, hints, &mut st);
                let before = heaptuple::infomask(&t);
                let want = ins.seen() && !del.seen();
                let got = satisfies_mvcc(&mut t, &snap, &st).unwrap();
                assert_eq!(got, want, "insert {ins:?} delete {del:?} hints {hints}");
                let after = heaptuple::infomask(&t);
                // Hint bits: set exactly where the commit log answered.
                let mut expect = before;
                if !hints {
                    if matches!(ins, Who::Committed) {
                        expect |= HEAP_XMIN_COMMITTED;
                    }
                    if matches!(ins, Who::Aborted | Who::Crashed) {
                        expect |= HEAP_XMIN_INVALID;
                    }
                    if ins.seen() {
                        match del {
                            Who::Committed => expect |= HEAP_XMAX_COMMITTED,
                            Who::Aborted | Who::Crashed | Who::OurSubAborted => {
                                expect |= HEAP_XMAX_INVALID
                            }
                            _ => {}
                        }
                    }
                }
                assert_eq!(
                    after, expect,
                    "hints after insert {ins:?} delete {del:?} hints {hints}: {after:#x} vs {expect:#x}"
                );
                // With the hints a previous reader left, the commit log is
                // asked only about the deleter of our own aborted
                // subtransaction (no hint is possible while we run).
                if hints && !ins.ours() {
                    assert_eq!(st.status_calls.get(), 0, "{ins:?} {del:?}");
                }
                n += 1;
            }
        }
    }
    assert_eq!(n, 2 * (11 + 4 * 6 + 4), "every case ran");
}

/// A hint bit is trusted: the commit log is not asked, even if (in this
/// test) it would say otherwise; and a committed hint does not make a
/// transaction the snapshot saw running visible.
#[test]
fn hint_bits_are_answers_but_not_over_the_snapshot() {
    let snap = snapshot();
    let st = state();
    let mut t = vec![0u8; 32];
    heaptuple::set_xmin(&mut t, ABORTED);
    heaptuple::set_infomask(&mut t, HEAP_XMIN_COMMITTED | HEAP_XMAX_INVALID);
    assert!(satisfies_mvcc(&mut t, &snap, &st).unwrap());
    heaptuple::set_xmin(&mut t, LATE);
    assert!(!satisfies_mvcc(&mut t, &snap, &st).unwrap());
    heaptuple::set_xmin(&mut t, RUNNING);
    assert!(!satisfies_mvcc(&mut t, &snap, &st).unwrap());
    assert_eq!(st.status_calls.get(), 0);
    // A lock-only xmax never hides the tuple.
    let mut t = vec![0u8; 32];
    heaptuple::set_xmin(&mut t, COMMITTED);
    heaptuple::set_xmax(&mut t, RUNNING);
    heaptuple::set_infomask(&mut t, HEAP_XMAX_LOCK_ONLY);
    assert!(satisfies_mvcc(&mut t, &snap, &st).unwrap());
}

#[test]
fn combo_ids_keep_both_command_ids_of_our_own_tuples() {
    let mut st = state();
    let mut t = vec![0u8; 32];
    heaptuple::set_xmin(&mut t, OURS);
    heaptuple::set_cid(&mut t, 2);
    let mut combos = ComboCids::default();
    set_deleter(&mut t, OURS, 7, false, &st, &mut combos);
    assert_ne!(heaptuple::infomask(&t) & HEAP_COMBOCID, 0);
    st.combos = combos;
    assert_eq!((cmin(&t, &st), cmax(&t, &st)), (2, 7));
    let mut snap = snapshot();
    for (cid, want) in [(2, false), (3, true), (7, true), (8, false)] {
        snap.curcid = cid;
        assert_eq!(
            satisfies_mvcc(&mut t, &snap, &st).unwrap(),
            want,
            "cid {cid}"
        );
    }
    // The same pair maps to the same combo id.
    let mut c2 = ComboCids::default();
    assert_eq!(c2.get(2, 7), c2.get(2, 7));
    assert_ne!(c2.get(2, 7), c2.get(2, 8));
    c2.reset();
    assert_eq!(c2.get(9, 9), 0);
}

#[test]
fn writer_results() {
    use UpdateResult::*;
    let me = ItemPointer {
        block: 3,
        offset: 4,
    };
    let newer = ItemPointer {
        block: 3,
        offset: 9,
    };
    let cases: &[(Who, Who, Option<ItemPointer>, UpdateResult)] = &[
        (Who::Committed, Who::None, None, Ok),
        (Who::Aborted, Who::None, None, Invisible),
        (Who::Running, Who::None, None, Invisible),
        (Who::Late, Who::None, None, Ok), // the writer sees the latest
        (Who::OursBefore(OURS), Who::None, None, Ok),
        (Who::OursAfter(OURS), Who::None, None, Invisible),
        (
            Who::OursBefore(OURS),
            Who::OursBefore(OURS),
            None,
            Invisible,
        ),
        (
            Who::OursBefore(OURS),
            Who::OursAfter(OURS),
            None,
            SelfModified,
        ),
        (Who::OursBefore(OURS), Who::OurSubAborted, None, Ok),
        (Who::Committed, Who::Running, None, BeingModified),
        (Who::Committed, Who::Aborted, None, Ok),
        (Who::Committed, Who::Crashed, None, Ok),
        (Who::Committed, Who::Committed, Some(me), Deleted),
        (Who::Committed, Who::Committed, Some(newer), Updated),
        (Who::Committed, Who::Late, Some(newer), Updated),
        (Who::Committed, Who::OursBefore(OURS), None, Invisible),
        (Who::Committed, Who::OursAfter(OUR_SUB), None, SelfModified),
    ];
    for hints in [false, true] {
        for &(ins, del, ctid, want) in cases {
            let mut st = state();
            let mut t = tuple(ins, del, hints, &mut st);
            heaptuple::set_ctid(&mut t, ctid.unwrap_or(me));
            let got = satisfies_update(&mut t, CURCID, me, &st).unwrap();
            assert_eq!(got, want, "insert {ins:?} delete {del:?} hints {hints}");
        }
    }
    // Locks: a running locker is waited for; a finished one is gone.
    for (locker, want) in [(RUNNING, BeingModified), (COMMITTED, Ok), (ABORTED, Ok)] {
        let st = state();
        let mut t = vec![0u8; 32];
        heaptuple::set_xmin(&mut t, COMMITTED);
        heaptuple::set_xmax(&mut t, locker);
        heaptuple::set_infomask(&mut t, HEAP_XMAX_LOCK_ONLY);
        assert_eq!(satisfies_update(&mut t, CURCID, me, &st).unwrap(), want);
    }
}

#[test]
fn vacuum_results_against_the_horizon() {
    use VacuumResult::*;
    // Horizon 55: COMMITTED (50) is below it, LATE (120) above.
    let h = 55;
    let cases: &[(Who, Who, VacuumResult)] = &[
        (Who::Committed, Who::None, Live),
        (Who::Aborted, Who::None, Dead),
        (Who::Crashed, Who::None, Dead),
        (Who::Running, Who::None, InsertInProgress),
        (Who::OursBefore(OURS), Who::None, InsertInProgress),
        (
            Who::OursBefore(OURS),
            Who::OursAfter(OURS),
            DeleteInProgress,
        ),
        (Who::Committed, Who::Running, DeleteInProgress),
        (Who::Committed, Who::Aborted, Live),
        (Who::Committed, Who::Committed, Dead),
        (Who::Committed, Who::Late, RecentlyDead),
    ];
    for hints in [false, true] {
        for &(ins, del, want) in cases {
            let mut st = state();
            let mut t = tuple(ins, del, hints, &mut st);
            let got = satisfies_vacuum(&mut t, h, &st).unwrap();
            assert_eq!(got, want, "insert {ins:?} delete {del:?} hints {hints}");
        }
    }
    // Once the horizon passes the deleter, recently dead becomes dead.
    let mut st = state();
    let mut t = tuple(Who::Committed, Who::Late, false, &mut st);
    assert_eq!(satisfies_vacuum(&mut t, LATE + 1, &st).unwrap(), Dead);
}
