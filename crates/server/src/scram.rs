//! Password verifiers (SCRAM-SHA-256 and md5, PostgreSQL's text formats)
//! and the server side of a SCRAM-SHA-256 exchange (RFC 5802/7677).
//!
//! Why this shape: the stored secret is PostgreSQL's exact text
//! (`SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>` or `md5<hex>`),
//! so a pg_dumpall'd role moves between PostgreSQL and tusk unchanged and
//! a client library computes the same proof against either. The exchange
//! is a small state machine with no I/O of its own ([`ScramExchange`]):
//! the backend's authentication code (auth.rs) moves the messages, which
//! keeps this module testable against a real client implementation
//! (postgres-protocol's) without a socket. Every comparison of a secret
//! is constant-time ([`ct_eq`]). Everything here is pure computation on
//! the calling process's own memory: any process may call it.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

/// PostgreSQL's default `scram_iterations` (fixed at 4096 in 15).
pub const SCRAM_ITERATIONS: u32 = 4096;
/// PostgreSQL's salt length for new verifiers (SCRAM_DEFAULT_SALT_LEN).
const SALT_LEN: usize = 16;
/// PostgreSQL's raw server nonce length (SCRAM_RAW_NONCE_LEN).
const NONCE_LEN: usize = 18;

/// Random bytes from the kernel (getrandom(2)). Falls back to nothing:
/// a failure here is a broken kernel, reported by the caller.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        // SAFETY: the pointer and length describe the unfilled tail of buf.
        let r = unsafe { libc::getrandom(buf[got..].as_mut_ptr().cast(), n - got, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("getrandom(buf, {}, 0) failed: {e}", n - got));
        }
        got += r as usize;
    }
    Ok(buf)
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Equality that takes the same time wherever the inputs differ (the
/// length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut d = 0u8;
    for (x, y) in a.iter().zip(b) {
        d |= x ^ y;
    }
    // Keep the compiler from turning the loop into an early exit.
    std::hint::black_box(d) == 0
}

/// PBKDF2-HMAC-SHA-256 with one output block: RFC 5802's Hi().
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut u = hmac256(password, &[salt, &1u32.to_be_bytes()]);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac256(password, &[&u]);
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    out
}

/// The password as SCRAM hashes it: SASLprep-normalized when that
/// succeeds, else the raw bytes (PostgreSQL does the same, so that any
/// byte string stays usable as a password).
fn prepared(password: &str) -> Vec<u8> {
    match stringprep::saslprep(password) {
        Ok(p) => p.into_owned().into_bytes(),
        Err(_) => password.as_bytes().to_vec(),
    }
}

/// A parsed SCRAM-SHA-256 secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramSecret {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl ScramSecret {
    /// The secret for `password` with `salt`.
    pub fn compute(password: &str, salt: &[u8], iterations: u32) -> ScramSecret {
        let salted = hi(&prepared(password), salt, iterations);
        let client_key = hmac256(&salted, &[b"Client Key"]);
        ScramSecret {
            iterations,
            salt: salt.to_vec(),
            stored_key: sha256(&client_key),
            server_key: hmac256(&salted, &[b"Server Key"]),
        }
    }

    /// PostgreSQL's text form.
    pub fn to_text(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }

    /// Parses PostgreSQL's text form; None for anything else.
    pub fn parse(text: &str) -> Option<ScramSecret> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (iter_salt, keys) = rest.split_once('$')?;
        let (iter, salt) = iter_salt.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let iterations: u32 = iter.parse().ok().filter(|&i| i > 0)?;
        let salt = B64.decode(salt).ok()?;
        let stored_key: [u8; 32] = B64.decode(stored).ok()?.try_into().ok()?;
        let server_key: [u8; 32] = B64.decode(server).ok()?.try_into().ok()?;
        Some(ScramSecret {
            iterations,
            salt,
            stored_key,
            server_key,
        })
    }

    /// Whether a cleartext password matches (the `password` method).
    pub fn verify_plain(&self, password: &str) -> bool {
        let c = ScramSecret::compute(password, &self.salt, self.iterations);
        ct_eq(&c.stored_key, &self.stored_key) & ct_eq(&c.server_key, &self.server_key)
    }
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// PostgreSQL's md5 verifier: "md5" + md5(password || user).
pub fn md5_verifier(password: &str, user: &str) -> String {
    format!("md5{}", md5_hex(&[password.as_bytes(), user.as_bytes()]))
}

