//! Signed double-submit CSRF tokens, bound to the session (OWASP's construction):
//!
//! ```text
//! random  = 16 bytes from the OS CSPRNG, hex (32 characters)
//! message = len(session) "!" session "!" len(random) "!" random      (lengths in decimal)
//! token   = hex(HMAC-SHA256(secret, message)) "." random              (97 characters)
//! ```
//!
//! The token travels in a `__Host-` cookie (set by the layer, not HttpOnly, so pages can read
//! it) and, on unsafe requests, in a header (or a form field the application checks with
//! [`CsrfToken::verify_submitted`]). It is valid when the header equals the cookie (compared
//! in constant time) and its MAC verifies, in constant time, for the request's session value
//! under the current secret or, during a rotation, the previous one. The secret never appears
//! in a policy file: the application hands it to the layer at start-up.

use std::borrow::Cow;

use crate::eval::Reason;
use crate::headers::{is_token, HeaderLookup, RequestHeader};
use crate::keyset::{refuse, TableError};
use crate::policy::{is_lowercase_token, Str};

/// Hex characters of the MAC, the separator and the random part.
pub const TOKEN_LEN: usize = 64 + 1 + 32;

/// The CSRF secret: at least 32 bytes, and optionally the previous secret during a rotation
/// (tokens made with it still verify; new tokens use the current one). `Debug` never prints it.
#[derive(Clone)]
pub struct CsrfSecret {
    #[cfg_attr(not(feature = "csrf-token"), allow(dead_code))]
    current: Vec<u8>,
    previous: Option<Vec<u8>>,
}

impl std::fmt::Debug for CsrfSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfSecret(..)")
    }
}

/// Why a secret was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// Shorter than [`CsrfSecret::MIN_LEN`] bytes.
    TooShort(usize),
    /// Not an even number of hex digits.
    NotHex,
    /// The environment variable is not set.
    Missing(String),
}

impl std::fmt::Display for SecretError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretError::TooShort(n) => write!(
                f,
                "the CSRF secret is {n} bytes; it needs at least {} (generate one with `openssl rand -hex 32`)",
                CsrfSecret::MIN_LEN
            ),
            SecretError::NotHex => write!(f, "the CSRF secret is not hex"),
            SecretError::Missing(v) => write!(f, "the environment variable {v} is not set"),
        }
    }
}

impl std::error::Error for SecretError {}

fn from_hex(s: &str) -> Result<Vec<u8>, SecretError> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return Err(SecretError::NotHex);
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| match p {
            [a, b] => Ok((hex_val(*a).ok_or(SecretError::NotHex)? << 4)
                | hex_val(*b).ok_or(SecretError::NotHex)?),
            _ => Err(SecretError::NotHex),
        })
        .collect()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(feature = "csrf-token")]
const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(feature = "csrf-token")]
fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(
            HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
        ));
        out.push(char::from(
            HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0'),
        ));
    }
}

impl CsrfSecret {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A secret from raw bytes.
    pub fn new(current: impl Into<Vec<u8>>) -> Result<CsrfSecret, SecretError> {
        let current = current.into();
        if current.len() < Self::MIN_LEN {
            return Err(SecretError::TooShort(current.len()));
        }
        Ok(CsrfSecret {
            current,
            previous: None,
        })
    }

    /// A secret from hex (as `openssl rand -hex 32` prints it).
    pub fn from_hex(hex: &str) -> Result<CsrfSecret, SecretError> {
        Self::new(from_hex(hex)?)
    }

    /// Adds the previous secret, accepted during a rotation.
    pub fn with_previous(
        mut self,
        previous: impl Into<Vec<u8>>,
    ) -> Result<CsrfSecret, SecretError> {
        let previous = previous.into();
        if previous.len() < Self::MIN_LEN {
            return Err(SecretError::TooShort(previous.len()));
        }
        self.previous = Some(previous);
        Ok(self)
    }

    /// The secret from the environment variable `var` (hex), and the previous one from
    /// `{var}_PREVIOUS` when that is set.
    pub fn from_env(var: &str) -> Result<CsrfSecret, SecretError> {
        let current = std::env::var(var).map_err(|_| SecretError::Missing(var.to_string()))?;
        let s = Self::from_hex(&current)?;
        match std::env::var(format!("{var}_PREVIOUS")) {
            Ok(p) if !p.trim().is_empty() => s.with_previous(from_hex(&p)?),
            _ => Ok(s),
        }
    }

