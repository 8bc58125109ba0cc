//! The in-memory sort every ORDER BY, window and ordered aggregate uses:
//! PostgreSQL's quicksort, so that rows with equal keys come out in the
//! order PostgreSQL puts them in.
//!
//! Why not `slice::sort_by`: SQL leaves the order of rows that compare
//! equal unspecified, and PostgreSQL's answer is whatever its quicksort
//! (Bentley and McIlroy's "Engineering a Sort Function", as PostgreSQL's
//! sort template implements it: insertion sort below 7 elements, a check
//! for already-sorted input, median-of-three or ninther pivots, 3-way
//! partitioning that parks equal keys at both ends) leaves. A stable sort
//! keeps ties in input order instead, so `ORDER BY depname` over the same
//! heap prints its rows in another order than PostgreSQL, and a window's
//! `last_value` over peers picks another row. Given the same input order
//! and the same comparison results, this sort makes the same swaps as
//! PostgreSQL's, and so the same output. Pure function; any process.

use std::cmp::Ordering;

/// Sort `v` in place with `cmp`, making PostgreSQL's quicksort's swaps.
pub(crate) fn sort_by<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    sort(v, &mut cmp);
}

/// ORDER BY ... LIMIT `bound` (LIMIT plus OFFSET): PostgreSQL's bounded
/// sort. Past twice the bound its tuplesort switches to a heap of the
/// best `bound` rows (top-N heapsort), whose ties come out in another
/// order than its quicksort's; this makes the same heap moves. Returns
/// all rows sorted when the input is small enough for the quicksort, else
/// only the first `bound`.
pub(crate) fn bounded_sort_by<T>(
    mut v: Vec<T>,
    bound: usize,
    mut cmp: impl FnMut(&T, &T) -> Ordering,
) -> Vec<T> {
    if bound == 0 || v.len() <= bound.saturating_mul(2) {
        sort_by(&mut v, cmp);
        return v;
    }
    // The heap is kept in reversed order: its top is the worst row kept.
    let mut rev = |a: &T, b: &T| cmp(a, b).reverse();
    let mut heap: Vec<T> = Vec::with_capacity(bound);
    for t in v {
        if heap.len() < bound {
            heap.push(t);
            let mut j = heap.len() - 1;
            while j > 0 {
                let i = (j - 1) / 2;
                if rev(&heap[j], &heap[i]) != Ordering::Less {
                    break;
                }
                heap.swap(i, j);
                j = i;
            }
        } else if rev(&t, &heap[0]) != Ordering::Greater {
            // No better than the worst kept: dropped.
        } else {
            heap[0] = t;
            sift_down(&mut heap, &mut rev);
        }
    }
    // Take the top (worst) off into the slot freed at the end, until one
    // is left: the array ends up in the original order.
    let mut n = heap.len();
    while n > 1 {
        heap.swap(0, n - 1);
        n -= 1;
        sift_down(&mut heap[..n], &mut rev);
    }
    heap
}

/// Move the element at the top of a heap down to its place (PostgreSQL's
/// tuplesort_heap_replace_top): the smaller child rises, a tie stops.
fn sift_down<T>(h: &mut [T], cmp: &mut impl FnMut(&T, &T) -> Ordering) {
    let n = h.len();
    let mut i = 0;
    loop {
        let mut j = 2 * i + 1;
        if j >= n {
            break;
        }
        if j + 1 < n && cmp(&h[j + 1], &h[j]) == Ordering::Less {
            j += 1;
        }
        if cmp(&h[i], &h[j]) != Ordering::Greater {
            break;
        }
        h.swap(i, j);
        i = j;
    }
}

fn med3<T>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

/// Swap the `n` elements from `a` with the `n` from `b` pairwise (the
/// ranges do not overlap).
fn swapn<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