/// True for a stored md5 verifier ("md5" + 32 lowercase hex digits).
pub fn is_md5_verifier(s: &str) -> bool {
    s.len() == 35
        && s.starts_with("md5")
        && s[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What an md5 client must answer to `salt` for the stored verifier.
pub fn md5_expected_response(verifier: &str, salt: [u8; 4]) -> String {
    format!("md5{}", md5_hex(&[&verifier.as_bytes()[3..], &salt]))
}

/// The kind of a stored password, as PostgreSQL's get_password_type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordType {
    Plaintext,
    Md5,
    Scram,
}

pub fn password_type(stored: &str) -> PasswordType {
    if is_md5_verifier(stored) {
        PasswordType::Md5
    } else if ScramSecret::parse(stored).is_some() {
        PasswordType::Scram
    } else {
        PasswordType::Plaintext
    }
}

/// What CREATE/ALTER ROLE ... PASSWORD stores: a password given already
/// as a verifier is kept as it is (as PostgreSQL does, so dumps restore);
/// else it is hashed per `password_encryption` ("md5" or
/// "scram-sha-256").
pub fn encrypt_password(password: &str, user: &str, encryption: &str) -> Result<String, String> {
    if password_type(password) != PasswordType::Plaintext {
        return Ok(password.to_string());
    }
    if encryption == "md5" {
        return Ok(md5_verifier(password, user));
    }
    let salt = random_bytes(SALT_LEN)?;
    Ok(ScramSecret::compute(password, &salt, SCRAM_ITERATIONS).to_text())
}

/// Whether a cleartext password matches a stored secret of either kind
/// (the `password` method).
pub fn verify_plain(stored: &str, user: &str, password: &str) -> bool {
    match password_type(stored) {
        PasswordType::Md5 => ct_eq(md5_verifier(password, user).as_bytes(), stored.as_bytes()),
        PasswordType::Scram => ScramSecret::parse(stored).is_some_and(|s| s.verify_plain(password)),
        // PostgreSQL no longer stores plaintext; a line of the role file
        // that holds one matches nothing.
        PasswordType::Plaintext => false,
    }
}

/// A SCRAM exchange failure: a malformed message is a protocol violation
/// (08P01, with PostgreSQL's DETAIL), anything else is an ordinary
/// authentication failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramError {
    Malformed(String),
    /// A channel-binding disagreement (PostgreSQL's 28000 "SCRAM channel
    /// binding negotiation error" or 08P01 "SCRAM channel binding check
    /// failed").
    ChannelBinding {
        code: &'static str,
        message: String,
        detail: Option<String>,
    },
    /// Wrong proof, or a mock exchange for a role with no usable secret.
    Failed,
}

fn malformed(detail: impl Into<String>) -> ScramError {
    ScramError::Malformed(detail.into())
}

/// The server's side of one SCRAM-SHA-256 exchange.
pub struct ScramExchange {
    secret: ScramSecret,
    /// False when the role has no usable secret: the exchange runs to
    /// its end with a made-up salt (so a client cannot tell a missing role
    /// from a wrong password) and then fails.
    genuine: bool,
    /// `tls-server-end-point` hash of the server certificate when the
    /// connection is over TLS (channel binding is offered only then).
    cbind_data: Option<Vec<u8>>,
    client_first_bare: String,
    server_first: String,
    gs2_header: String,
    nonce: String,
}

/// One attribute `x=value` at the front of `s`; returns value and rest.
fn attr(s: &str, name: char) -> Result<(&str, &str), ScramError> {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == name => {}
        Some(c) => {
            return Err(malformed(format!(
                "Expected attribute \"{name}\" but found \"{c}\"."
            )))
        }
        None => {
            return Err(malformed(format!(
                "Expected attribute \"{name}\" but found end of string."
            )))
        }
    }
    let rest = chars.as_str();
    let Some(rest) = rest.strip_prefix('=') else {
        return Err(malformed(format!(
            "Expected character \"=\" for attribute \"{name}\"."
        )));
    };
    Ok(match rest.split_once(',') {
        Some((v, r)) => (v, r),
        None => (rest, ""),
    })
}

impl ScramExchange {
    /// Starts an exchange for a role whose stored password is `stored`
    /// (None: no role or no password; a non-SCRAM secret also makes a
    /// mock exchange). `mock_seed` keeps a mock salt stable per role name,
    /// as PostgreSQL's does.
    pub fn new(
        stored: Option<&str>,
        mock_seed: &str,
        cbind_data: Option<Vec<u8>>,
    ) -> ScramExchange {
        match stored.and_then(ScramSecret::parse) {
            Some(secret) => ScramExchange {
                secret,
                genuine: true,
                cbind_data,
                client_first_bare: String::new(),
                server_first: String::new(),
                gs2_header: String::new(),
                nonce: String::new(),
            },
            None => {
                let salt =
                    sha256(format!("tusk mock salt {mock_seed}").as_bytes())[..SALT_LEN].to_vec();
                ScramExchange {
                    secret: ScramSecret {
                        iterations: SCRAM_ITERATIONS,
                        salt,
                        stored_key: [0; 32],
                        server_key: [0; 32],
                    },
                    genuine: false,
                    cbind_data,
                    client_first_bare: String::new(),
                    server_first: String::new(),
                    gs2_header: String::new(),
                    nonce: String::new(),
                }
            }
        }
    }

