//! PostgreSQL's pglz compression format: the compressor TOAST uses by default (default_toast_compression = pglz) and its decompressor.
//!
//! Why our own implementation of PostgreSQL's format: a value compressed by
//! tusk must read back in PostgreSQL's tools and a value compressed by
//! PostgreSQL must read back here, so the stream format is PostgreSQL's
//! exactly; the matcher that chooses the matches is ours (any valid stream
//! decodes the same, so it need not pick PostgreSQL's matches).
//!
//! ```text
//! stream   = { control byte, then up to 8 items }...
//! control  = one bit per following item, least significant first:
//!            0 = a literal byte, 1 = a back-reference tag
//! tag      = 2 or 3 bytes:
//!            byte 0  high nibble = offset bits 8..11, low nibble = length - 3
//!            byte 1  offset bits 0..7
//!            byte 2  only when the low nibble is 15: length - 18 (0..255)
//!            offset 1..4095 back from the output position, length 3..273;
//!            the copy runs byte by byte, so it may overlap its own output
//! ```
//! The raw length is not in the stream: TOAST keeps it in the value's
//! header (va_tcinfo / va_rawsize).
//!
//! Compression follows PostgreSQL's default strategy: inputs under 32
//! bytes are not tried; the result must save at least 25 %; and if no
//! match was found in the first 1024 bytes of output, compression gives up
//! (random data is recognised cheaply). Matching uses hash chains over
//! 3-byte prefixes, accepting a match of 128 bytes at once and lowering
//! that bar by 10 % per step of the chain, as PostgreSQL's good-match and
//! good-drop parameters do.
//!
//! Pure functions; any process may call them.

use tusk_common::{sqlstate, PgError};

const MAX_OFFSET: usize = 4095;
const MAX_MATCH: usize = 273;
const MIN_MATCH: usize = 3;
/// PGLZ_strategy_default.
const MIN_INPUT_SIZE: usize = 32;
const MIN_COMP_RATE: usize = 25;
const FIRST_SUCCESS_BY: usize = 1024;
const MATCH_SIZE_GOOD: usize = 128;
const MATCH_SIZE_DROP: usize = 10;
/// Hash table size (a power of two) and how far a chain is followed.
const HASH_BITS: u32 = 13;
const MAX_CHAIN: usize = 64;