fn sort<T>(mut v: &mut [T], cmp: &mut impl FnMut(&T, &T) -> Ordering) {
    loop {
        let n = v.len();
        if n < 7 {
            for m in 1..n {
                let mut l = m;
                while l > 0 && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
                    v.swap(l, l - 1);
                    l -= 1;
                }
            }
            return;
        }
        if (1..n).all(|m| cmp(&v[m - 1], &v[m]) != Ordering::Greater) {
            return;
        }
        let mut m = n / 2;
        if n > 7 {
            let mut l = 0;
            let mut h = n - 1;
            if n > 40 {
                let d = n / 8;
                l = med3(v, l, l + d, l + 2 * d, cmp);
                m = med3(v, m - d, m, m + d, cmp);
                h = med3(v, h - 2 * d, h - d, h, cmp);
            }
            m = med3(v, l, m, h, cmp);
        }
        v.swap(0, m);
        // Invariant: [1, pa) equal to the pivot, [pa, pb) less, (pc, pd]
        // greater, (pd, n) equal. Indices may step one below pb's start,
        // so they are kept as isize.
        let (mut pa, mut pb) = (1isize, 1isize);
        let (mut pc, mut pd) = (n as isize - 1, n as isize - 1);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb as usize], &v[0]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa as usize, pb as usize);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc as usize], &v[0]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb as usize, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = n as isize;
        let d1 = pa.min(pb - pa);
        swapn(v, 0, (pb - d1) as usize, d1 as usize);
        let d1 = (pd - pc).min(pn - pd - 1);
        swapn(v, pb as usize, (pn - d1) as usize, d1 as usize);
        let d1 = (pb - pa) as usize;
        let d2 = (pd - pc) as usize;
        // Recurse into the smaller side, iterate on the larger.
        let (left, rest) = std::mem::take(&mut v).split_at_mut(d1);
        let right_start = rest.len() - d2;
        let right = &mut rest[right_start..];
        if d1 <= d2 {
            if d1 > 1 {
                sort(left, cmp);
            }
            if d2 <= 1 {
                return;
            }
            v = right;
        } else {
            if d2 > 1 {
                sort(right, cmp);
            }
            if d1 <= 1 {
                return;
            }
            v = left;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorted output for many sizes and key spreads, with ties.
    #[test]
    fn sorts() {
        let mut seed = 12345u64;
        for n in [0usize, 1, 2, 6, 7, 8, 40, 41, 100, 1000, 5000] {
            for spread in [1u64, 3, 50, 1 << 30] {
                let mut v: Vec<(u64, usize)> = (0..n)
                    .map(|i| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((seed >> 33) % spread, i)
                    })
                    .collect();
                let mut multiset: Vec<(u64, usize)> = v.clone();
                sort_by(&mut v, |a, b| a.0.cmp(&b.0));
                assert!(
                    v.windows(2).all(|w| w[0].0 <= w[1].0),
                    "n={n} spread={spread}"
                );
                multiset.sort();
                let mut got = v.clone();
                got.sort();
                assert_eq!(got, multiset);
            }
        }
    }

    /// The bounded sort keeps the best `bound` rows in order.
    #[test]
    fn bounded_sort_keeps_the_best() {
        let mut seed = 99u64;
        for n in [10usize, 50, 1000] {
            for bound in [1usize, 3, 4, 7, 20] {
                let v: Vec<(u64, usize)> = (0..n)
                    .map(|i| {
                        seed = seed
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        ((seed >> 33) % 17, i)
                    })
                    .collect();
                let got = bounded_sort_by(v.clone(), bound, |a, b| a.0.cmp(&b.0));
                let mut want: Vec<u64> = v.iter().map(|x| x.0).collect();
                want.sort();
                let keys: Vec<u64> = got.iter().map(|x| x.0).collect();
                assert_eq!(
                    keys[..bound.min(n)],
                    want[..bound.min(n)],
                    "n={n} bound={bound}"
                );
            }
        }
    }

    /// Ties are not kept in input order: PostgreSQL's sort of 10 rows on
    /// a key with two values (the regression suite's empsalary by depname
    /// gives this order on PostgreSQL 15).
    #[test]
    fn tie_order_is_quicksorts() {
        // Input order of empsalary's heap; key: depname.
        let rows = [
            ("develop", 10),
            ("sales", 1),
            ("personnel", 5),
            ("sales", 4),
            ("personnel", 2),
            ("develop", 7),
            ("develop", 9),
            ("sales", 3),
            ("develop", 8),
            ("develop", 11),
        ];
        let mut v = rows.to_vec();
        sort_by(&mut v, |a, b| a.0.cmp(b.0));
        let ids: Vec<i32> = v.iter().map(|r| r.1).collect();
        assert_eq!(ids, [11, 7, 9, 8, 10, 5, 2, 3, 1, 4]);
    }
}
