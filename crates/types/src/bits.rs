//! `bit(n)` and `bit varying(n)`: bit strings with PostgreSQL's text and
//! binary forms, order, and the bitwise operators.
//!
//! Why bytes plus a bit count: that is PostgreSQL's own layout (VarBit's
//! bit_len then the bits, most significant first, the last byte's unused
//! low bits zero), so the binary wire form and the order (byte compare,
//! then length) fall out of it without conversion. Both SQL types share
//! the one value; the column's type modifier says which rules apply.

use std::cmp::Ordering;

use tusk_common::sqlstate;
use tusk_common::PgError;

/// A bit string: `len` bits in `data`, the unused low bits of the last
/// byte always zero (so equal strings have equal bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitString {
    pub len: usize,
    pub data: Vec<u8>,
}

impl BitString {
    pub fn zeros(len: usize) -> BitString {
        BitString {
            len,
            data: vec![0; len.div_ceil(8)],
        }
    }

    pub fn get(&self, i: usize) -> bool {
        self.data[i / 8] & (0x80 >> (i % 8)) != 0
    }

    pub fn set(&mut self, i: usize, on: bool) {
        let m = 0x80 >> (i % 8);
        if on {
            self.data[i / 8] |= m;
        } else {
            self.data[i / 8] &= !m;
        }
    }

    fn from_bits(bits: impl Iterator<Item = bool>) -> BitString {
        let mut out = BitString::zeros(0);
        for b in bits {
            if out.len.is_multiple_of(8) {
                out.data.push(0);
            }
            out.len += 1;
            out.set(out.len - 1, b);
        }
        out
    }

    fn bits(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).map(|i| self.get(i))
    }

    /// Zero the bits past `len` in the last byte.
    fn clean(mut self) -> BitString {
        self.data.truncate(self.len.div_ceil(8));
        if !self.len.is_multiple_of(8) {
            if let Some(last) = self.data.last_mut() {
                *last &= 0xFFu8 << (8 - self.len % 8);
            }
        }
        self
    }
}

/// bit_in / varbit_in: `[bB]0101...` binary or `[xX]1F...` hex (an
/// unprefixed string is binary; B'..' and X'..' literals arrive prefixed).
pub fn parse(s: &str) -> Result<BitString, PgError> {
    let (hex, body) = match s.as_bytes().first() {
        Some(b'x' | b'X') => (true, &s[1..]),
        Some(b'b' | b'B') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut out = BitString::zeros(0);
    for (i, c) in body.char_indices() {
        if hex {
            let Some(d) = c.to_digit(16) else {
                return Err(PgError::error(
                    sqlstate::INVALID_TEXT_REPRESENTATION,
                    format!(
                        "\"{}\" is not a valid hexadecimal digit",
                        &body[i..i + c.len_utf8()]
                    ),
                ));
            };
            for k in (0..4).rev() {
                out = push(out, d >> k & 1 == 1);
            }
        } else {
            let bit = match c {
                '0' => false,
                '1' => true,
                _ => {
                    return Err(PgError::error(
                        sqlstate::INVALID_TEXT_REPRESENTATION,
                        format!(
                            "\"{}\" is not a valid binary digit",
                            &body[i..i + c.len_utf8()]
                        ),
                    ))
                }
            };
            out = push(out, bit);
        }
    }
    Ok(out)
}

fn push(mut b: BitString, bit: bool) -> BitString {
    if b.len.is_multiple_of(8) {
        b.data.push(0);
    }
    b.len += 1;
    b.set(b.len - 1, bit);
    b
}

pub fn format(b: &BitString) -> String {
    b.bits().map(|x| if x { '1' } else { '0' }).collect()
}

/// bit_send: int32 bit count, then the bytes.
pub fn send(b: &BitString) -> Vec<u8> {
    let mut out = (b.len as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&b.data);
    out
}

/// bit_recv: the count must match the bytes; stray low bits are cleared.
pub fn recv(buf: &[u8]) -> Option<BitString> {
    let n = i32::from_be_bytes(buf.get(..4)?.try_into().ok()?);
    if n < 0 || buf.len() - 4 != (n as usize).div_ceil(8) {
        return None;
    }
    Some(
        BitString {
            len: n as usize,
            data: buf[4..].to_vec(),
        }
        .clean(),
    )
}

/// bit_cmp: the common bytes, then the shorter string first.
pub fn compare(a: &BitString, b: &BitString) -> Ordering {
    let n = a.data.len().min(b.data.len());
    a.data[..n].cmp(&b.data[..n]).then(a.len.cmp(&b.len))
}

/// A bit(n) value on its way into a column or an explicit cast: an
/// assignment must have exactly n bits (22026); an explicit cast pads
/// with zeros on the right or truncates.
pub fn to_bit(b: BitString, n: usize, explicit: bool) -> Result<BitString, PgError> {
    if b.len == n {
        return Ok(b);
    }
    if !explicit {
        return Err(PgError::error(
            sqlstate::STRING_DATA_LENGTH_MISMATCH,
            format!("bit string length {} does not match type bit({n})", b.len),
        ));
    }
    Ok(resize(b, n))
}

/// varbit(n): longer input is an error on assignment (22001), truncated
/// by an explicit cast.
pub fn to_varbit(b: BitString, n: usize, explicit: bool) -> Result<BitString, PgError> {
    if b.len <= n {
        return Ok(b);
    }
    if !explicit {
        return Err(PgError::error(
            sqlstate::STRING_DATA_RIGHT_TRUNCATION,
            format!("bit string too long for type bit varying({n})"),
        ));
    }
    Ok(resize(b, n))
}

fn resize(mut b: BitString, n: usize) -> BitString {
    b.data.resize(n.div_ceil(8), 0);
    b.len = n;
    b.clean()
}

fn same_size(a: &BitString, b: &BitString, what: &str) -> Result<(), PgError> {
    if a.len != b.len {
        return Err(PgError::error(
            sqlstate::STRING_DATA_LENGTH_MISMATCH,
            format!("cannot {what} bit strings of different sizes"),
        ));
    }
    Ok(())
}

/// `&`, `|`, `#` (what is "AND", "OR", "XOR" for the error message).
pub fn bitwise(a: &BitString, b: &BitString, what: &str) -> Result<BitString, PgError> {
    same_size(a, b, what)?;
    let data = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| match what {
            "AND" => x & y,
            "OR" => x | y,
            _ => x ^ y,
        })
        .collect();
    Ok(BitString { len: a.len, data })
}

