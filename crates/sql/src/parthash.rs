//! The hash of a partition key's values that picks a hash partition, equal to PostgreSQL's so a row lands in the partition PostgreSQL would choose.
//!
//! Why its own file: hash partitioning is defined by PostgreSQL's
//! extended hash functions (Bob Jenkins' lookup3 mixing, seeded with the
//! partitioning seed) and by how the items' hashes are combined; a row's
//! partition is `hash % modulus == remainder`. Only the integer types
//! are hashed here yet; other key types are refused when the partition
//! is chosen.

use crate::value::Value;

/// PostgreSQL's HASH_PARTITION_SEED.
const SEED: u64 = 0x7A5B_2236_7996_DCFD;

fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

fn finish(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// hash_uint32_extended: one 32-bit word, 64-bit seeded result.
fn hash_u32(k: u32, seed: u64) -> u64 {
    let init = 0x9e37_79b9u32.wrapping_add(4).wrapping_add(3_923_095);
    let (mut a, mut b, mut c) = (init, init, init);
    if seed != 0 {
        a = a.wrapping_add((seed >> 32) as u32);
        b = b.wrapping_add(seed as u32);
        mix(&mut a, &mut b, &mut c);
    }
    a = a.wrapping_add(k);
    finish(&mut a, &mut b, &mut c);
    ((b as u64) << 32) | c as u64
}

fn combine(a: u64, b: u64) -> u64 {
    a ^ b
        .wrapping_add(0x49a0_f4dd_15e5_a8e3)
        .wrapping_add(a << 54)
        .wrapping_add(a >> 7)
}

/// The hash of one key item; None for a type not hashed yet.
fn item_hash(v: &Value) -> Option<u64> {
    Some(match v {
        Value::Int2(x) => hash_u32(*x as i32 as u32, SEED),
        Value::Int4(x) => hash_u32(*x as u32, SEED),
        Value::Int8(x) => {
            let lo = *x as u32;
            let hi = (*x >> 32) as u32;
            let folded = if *x >= 0 { lo ^ hi } else { lo ^ !hi };
            hash_u32(folded, SEED)
        }
        Value::Oid(x) => hash_u32(*x, SEED),
        _ => return None,
    })
}

/// The row hash of a key's values (NULLs contribute nothing); None when
/// an item's type is not hashed yet.
pub(crate) fn row_hash(vals: &[Value]) -> Option<u64> {
    let mut h = 0u64;
    for v in vals {
        if v.is_null() {
            continue;
        }
        h = combine(h, item_hash(v)?);
    }
    Some(h)
}