    /// Whether a previous secret is still accepted.
    pub fn rotating(&self) -> bool {
        self.previous.is_some()
    }
}

/// A csrf block's `token` line.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    pub(crate) header: Str,
    pub(crate) cookie: Str,
    pub(crate) bind_cookie: Str,
    pub(crate) same_site: Str,
}

/// Plain data for a `token` line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenSpec {
    /// The request header carrying the token (lowercase).
    pub header: String,
    /// The cookie carrying the token (a `__Host-` name).
    pub cookie: String,
    /// The cookie whose value the token is bound to (the session).
    pub bind_cookie: String,
    /// `Lax` or `Strict`.
    pub same_site: String,
}

impl TokenPolicy {
    /// Refuses a header name that is not a token, and cookie names and a SameSite value that
    /// would not make a `Set-Cookie` header value.
    pub(crate) fn build(spec: TokenSpec) -> Result<TokenPolicy, TableError> {
        for (what, ok) in [
            (&spec.header, is_token(spec.header.as_bytes())),
            (&spec.cookie, is_token(spec.cookie.as_bytes())),
            (&spec.bind_cookie, is_token(spec.bind_cookie.as_bytes())),
            (&spec.same_site, is_token(spec.same_site.as_bytes())),
        ] {
            if !ok {
                return Err(TableError::InvalidHeaderValue(what.clone()));
            }
        }
        Ok(TokenPolicy {
            header: Cow::Owned(spec.header.to_ascii_lowercase()),
            cookie: Cow::Owned(spec.cookie),
            bind_cookie: Cow::Owned(spec.bind_cookie),
            same_site: Cow::Owned(spec.same_site),
        })
    }

    /// The constructor generated code calls (as `__private::token_policy`, in a `static`).
    /// Refuses, at compile time, what [`TokenPolicy::build`] refuses at run time, and a
    /// header name that is not lowercase, as [`TokenPolicy::build`] stores it.
    pub(crate) const fn from_raw_parts(
        header: &'static str,
        cookie: &'static str,
        bind_cookie: &'static str,
        same_site: &'static str,
    ) -> TokenPolicy {
        if !(is_lowercase_token(header.as_bytes())
            && is_token(cookie.as_bytes())
            && is_token(bind_cookie.as_bytes())
            && is_token(same_site.as_bytes()))
        {
            refuse("guestlist: a generated csrf token table names a header or cookie that is not a token (header names lowercase)");
        }
        TokenPolicy {
            header: Cow::Borrowed(header),
            cookie: Cow::Borrowed(cookie),
            bind_cookie: Cow::Borrowed(bind_cookie),
            same_site: Cow::Borrowed(same_site),
        }
    }

    /// The request header carrying the token.
    pub fn header(&self) -> &str {
        &self.header
    }
    /// The token cookie's name.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }
    /// The session cookie the token is bound to.
    pub fn bind_cookie(&self) -> &str {
        &self.bind_cookie
    }
    /// `Lax` or `Strict`.
    pub fn same_site(&self) -> &str {
        &self.same_site
    }

    /// The `Set-Cookie` value for a new token: `__Host-` attributes (Secure, Path=/, no
    /// Domain), SameSite as configured, not HttpOnly (pages read it for the header).
    pub fn set_cookie(&self, token: &str) -> String {
        format!(
            "{}={token}; Path=/; Secure; SameSite={}",
            self.cookie, self.same_site
        )
    }
}

/// The value of cookie `name` in the request's `Cookie` lines (the first one wins).
pub(crate) fn cookie<'a, H>(headers: &'a H, name: &str) -> Option<&'a [u8]>
where
    H: HeaderLookup + ?Sized,
{
    for line in headers.values(RequestHeader::Cookie) {
        for pair in line.split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            if let Some(v) = pair
                .strip_prefix(name.as_bytes())
                .and_then(|r| r.strip_prefix(b"="))
            {
                return Some(v);
            }
        }
    }
    None
}

