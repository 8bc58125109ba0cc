//! `uuid`: 16 bytes, PostgreSQL's text forms, and version-4 generation.
//!
//! Why bytes and not u128: the value's order, its binary wire form and its
//! on-disk form are all the 16 bytes in order (uuid_cmp is a memcmp), so
//! keeping them as an array makes every one of those a copy.

/// Parse uuid_in's forms: 32 hex digits, optionally in braces, with an
/// optional hyphen after any group of four digits (after the first eight
/// as usual, but `a0ee-bc99-...` too). `None` is a syntax error.
pub fn parse(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    let mut i = 0;
    let braces = b.first() == Some(&b'{');
    if braces {
        i += 1;
    }
    let mut out = [0u8; 16];
    for (n, byte) in out.iter_mut().enumerate() {
        let hi = hex_val(*b.get(i)?)?;
        let lo = hex_val(*b.get(i + 1)?)?;
        *byte = hi << 4 | lo;
        i += 2;
        if n % 2 == 1 && n < 15 && b.get(i) == Some(&b'-') {
            i += 1;
        }
    }
    if braces {
        if b.get(i) != Some(&b'}') {
            return None;
        }
        i += 1;
    }
    (i == b.len()).then_some(out)
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// uuid_out: lower-case 8-4-4-4-12.
pub fn format(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// gen_random_uuid(): 122 random bits with the version (4) and the
/// RFC 4122 variant bits set, as PostgreSQL's.
pub fn from_random(mut r: [u8; 16]) -> [u8; 16] {
    r[6] = (r[6] & 0x0f) | 0x40;
    r[8] = (r[8] & 0x3f) | 0x80;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_forms_of_postgres() {
        let want = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for s in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
        ] {
            assert_eq!(parse(s).map(|u| format(&u)).as_deref(), Some(want), "{s}");
        }
        // The regression script's rejects.
        for s in [
            "11111111-1111-1111-1111-111111111111F",
            "{11111111-1111-1111-1111-11111111111}",
            "111-11111-1111-1111-1111-111111111111",
            "{22222222-2222-2222-2222-222222222222 ",
            "11111111-1111-1111-G111-111111111111",
            "11+11111-1111-1111-1111-111111111111",
            "",
            "{",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1-",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn random_is_version_4() {
        let u = from_random([0xff; 16]);
        let s = format(&u);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(parse(&s), Some(u));
    }
}