    /// The mechanisms to advertise: the -PLUS variant only when channel
    /// binding data exists (a TLS connection).
    pub fn mechanisms(&self) -> Vec<&'static str> {
        if self.cbind_data.is_some() {
            vec!["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]
        } else {
            vec!["SCRAM-SHA-256"]
        }
    }

    /// Handles the client-first-message; returns the server-first-message.
    pub fn client_first(&mut self, mechanism: &str, msg: &[u8]) -> Result<String, ScramError> {
        let plus = mechanism == "SCRAM-SHA-256-PLUS";
        let msg = std::str::from_utf8(msg).map_err(|_| malformed("Message is not valid UTF-8."))?;
        let mut cs = msg.chars();
        let flag = cs.next();
        let after_flag = cs.as_str();
        let rest = match flag {
            Some('n') | Some('y') => {
                if plus {
                    return Err(malformed("The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include channel binding data."));
                }
                if flag == Some('y') && self.cbind_data.is_some() {
                    return Err(ScramError::ChannelBinding {
                        code: "28000",
                        message: "SCRAM channel binding negotiation error".into(),
                        detail: Some("The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.".into()),
                    });
                }
                after_flag.strip_prefix(',').ok_or_else(|| {
                    malformed(format!(
                        "Comma expected, but found character \"{}\".",
                        after_flag
                            .chars()
                            .next()
                            .map(String::from)
                            .unwrap_or_default()
                    ))
                })?
            }
            Some('p') => {
                if self.cbind_data.is_none() {
                    return Err(ScramError::ChannelBinding {
                        code: "08P01",
                        message: "malformed SCRAM message".into(),
                        detail: Some("The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data.".into()),
                    });
                }
                if !plus {
                    return Err(malformed("The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message includes channel binding data."));
                }
                let (ty, r) = attr(msg, 'p')?;
                if ty != "tls-server-end-point" {
                    return Err(ScramError::ChannelBinding {
                        code: "08P01",
                        message: "unsupported SCRAM channel-binding type \"".to_string()
                            + ty
                            + "\"",
                        detail: None,
                    });
                }
                r
            }
            Some(c) => {
                return Err(malformed(format!(
                    "Unexpected channel-binding flag \"{c}\"."
                )))
            }
            None => return Err(malformed("Unexpected end of input.")),
        };
        // Authorization identity: must be empty (PostgreSQL does not
        // support one).
        let rest = if let Some(r) = rest.strip_prefix("a=") {
            let (_, r) = r
                .split_once(',')
                .ok_or_else(|| malformed("Unexpected end of input."))?;
            r
        } else {
            rest.strip_prefix(',').ok_or_else(|| {
                malformed(format!(
                    "Comma expected, but found character \"{}\".",
                    rest.chars().next().map(String::from).unwrap_or_default()
                ))
            })?
        };
        self.gs2_header = msg[..msg.len() - rest.len()].to_string();
        let bare = rest;
        if bare.starts_with('m') {
            return Err(malformed("client uses mandatory extension"));
        }
        // The user name is ignored: the startup packet's counts.
        let (_user, r) = attr(bare, 'n')?;
        let (cnonce, _ext) = attr(r, 'r')?;
        if cnonce.is_empty()
            || !cnonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err(malformed("Invalid client nonce."));
        }
        self.client_first_bare = bare.to_string();
        let raw = random_bytes(NONCE_LEN).map_err(ScramError::Malformed)?;
        self.nonce = format!("{cnonce}{}", B64.encode(raw));
        self.server_first = format!(
            "r={},s={},i={}",
            self.nonce,
            B64.encode(&self.secret.salt),
            self.secret.iterations
        );
        Ok(self.server_first.clone())
    }

    /// Handles the client-final-message; returns the server-final-message
    /// (`v=...`) when the proof is right.
    pub fn client_final(&mut self, msg: &[u8]) -> Result<String, ScramError> {
        let msg = std::str::from_utf8(msg).map_err(|_| malformed("Message is not valid UTF-8."))?;
        let (cbind, r) = attr(msg, 'c')?;
        let got = B64
            .decode(cbind)
            .map_err(|_| malformed("Malformed channel binding data."))?;
        let mut want = self.gs2_header.as_bytes().to_vec();
        if let (Some(d), true) = (&self.cbind_data, self.gs2_header.starts_with('p')) {
            want.extend_from_slice(d);
        }
        if !ct_eq(&got, &want) {
            return Err(ScramError::ChannelBinding {
                code: "28000",
                message: "SCRAM channel binding check failed".into(),
                detail: None,
            });
        }
        let (nonce, r) = attr(r, 'r')?;
        if nonce != self.nonce {
            return Err(malformed("Nonce does not match."));
        }
        // Extensions, then the proof, which must come last.
        let mut rest = r;
        let proof_b64 = loop {
            if let Some(p) = rest.strip_prefix("p=") {
                if p.contains(',') {
                    return Err(malformed(
                        "Garbage found at the end of client-final-message.",
                    ));
                }
                break p;
            }
            match rest.split_once(',') {
                Some((_, more)) => rest = more,
                None => {
                    return Err(malformed(
                        "Expected attribute \"p\" but found end of string.",
                    ))
                }
            }
        };
        let proof: [u8; 32] = B64
            .decode(proof_b64)
            .ok()
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| malformed("Malformed proof in client-final-message."))?;
        let without_proof = &msg[..msg.len() - proof_b64.len() - 3];
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let sig = hmac256(&self.secret.stored_key, &[auth_message.as_bytes()]);
        let mut client_key = [0u8; 32];
        for i in 0..32 {
            client_key[i] = proof[i] ^ sig[i];
        }
        let ok = ct_eq(&sha256(&client_key), &self.secret.stored_key);
        if !(ok & self.genuine) {
            return Err(ScramError::Failed);
        }
        let server_sig = hmac256(&self.secret.server_key, &[auth_message.as_bytes()]);
        Ok(format!("v={}", B64.encode(server_sig)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_matches_postgresql() {
        // From a real PostgreSQL 15: SET password_encryption='md5';
        // CREATE ROLE alice PASSWORD 'secret' stores this.
        assert_eq!(
            md5_verifier("secret", "alice"),
            "md5".to_string() + &md5_hex(&[b"secretalice"])
        );
        assert!(is_md5_verifier(&md5_verifier("x", "y")));
        // A SCRAM secret round-trips and verifies its password only.
        let s = ScramSecret::compute("pencil", b"0123456789abcdef", 4096);
        let t = s.to_text();
        assert!(t.starts_with("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"));
        assert_eq!(ScramSecret::parse(&t), Some(s.clone()));
        assert!(s.verify_plain("pencil"));
        assert!(!s.verify_plain("pencil2"));
        assert_eq!(password_type(&t), PasswordType::Scram);
        assert_eq!(password_type("hello"), PasswordType::Plaintext);
        // A verifier given as the password is stored unchanged.
        assert_eq!(encrypt_password(&t, "u", "md5").unwrap(), t);
    }

    #[test]
    fn rfc7677_test_vector() {
        // RFC 7677 section 3: user "user", password "pencil".
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let s = ScramSecret::compute("pencil", &salt, 4096);
        let mut x = ScramExchange::new(Some(&s.to_text()), "user", None);
        let first = x
            .client_first("SCRAM-SHA-256", b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
            .unwrap();
        // Replace our random nonce with the RFC's to check the proof.
        x.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
        x.server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".into();
        assert!(first.starts_with("r=rOprNGfwEbeRWgbNEkqO"));
        let fin = x
            .client_final(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        assert_eq!(fin, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn wrong_proof_mock_and_malformed() {
        let s = ScramSecret::compute("pw", b"saltsaltsaltsalt", 4096).to_text();
        let mut x = ScramExchange::new(Some(&s), "u", None);
        let first = x.client_first("SCRAM-SHA-256", b"n,,n=,r=abc").unwrap();
        let nonce = first.split(',').next().unwrap().to_string();
        let bad = format!("c=biws,{nonce},p={}", B64.encode([0u8; 32]));
        assert_eq!(x.client_final(bad.as_bytes()), Err(ScramError::Failed));
        // A role without a secret runs a mock exchange that fails.
        let mut m = ScramExchange::new(None, "ghost", None);
        assert!(m.client_first("SCRAM-SHA-256", b"n,,n=,r=abc").is_ok());
        for bad in [
            &b"x,,n=,r=a"[..],
            b"n",
            b"n,,",
            b"n,,n=,r=",
            b"\xff",
            b"p=tls-server-end-point,,n=,r=a",
        ] {
            let mut x = ScramExchange::new(Some(&s), "u", None);
            assert!(
                matches!(
                    x.client_first("SCRAM-SHA-256", bad),
                    Err(ScramError::Malformed(_) | ScramError::ChannelBinding { .. })
                ),
                "{bad:?}"
            );
        }
        let mut x = ScramExchange::new(Some(&s), "u", None);
        x.client_first("SCRAM-SHA-256", b"n,,n=,r=abc").unwrap();
        assert!(matches!(
            x.client_final(b"c=biws,r=wrong,p=AAAA"),
            Err(ScramError::Malformed(_))
        ));
    }
}