/// Constant-time equality (the length is not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(feature = "csrf-token")]
fn mac(key: &[u8], session: &[u8], random: &[u8]) -> Option<hmac::Hmac<sha2::Sha256>> {
    use hmac::{KeyInit, Mac};
    let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).ok()?;
    // Decimal lengths without allocating (`itoa`, already in the tree through `http`).
    let mut len = itoa::Buffer::new();
    m.update(len.format(session.len()).as_bytes());
    m.update(b"!");
    m.update(session);
    m.update(b"!");
    m.update(len.format(random.len()).as_bytes());
    m.update(b"!");
    m.update(random);
    Some(m)
}

/// A new token for `session`, or `None` when the CSPRNG cannot be read.
#[cfg(feature = "csrf-token")]
pub fn mint(secret: &CsrfSecret, session: &[u8]) -> Option<String> {
    use hmac::Mac;
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).ok()?;
    let mut random = String::with_capacity(32);
    push_hex(&mut random, &raw);
    let tag = mac(&secret.current, session, random.as_bytes())?
        .finalize()
        .into_bytes();
    let mut token = String::with_capacity(TOKEN_LEN);
    push_hex(&mut token, &tag);
    token.push('.');
    token.push_str(&random);
    Some(token)
}

/// Checks a token's form and MAC for `session`: `Ok(true)` when it verified with the
/// previous secret (a rotation is under way), `Ok(false)` with the current one.
#[cfg(feature = "csrf-token")]
pub fn verify(secret: &CsrfSecret, session: &[u8], token: &[u8]) -> Result<bool, Reason> {
    use hmac::Mac;
    if token.len() != TOKEN_LEN {
        return Err(Reason::CsrfTokenMalformed);
    }
    let (tag_hex, rest) = token.split_at(64);
    let Some((b'.', random)) = rest.split_first() else {
        return Err(Reason::CsrfTokenMalformed);
    };
    if !random
        .iter()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Reason::CsrfTokenMalformed);
    }
    let mut tag = [0u8; 32];
    for (slot, pair) in tag.iter_mut().zip(tag_hex.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (
            pair.first().copied().and_then(hex_val),
            pair.get(1).copied().and_then(hex_val),
        ) else {
            return Err(Reason::CsrfTokenMalformed);
        };
        *slot = (hi << 4) | lo;
    }
    let ok = |key: &[u8]| mac(key, session, random).is_some_and(|m| m.verify_slice(&tag).is_ok());
    if ok(&secret.current) {
        return Ok(false);
    }
    match &secret.previous {
        Some(p) if ok(p) => Ok(true),
        _ => Err(Reason::CsrfTokenOtherSession),
    }
}

/// Without the `csrf-token` feature no token verifies (the layer refuses unsafe requests on
/// token routes rather than skip the check).
#[cfg(not(feature = "csrf-token"))]
pub fn verify(_: &CsrfSecret, _: &[u8], _: &[u8]) -> Result<bool, Reason> {
    Err(Reason::CsrfTokenUnavailable)
}

/// Without the `csrf-token` feature no token can be made.
#[cfg(not(feature = "csrf-token"))]
pub fn mint(_: &CsrfSecret, _: &[u8]) -> Option<String> {
    None
}

/// The request's CSRF token, in the request's extensions on every request to a route with a
/// token policy: put [`CsrfToken::value`] in forms (a hidden field) or a `<meta>` tag; for
/// form posts that cannot send the header, call [`CsrfToken::verify_submitted`] with the
/// submitted field before acting (the layer never reads request bodies).
#[derive(Clone)]
pub struct CsrfToken {
    pub(crate) value: String,
    pub(crate) pending: bool,
    pub(crate) cookie: Option<Vec<u8>>,
    pub(crate) session: Vec<u8>,
    pub(crate) secret: std::sync::Arc<CsrfSecret>,
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfToken")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl CsrfToken {
    /// The token for this session, to embed in the page.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether this unsafe request carried no token header and the application must check the
    /// submitted form field with [`CsrfToken::verify_submitted`].
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// Verifies a token submitted in a form field: it must equal the token cookie and verify
    /// for this session (constant-time comparisons). Returns the refusal reason otherwise.
    pub fn verify_submitted(&self, submitted: &str) -> Result<(), Reason> {
        let Some(cookie) = &self.cookie else {
            return Err(Reason::CsrfTokenCookieMissing);
        };
        if submitted.is_empty() {
            return Err(Reason::CsrfTokenMissing);
        }
        if !ct_eq(submitted.as_bytes(), cookie) {
            return Err(Reason::CsrfTokenMismatch);
        }
        verify(&self.secret, &self.session, submitted.as_bytes()).map(|_| ())
    }
}