pub fn not(a: &BitString) -> BitString {
    BitString {
        len: a.len,
        data: a.data.iter().map(|x| !x).collect(),
    }
    .clean()
}

/// `<<` (negative counts shift right), keeping the length.
pub fn shift_left(a: &BitString, n: i32) -> BitString {
    if n < 0 {
        return shift_right(a, n.saturating_neg());
    }
    let n = n as usize;
    BitString::from_bits((0..a.len).map(|i| i + n < a.len && a.get(i + n)))
}

pub fn shift_right(a: &BitString, n: i32) -> BitString {
    if n < 0 {
        return shift_left(a, n.saturating_neg());
    }
    let n = n as usize;
    let mut out = BitString::from_bits((0..a.len).map(|i| i >= n && a.get(i - n)));
    out.len = a.len;
    out.data.resize(a.len.div_ceil(8), 0);
    out
}

pub fn concat(a: &BitString, b: &BitString) -> BitString {
    BitString::from_bits(a.bits().chain(b.bits()))
}

/// substring(b FROM s [FOR l]) with SQL's 1-based, clamped positions.
pub fn substring(a: &BitString, start: i32, len: Option<i32>) -> Result<BitString, PgError> {
    let s = start as i64;
    let e = match len {
        Some(l) if l < 0 => {
            return Err(PgError::error(
                sqlstate::SUBSTRING_ERROR,
                "negative substring length not allowed",
            ))
        }
        Some(l) => s + l as i64,
        None => i64::MAX,
    };
    let from = s.max(1) as usize - 1;
    let to = e.clamp(1, a.len as i64 + 1) as usize - 1;
    if from >= to {
        return Ok(BitString::zeros(0));
    }
    Ok(BitString::from_bits((from..to).map(|i| a.get(i))))
}

/// position(sub IN b): 1-based, 0 when absent; an empty sub is at 1
/// of a non-empty string, and nowhere in an empty one (bitposition).
pub fn position(sub: &BitString, a: &BitString) -> i32 {
    if a.len == 0 {
        return 0;
    }
    if sub.len == 0 {
        return 1;
    }
    if sub.len > a.len {
        return 0;
    }
    (0..=a.len - sub.len)
        .find(|&i| (0..sub.len).all(|k| a.get(i + k) == sub.get(k)))
        .map_or(0, |i| i as i32 + 1)
}

fn bit_index_error(n: i64, len: usize) -> PgError {
    PgError::error(
        sqlstate::ARRAY_SUBSCRIPT_ERROR,
        format!("bit index {n} out of valid range (0..{})", len as i64 - 1),
    )
}

pub fn get_bit(a: &BitString, n: i32) -> Result<i32, PgError> {
    if n < 0 || n as usize >= a.len {
        return Err(bit_index_error(n as i64, a.len));
    }
    Ok(a.get(n as usize) as i32)
}

pub fn set_bit(a: &BitString, n: i32, v: i32) -> Result<BitString, PgError> {
    if n < 0 || n as usize >= a.len {
        return Err(bit_index_error(n as i64, a.len));
    }
    if v != 0 && v != 1 {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "new bit must be 0 or 1",
        ));
    }
    let mut out = a.clone();
    out.set(n as usize, v == 1);
    Ok(out)
}