fn hash3(b: &[u8]) -> usize {
    let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

/// `src` compressed, or `None` when the default strategy says it is not
/// worth it (too short, saves under 25 %, nothing repeats early on).
pub fn compress(src: &[u8]) -> Option<Vec<u8>> {
    let slen = src.len();
    if slen < MIN_INPUT_SIZE {
        return None;
    }
    // PostgreSQL's result_max: the output must stay under this.
    let result_max = if slen > (i32::MAX as usize) / 100 {
        (slen / 100) * (100 - MIN_COMP_RATE)
    } else {
        (slen * (100 - MIN_COMP_RATE)) / 100
    };
    let mut out: Vec<u8> = Vec::with_capacity(result_max + 4);
    let mut head = vec![usize::MAX; 1 << HASH_BITS];
    // prev[i % window] = the previous position with the same hash.
    let mut prev = vec![usize::MAX; MAX_OFFSET + 1];
    let mut ctrl_pos = 0usize;
    let mut ctrl_bit = 8u32; // forces a new control byte at the first item
    let mut found_match = false;
    let mut i = 0usize;
    let insert = |pos: usize, head: &mut Vec<usize>, prev: &mut Vec<usize>| {
        if pos + MIN_MATCH <= slen {
            let h = hash3(&src[pos..]);
            prev[pos % (MAX_OFFSET + 1)] = head[h];
            head[h] = pos;
        }
    };
    while i < slen {
        if out.len() >= result_max {
            return None;
        }
        if !found_match && out.len() >= FIRST_SUCCESS_BY {
            return None;
        }
        // The longest match within the window, by the hash chain.
        let mut best_len = 0usize;
        let mut best_off = 0usize;
        if i + MIN_MATCH <= slen {
            let h = hash3(&src[i..]);
            let mut cand = head[h];
            let mut good = MATCH_SIZE_GOOD;
            let max_len = MAX_MATCH.min(slen - i);
            let mut steps = 0;
            while cand != usize::MAX && i - cand <= MAX_OFFSET && steps < MAX_CHAIN {
                let mut l = 0;
                while l < max_len && src[cand + l] == src[i + l] {
                    l += 1;
                }
                if l > best_len {
                    best_len = l;
                    best_off = i - cand;
                    if l >= good || l == max_len {
                        break;
                    }
                }
                good -= good * MATCH_SIZE_DROP / 100;
                let next = prev[cand % (MAX_OFFSET + 1)];
                // A stale slot (overwritten by a newer position) ends the chain.
                if next == usize::MAX || next >= cand {
                    break;
                }
                cand = next;
                steps += 1;
            }
        }
        if ctrl_bit == 8 {
            ctrl_pos = out.len();
            out.push(0);
            ctrl_bit = 0;
        }
        if best_len >= MIN_MATCH {
            out[ctrl_pos] |= 1 << ctrl_bit;
            let hi = ((best_off & 0xF00) >> 4) as u8;
            if best_len > 17 {
                out.push(hi | 0x0F);
                out.push((best_off & 0xFF) as u8);
                out.push((best_len - 18) as u8);
            } else {
                out.push(hi | (best_len - 3) as u8);
                out.push((best_off & 0xFF) as u8);
            }
            for p in i..i + best_len {
                insert(p, &mut head, &mut prev);
            }
            i += best_len;
            found_match = true;
        } else {
            out.push(src[i]);
            insert(i, &mut head, &mut prev);
            i += 1;
        }
        ctrl_bit += 1;
    }
    if out.len() >= result_max {
        return None;
    }
    Some(out)
}

fn corrupt() -> PgError {
    PgError::error(sqlstate::DATA_CORRUPTED, "compressed pglz data is corrupt")
}

/// Decompresses `src` into exactly `rawsize` bytes; a stream that reads
/// outside its input or output, or does not end at `rawsize`, is XX001
/// "compressed pglz data is corrupt" (PostgreSQL's message), never a panic.
pub fn decompress(src: &[u8], rawsize: usize) -> Result<Vec<u8>, PgError> {
    let mut out: Vec<u8> = Vec::with_capacity(rawsize);
    let mut sp = 0usize;
    while sp < src.len() && out.len() < rawsize {
        let ctrl = src[sp];
        sp += 1;
        for bit in 0..8 {
            if sp >= src.len() || out.len() >= rawsize {
                break;
            }
            if ctrl & (1 << bit) != 0 {
                if sp + 1 >= src.len() {
                    return Err(corrupt());
                }
                let mut len = (src[sp] & 0x0F) as usize + 3;
                let off = ((src[sp] as usize & 0xF0) << 4) | src[sp + 1] as usize;
                sp += 2;
                if len == 18 {
                    len += *src.get(sp).ok_or_else(corrupt)? as usize;
                    sp += 1;
                }
                if off == 0 || off > out.len() {
                    return Err(corrupt());
                }
                // PostgreSQL clips a copy that would overrun the output.
                let len = len.min(rawsize - out.len());
                let start = out.len() - off;
                for k in 0..len {
                    let b = out[start + k];
                    out.push(b);
                }
            } else {
                out.push(src[sp]);
                sp += 1;
            }
        }
    }
    if out.len() != rawsize || sp != src.len() {
        return Err(corrupt());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u8 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 33) as u8
    }

    #[test]
    fn round_trips_and_refuses_what_does_not_pay() {
        // Repetitive text compresses well and comes back byte-equal.
        let text: Vec<u8> = "the quick brown fox jumps over the lazy dog. "
            .repeat(2000)
            .into_bytes();
        let c = compress(&text).expect("compressible");
        assert!(c.len() * 20 < text.len(), "{} of {}", c.len(), text.len());
        assert_eq!(decompress(&c, text.len()).unwrap(), text);
        // A run of one byte: overlapping copies.
        let run = vec![b'a'; 100_000];
        let c = compress(&run).unwrap();
        assert_eq!(decompress(&c, run.len()).unwrap(), run);
        // Mixed: literals and matches of every length class.
        let mut seed = 7;
        let mut mixed = Vec::new();
        for n in 0..3000 {
            let b = lcg(&mut seed);
            mixed.push(b);
            if n % 7 == 0 {
                let l = mixed.len();
                let k = (b as usize % 300).min(l);
                let from = l - k;
                for j in 0..k {
                    mixed.push(mixed[from + j]);
                }
            }
        }
        if let Some(c) = compress(&mixed) {
            assert_eq!(decompress(&c, mixed.len()).unwrap(), mixed);
        }
        // Random bytes and short inputs are not compressed.
        let random: Vec<u8> = (0..100_000).map(|_| lcg(&mut seed)).collect();
        assert!(compress(&random).is_none());
        assert!(compress(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa").is_none());
    }

    #[test]
    fn decodes_postgresqls_tags_and_rejects_corruption() {
        // Hand-made stream: literals "ab", then a 2-byte tag (offset 2,
        // length 4) and a 3-byte tag (offset 1, length 20).
        // control 0b1100: items 0,1 literal, 2,3 tags.
        let s = [0b0000_1100, b'a', b'b', 0x01, 0x02, 0x0F, 0x01, 0x02];
        let d = decompress(&s, 2 + 4 + 20).unwrap();
        assert_eq!(&d[..6], b"ababab");
        assert!(d[6..].iter().all(|&c| c == b'b'));
        // Wrong raw size, offset before the start, truncated tag.
        assert!(decompress(&s, 27).is_err());
        assert!(decompress(&[0b1, 0x00, 0x05], 3).is_err());
        assert!(decompress(&[0b10, b'a', 0x01], 4).is_err());
        assert_eq!(
            decompress(&[0b1, 0x00, 0x00], 3).unwrap_err().code,
            sqlstate::DATA_CORRUPTED
        );
    }
}