#[cfg(all(test, feature = "csrf-token"))]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests fail by panicking
mod tests {
    use super::*;

    fn secret() -> CsrfSecret {
        CsrfSecret::new(vec![7u8; 32]).unwrap()
    }

    #[test]
    fn secrets_are_at_least_32_bytes_and_never_printed() {
        assert_eq!(
            CsrfSecret::new(vec![1u8; 31]).unwrap_err(),
            SecretError::TooShort(31)
        );
        assert_eq!(CsrfSecret::from_hex("zz").unwrap_err(), SecretError::NotHex);
        assert!(CsrfSecret::from_hex(&"ab".repeat(32)).is_ok());
        assert_eq!(format!("{:?}", secret()), "CsrfSecret(..)");
        assert!(secret().with_previous(vec![1u8; 8]).is_err());
    }

    #[test]
    fn minted_tokens_verify_for_their_session_only() {
        let s = secret();
        let t = mint(&s, b"alice").unwrap();
        assert_eq!(t.len(), TOKEN_LEN);
        assert_eq!(verify(&s, b"alice", t.as_bytes()), Ok(false));
        assert_eq!(
            verify(&s, b"bob", t.as_bytes()),
            Err(Reason::CsrfTokenOtherSession)
        );
        assert_ne!(mint(&s, b"alice").unwrap(), t, "random part differs");
        // Tampered MAC, truncated, oversized.
        let mut bad = t.clone().into_bytes();
        bad[3] = if bad[3] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            verify(&s, b"alice", &bad),
            Err(Reason::CsrfTokenOtherSession)
        );
        assert_eq!(
            verify(&s, b"alice", &t.as_bytes()[..96]),
            Err(Reason::CsrfTokenMalformed)
        );
        let long = format!("{t}0");
        assert_eq!(
            verify(&s, b"alice", long.as_bytes()),
            Err(Reason::CsrfTokenMalformed)
        );
        // Tampered random part: the MAC no longer matches.
        let mut bad = t.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'a' { b'b' } else { b'a' };
        assert_eq!(
            verify(&s, b"alice", &bad),
            Err(Reason::CsrfTokenOtherSession)
        );
    }

    #[test]
    fn the_message_is_owasps() {
        // Computed independently:
        // printf '5!alice!32!00112233445566778899aabbccddeeff' |
        //   openssl dgst -sha256 -mac HMAC -macopt hexkey:0707...07 (32 bytes)
        use hmac::Mac;
        let tag = mac(&[7u8; 32], b"alice", b"00112233445566778899aabbccddeeff")
            .unwrap()
            .finalize()
            .into_bytes();
        let mut hex = String::new();
        push_hex(&mut hex, &tag);
        assert_eq!(
            hex,
            "6a00d66c24470ac600451a35980ed7968624afcf69b4f8631822495fd19e2e1a"
        );
        let token = format!("{hex}.00112233445566778899aabbccddeeff");
        assert_eq!(verify(&secret(), b"alice", token.as_bytes()), Ok(false));
    }

    #[test]
    fn rotation_accepts_the_previous_secret_until_it_is_dropped() {
        let old = CsrfSecret::new(vec![1u8; 32]).unwrap();
        let t = mint(&old, b"s").unwrap();
        let rotating = CsrfSecret::new(vec![2u8; 32])
            .unwrap()
            .with_previous(vec![1u8; 32])
            .unwrap();
        assert_eq!(verify(&rotating, b"s", t.as_bytes()), Ok(true));
        let after = CsrfSecret::new(vec![2u8; 32]).unwrap();
        assert_eq!(
            verify(&after, b"s", t.as_bytes()),
            Err(Reason::CsrfTokenOtherSession)
        );
    }

    #[test]
    fn cookies_are_found_across_lines() {
        let h = [
            ("cookie", "a=1; __Host-csrf=xyz"),
            ("cookie", "session=abc"),
        ];
        assert_eq!(cookie(&h[..], "__Host-csrf"), Some(&b"xyz"[..]));
        assert_eq!(cookie(&h[..], "session"), Some(&b"abc"[..]));
        assert_eq!(cookie(&h[..], "sess"), None);
        assert!(ct_eq(b"abc", b"abc") && !ct_eq(b"abc", b"abd") && !ct_eq(b"ab", b"abc"));
    }
}