pub fn bit_count(a: &BitString) -> i64 {
    a.data.iter().map(|b| b.count_ones() as i64).sum()
}

/// int4/int8 → bit(n): the low n bits of the two's complement (sign
/// extended past the integer's width), as bitfromint4/8.
pub fn from_int(v: i64, width: u32, n: usize) -> BitString {
    BitString::from_bits((0..n).map(|i| {
        let shift = (n - 1 - i) as u32;
        if shift >= width {
            v < 0
        } else {
            (v >> shift) & 1 == 1
        }
    }))
}

/// bit → int4/int8: at most `width` bits, read as an unsigned number
/// wrapped into the signed type.
pub fn to_int(a: &BitString, width: u32) -> Result<i64, PgError> {
    if a.len > width as usize {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            if width == 32 {
                "integer out of range"
            } else {
                "bigint out of range"
            },
        ));
    }
    let mut v: u64 = 0;
    for b in a.bits() {
        v = v << 1 | b as u64;
    }
    Ok(if width == 32 {
        v as u32 as i32 as i64
    } else {
        v as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> BitString {
        parse(s).unwrap()
    }

    #[test]
    fn text_forms() {
        assert_eq!(format(&b("b101")), "101");
        assert_eq!(format(&b("X1F")), "00011111");
        assert_eq!(format(&b("")), "");
        let e = parse("b102").unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("22P02", "\"2\" is not a valid binary digit")
        );
        let e = parse("xZ").unwrap_err();
        assert_eq!(e.message, "\"Z\" is not a valid hexadecimal digit");
        assert_eq!(send(&b("101")), vec![0, 0, 0, 3, 0b1010_0000]);
        assert_eq!(recv(&[0, 0, 0, 3, 0xff]), Some(b("111")));
        assert_eq!(recv(&[0, 0, 0, 9, 0xff]), None);
    }

    #[test]
    fn typmods() {
        let e = to_bit(b("101"), 4, false).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("22026", "bit string length 3 does not match type bit(4)")
        );
        assert_eq!(format(&to_bit(b("101"), 4, true).unwrap()), "1010");
        assert_eq!(format(&to_bit(b("10111"), 2, true).unwrap()), "10");
        let e = to_varbit(b("101"), 2, false).unwrap_err();
        assert_eq!(e.message, "bit string too long for type bit varying(2)");
    }

    #[test]
    fn operators() {
        assert_eq!(
            format(&bitwise(&b("1100"), &b("1010"), "AND").unwrap()),
            "1000"
        );
        assert_eq!(
            format(&bitwise(&b("1100"), &b("1010"), "OR").unwrap()),
            "1110"
        );
        assert_eq!(
            format(&bitwise(&b("1100"), &b("1010"), "XOR").unwrap()),
            "0110"
        );
        assert_eq!(
            bitwise(&b("1"), &b("10"), "AND").unwrap_err().message,
            "cannot AND bit strings of different sizes"
        );
        assert_eq!(format(&not(&b("1100"))), "0011");
        assert_eq!(format(&shift_left(&b("1101"), 1)), "1010");
        assert_eq!(format(&shift_right(&b("1101"), 2)), "0011");
        assert_eq!(format(&shift_left(&b("1101"), -1)), "0110");
        assert_eq!(format(&concat(&b("10"), &b("011"))), "10011");
        assert_eq!(
            format(&substring(&b("0101011"), 2, Some(3)).unwrap()),
            "101"
        );
        assert_eq!(format(&substring(&b("0101011"), 0, Some(2)).unwrap()), "0");
        assert_eq!(position(&b("11"), &b("0101011")), 6);
        assert_eq!(position(&b("111"), &b("0101011")), 0);
        assert_eq!(position(&b(""), &b("0101011")), 1);
        assert_eq!(position(&b(""), &b("")), 0);
        assert_eq!(position(&b("0"), &b("")), 0);
        assert_eq!(get_bit(&b("0100"), 1).unwrap(), 1);
        assert_eq!(
            get_bit(&b("0100"), 4).unwrap_err().message,
            "bit index 4 out of valid range (0..3)"
        );
        assert_eq!(format(&set_bit(&b("0100"), 3, 1).unwrap()), "0101");
        assert_eq!(bit_count(&b("10111")), 4);
        assert_eq!(compare(&b("10"), &b("100")), Ordering::Less);
        assert_eq!(compare(&b("11"), &b("100")), Ordering::Greater);
        assert_eq!(format(&from_int(5, 32, 4)), "0101");
        assert_eq!(
            format(&from_int(-1, 32, 34)),
            "1111111111111111111111111111111111"
        );
        assert_eq!(to_int(&b("1111"), 32).unwrap(), 15);
        assert_eq!(
            to_int(&b("11111111111111111111111111111111"), 32).unwrap(),
            -1
        );
    }
}
