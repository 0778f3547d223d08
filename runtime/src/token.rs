//! Signed double-submit CSRF tokens, bound to the session (OWASP's construction):
//!
//! ```text
//! random  = 16 bytes from the OS CSPRNG, hex (32 characters)
//! message = len(session) "!" session "!" len(random) "!" random      (lengths in decimal)
//! token   = hex(HMAC-SHA256(secret, message)) "." random              (97 characters)
//! ```
//!
//! The token travels in a `__Host-` cookie (set by the layer, not HttpOnly, so pages can read
//! it) and, on unsafe requests, in a header or, for an HTML form post, in a form field: the
//! layer reads an `application/x-www-form-urlencoded` body of at most [`FORM_BODY_LIMIT`]
//! bytes and finds the field itself ([`form_field`]); with `defer-forms`, the application
//! checks it with [`CsrfToken::verify_submitted`]. It is valid when the submitted token equals
//! the cookie (compared in constant time) and its MAC verifies, in constant time, for the
//! request's session value under the current secret or, during a rotation, the previous one.
//! The secret never appears in a policy file: the application hands it to the layer at
//! start-up.

use std::borrow::Cow;

use crate::headers::is_lowercase_token;
use crate::headers::{is_token, HeaderLookup, RequestHeader};
use crate::keyset::Str;
use crate::keyset::{refuse, TableError};
use crate::path::hex_digit;
use crate::reason::Reason;

/// Hex characters of the MAC, the separator and the random part.
pub const TOKEN_LEN: usize = 64 + 1 + 32;

/// The most bytes of an `application/x-www-form-urlencoded` body the layer reads to find the
/// token field (64 KiB): a longer body is refused (`csrf-token-form-too-large`) rather than
/// buffered. Larger forms send the token header, or the policy says `defer-forms`.
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The form field that carries the token when a `token` line names none.
pub const DEFAULT_FORM_FIELD: &str = "csrf_token";

/// The CSRF secret: at least 32 bytes, and optionally the previous secret during a rotation
/// (tokens made with it still verify; new tokens use the current one). `Debug` never prints it.
#[derive(Clone)]
pub struct CsrfSecret {
    #[cfg_attr(
        not(feature = "csrf-token"),
        allow(dead_code, reason = "read only by the token check and by unit tests")
    )]
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
            [a, b] => Ok((hex_digit(*a).ok_or(SecretError::NotHex)? << 4)
                | hex_digit(*b).ok_or(SecretError::NotHex)?),
            _ => Err(SecretError::NotHex),
        })
        .collect()
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
    pub(crate) field: Str,
    pub(crate) defer_forms: bool,
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
    /// The urlencoded form field carrying the token when the header is absent (the compiler
    /// writes [`DEFAULT_FORM_FIELD`] when the line names none); compared with each field's
    /// percent-decoded name, byte for byte.
    pub field: String,
    /// `defer-forms`: form posts without the header reach the application unverified, which
    /// checks the field with [`CsrfToken::verify_submitted`]; otherwise the layer verifies an
    /// urlencoded body's field and refuses other form posts.
    pub defer_forms: bool,
}

/// Whether `s` is a form field name the token may be posted in: 1 to 64 ASCII letters,
/// digits and `_ - . : [ ]` (what the compiler accepts, GL0963).
pub(crate) const fn is_field_name(s: &[u8]) -> bool {
    if s.is_empty() || s.len() > 64 {
        return false;
    }
    let mut rest = s;
    while let [b, tail @ ..] = rest {
        if !(b.is_ascii_alphanumeric() || matches!(*b, b'_' | b'-' | b'.' | b':' | b'[' | b']')) {
            return false;
        }
        rest = tail;
    }
    true
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
            (&spec.field, is_field_name(spec.field.as_bytes())),
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
            field: Cow::Owned(spec.field),
            defer_forms: spec.defer_forms,
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
        field: &'static str,
        defer_forms: bool,
    ) -> TokenPolicy {
        if !(is_lowercase_token(header.as_bytes())
            && is_token(cookie.as_bytes())
            && is_token(bind_cookie.as_bytes())
            && is_token(same_site.as_bytes())
            && is_field_name(field.as_bytes()))
        {
            refuse("guestlist: a generated csrf token table names a header or cookie that is not a token (header names lowercase), or a form field that is not 1 to 64 letters, digits and _ - . : [ ]");
        }
        TokenPolicy {
            header: Cow::Borrowed(header),
            cookie: Cow::Borrowed(cookie),
            bind_cookie: Cow::Borrowed(bind_cookie),
            same_site: Cow::Borrowed(same_site),
            field: Cow::Borrowed(field),
            defer_forms,
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
    /// The urlencoded form field carrying the token when the header is absent.
    pub fn field(&self) -> &str {
        &self.field
    }
    /// Whether form posts without the header are deferred to the application (`defer-forms`).
    pub fn defers_forms(&self) -> bool {
        self.defer_forms
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

/// The checks a submitted token (header or form field) passes, in order: there is a token
/// cookie, the token equals it (constant time), and its MAC verifies for `session`.
pub(crate) fn check_submitted(
    secret: &CsrfSecret,
    session: &[u8],
    cookie: Option<&[u8]>,
    submitted: &[u8],
) -> Result<(), Reason> {
    let Some(cookie) = cookie else {
        return Err(Reason::CsrfTokenCookieMissing);
    };
    if !ct_eq(submitted, cookie) {
        return Err(Reason::CsrfTokenMismatch);
    }
    verify(secret, session, submitted).map(|_| ())
}

/// What the token check knows of a form post's body ([`crate::Policy::decide_form`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormBody<'a> {
    /// Not read (yet): an urlencoded post without the token header on a route that verifies
    /// form fields is refused with `csrf-token-in-form` (nothing verified its token); a caller
    /// that can read the body reads it and decides again.
    Unread,
    /// The whole body, at most [`FORM_BODY_LIMIT`] bytes.
    Read(&'a [u8]),
    /// The body is longer than [`FORM_BODY_LIMIT`] (by its length or its size hint).
    TooLarge,
    /// The body could not be read (the stream failed).
    Unreadable,
}

/// One byte of a percent-encoded form name or value at a time (`+` is a space), or `Err` at
/// an escape that is not `%` and two hex digits.
fn decode(raw: &[u8]) -> impl Iterator<Item = Result<u8, ()>> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let b = *raw.get(i)?;
        i += 1;
        Some(match b {
            b'+' => Ok(b' '),
            b'%' => {
                let hi = raw.get(i).copied().and_then(hex_digit);
                let lo = raw.get(i + 1).copied().and_then(hex_digit);
                i += 2;
                match (hi, lo) {
                    (Some(hi), Some(lo)) => Ok((hi << 4) | lo),
                    _ => Err(()),
                }
            }
            b => Ok(b),
        })
    })
}

/// The token field of an `application/x-www-form-urlencoded` body (the WHATWG URL standard's
/// form: `&`-separated `name=value` pairs, empty pairs skipped, a pair without `=` a name with
/// an empty value, `+` a space, `%XX` a byte): the value of the one field whose decoded name
/// is `name`, decoded into `buf`.
///
/// Stricter than the standard, which keeps a malformed escape as it is: any `%` that is not
/// followed by two hex digits, anywhere in the body, refuses it (`csrf-token-form-invalid`),
/// since a reader that decodes differently might see other fields. No field, or an empty one,
/// is `csrf-token-missing`; the field twice (whatever the values) is `csrf-token-mismatch`,
/// as a repeated header is; a value longer than a token is `csrf-token-malformed`.
pub fn form_field<'b>(
    body: &[u8],
    name: &str,
    buf: &'b mut [u8; TOKEN_LEN],
) -> Result<&'b [u8], Reason> {
    let invalid = |()| Reason::CsrfTokenFormInvalid;
    // Once the field is found: the length of its value, decoded into `buf`, or why it is
    // refused (repeated, or too long for a token).
    let mut found: Option<Result<usize, Reason>> = None;
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (n, v) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (
                pair.get(..eq).unwrap_or(&[]),
                pair.get(eq + 1..).unwrap_or(&[]),
            ),
            None => (pair, &[][..]),
        };
        // The decoded name equals `name` when every decoded byte matches and both end together.
        let mut want = name.bytes();
        let mut same = true;
        for b in decode(n) {
            let b = b.map_err(invalid)?;
            same &= want.next() == Some(b);
        }
        same &= want.next().is_none();
        if !same {
            for b in decode(v) {
                b.map_err(invalid)?;
            }
            continue;
        }
        if found.is_some() {
            // Repeated: still scanned to the end, so an invalid body is refused as invalid.
            found = Some(Err(Reason::CsrfTokenMismatch));
            for b in decode(v) {
                b.map_err(invalid)?;
            }
            continue;
        }
        let mut len = 0;
        let mut long = false;
        for b in decode(v) {
            let b = b.map_err(invalid)?;
            match buf.get_mut(len) {
                Some(slot) => {
                    *slot = b;
                    len += 1;
                }
                None => long = true,
            }
        }
        found = Some(if long {
            Err(Reason::CsrfTokenMalformed)
        } else {
            Ok(len)
        });
    }
    match found {
        None | Some(Ok(0)) => Err(Reason::CsrfTokenMissing),
        Some(Ok(len)) => Ok(buf.get(..len).unwrap_or(&[])),
        Some(Err(r)) => Err(r),
    }
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
            pair.first().copied().and_then(hex_digit),
            pair.get(1).copied().and_then(hex_digit),
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
/// token policy: put [`CsrfToken::value`] in forms (a hidden field named as the policy's
/// `field`, `csrf_token` by default) or a `<meta>` tag. The layer verifies the header, or the
/// field of an urlencoded form, before the application runs; only on a route whose policy
/// says `defer-forms` does a form post without the header reach the application unverified
/// ([`CsrfToken::is_pending`]), and the handler must then call
/// [`CsrfToken::verify_submitted`] with the submitted field before acting.
#[derive(Clone)]
pub struct CsrfToken {
    pub(crate) value: String,
    pub(crate) pending: bool,
    pub(crate) cookie: Option<Vec<u8>>,
    pub(crate) session: Vec<u8>,
    pub(crate) secret: std::sync::Arc<CsrfSecret>,
    /// For a pending token: set once [`CsrfToken::verify_submitted`] succeeds, shared by every
    /// clone and read by the layer when the application answers.
    pub(crate) verified: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
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

    /// Whether this is a form post the layer deferred to the application (`defer-forms`, no
    /// token header): nothing has verified its token, and the handler must call
    /// [`CsrfToken::verify_submitted`] with the submitted field before acting. If it answers
    /// without a successful call, the layer marks the response
    /// ([`CsrfTokenUnverified`](crate::CsrfTokenUnverified)) and, with the `tracing` feature,
    /// logs a warning.
    pub fn is_pending(&self) -> bool {
        self.pending
    }

    /// Whether [`CsrfToken::verify_submitted`] succeeded on this token or a clone of it.
    pub fn is_verified(&self) -> bool {
        self.verified
            .as_ref()
            .is_some_and(|v| v.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Verifies a token submitted in a form field: it must equal the token cookie and verify
    /// for this session (constant-time comparisons), the same checks as the layer's. Returns
    /// the refusal reason otherwise.
    pub fn verify_submitted(&self, submitted: &str) -> Result<(), Reason> {
        if self.cookie.is_none() {
            return Err(Reason::CsrfTokenCookieMissing);
        }
        if submitted.is_empty() {
            return Err(Reason::CsrfTokenMissing);
        }
        check_submitted(
            &self.secret,
            &self.session,
            self.cookie.as_deref(),
            submitted.as_bytes(),
        )?;
        if let Some(v) = &self.verified {
            v.store(true, std::sync::atomic::Ordering::Release);
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "csrf-token"))]
#[expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]
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

    fn field(body: &str, name: &str) -> Result<Vec<u8>, Reason> {
        let mut buf = [0u8; TOKEN_LEN];
        form_field(body.as_bytes(), name, &mut buf).map(<[u8]>::to_vec)
    }

    #[test]
    fn the_token_field_is_read_as_browsers_encode_forms() {
        let ok = |v: &str| Ok(v.as_bytes().to_vec());
        assert_eq!(field("csrf_token=abc", "csrf_token"), ok("abc"));
        assert_eq!(field("a=1&csrf_token=abc&b=2", "csrf_token"), ok("abc"));
        // Escapes and `+`, in names and values; hex digits of either case.
        assert_eq!(
            field("csrf%5Ftoken=a%2Eb%2ec+d", "csrf_token"),
            ok("a.b.c d")
        );
        assert_eq!(field("form%5B_token%5D=x", "form[_token]"), ok("x"));
        assert_eq!(field("my+field=x", "my field"), ok("x"));
        // The name is compared whole and byte for byte.
        for body in [
            "csrf_token2=x",
            "xcsrf_token=x",
            "CSRF_TOKEN=x",
            "csrf_toke=x",
        ] {
            assert_eq!(
                field(body, "csrf_token"),
                Err(Reason::CsrfTokenMissing),
                "{body}"
            );
        }
        // Empty pairs are skipped; a pair without `=` is a name with an empty value; only the
        // first `=` splits; an escaped `&` or `=` does not split.
        assert_eq!(field("&&csrf_token=x&&", "csrf_token"), ok("x"));
        assert_eq!(
            field("csrf_token", "csrf_token"),
            Err(Reason::CsrfTokenMissing)
        );
        assert_eq!(
            field("csrf_token=", "csrf_token"),
            Err(Reason::CsrfTokenMissing)
        );
        assert_eq!(field("csrf_token==x", "csrf_token"), ok("=x"));
        assert_eq!(field("csrf_token=a%26b%3Dc", "csrf_token"), ok("a&b=c"));
        assert_eq!(field("", "csrf_token"), Err(Reason::CsrfTokenMissing));
        // Repeated: refused, whatever the values (even equal, even empty).
        for body in [
            "csrf_token=x&csrf_token=x",
            "csrf_token=x&csrf%5Ftoken=y",
            "csrf_token&csrf_token=x",
        ] {
            assert_eq!(
                field(body, "csrf_token"),
                Err(Reason::CsrfTokenMismatch),
                "{body}"
            );
        }
        // A malformed escape anywhere refuses the body: before and after the field, in names
        // and values, at the very end.
        for body in [
            "csrf_token=x&note=100%",
            "csrf_token=x&note=%zz",
            "n%2=1&csrf_token=x",
            "csrf_token=x%4",
            "csrf_token=%g0",
            "%=1&csrf_token=x",
            "csrf_token=x&csrf_token=%",
        ] {
            assert_eq!(
                field(body, "csrf_token"),
                Err(Reason::CsrfTokenFormInvalid),
                "{body}"
            );
        }
        // A value longer than a token cannot be one; escapes count once decoded.
        let long = "a".repeat(TOKEN_LEN + 1);
        assert_eq!(
            field(&format!("csrf_token={long}"), "csrf_token"),
            Err(Reason::CsrfTokenMalformed)
        );
        let exact = "a".repeat(TOKEN_LEN);
        assert_eq!(
            field(&format!("csrf_token={exact}"), "csrf_token"),
            ok(&exact)
        );
        let escaped = "%61".repeat(TOKEN_LEN);
        assert_eq!(
            field(&format!("csrf_token={escaped}"), "csrf_token"),
            ok(&exact)
        );
    }

    /// The reading the spec describes, written for clarity rather than speed: every pair
    /// decoded into owned bytes first, then the field looked for among them.
    fn reference(body: &[u8], name: &str) -> Result<Vec<u8>, Reason> {
        fn decode(s: &[u8]) -> Option<Vec<u8>> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < s.len() {
                match s[i] {
                    b'+' => out.push(b' '),
                    b'%' => {
                        let hex = std::str::from_utf8(s.get(i + 1..i + 3)?).ok()?;
                        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return None;
                        }
                        out.push(u8::from_str_radix(hex, 16).ok()?);
                        i += 2;
                    }
                    b => out.push(b),
                }
                i += 1;
            }
            Some(out)
        }
        let mut pairs = Vec::new();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (n, v) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let (Some(n), Some(v)) = (decode(n), decode(v)) else {
                return Err(Reason::CsrfTokenFormInvalid);
            };
            pairs.push((n, v));
        }
        let hits: Vec<Vec<u8>> = pairs
            .into_iter()
            .filter(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v)
            .collect();
        match hits.as_slice() {
            [] => Err(Reason::CsrfTokenMissing),
            [v] if v.is_empty() => Err(Reason::CsrfTokenMissing),
            [v] if v.len() > TOKEN_LEN => Err(Reason::CsrfTokenMalformed),
            [v] => Ok(v.clone()),
            _ => Err(Reason::CsrfTokenMismatch),
        }
    }

    proptest::proptest! {
        // Each case takes microseconds; the pairs' combinations need thousands to be met.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// `form_field` reads every body as the reference does: pieces of names, escapes (good,
        /// short and bad), separators and long runs, put together at random.
        #[test]
        fn form_field_agrees_with_the_reference(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "b", "_b", "a_b", "=", "&", "+", "%", "%5F", "%5f", "%61", "%2", "%zz",
                    "%26", "%3D", "x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                ]),
                0..24,
            ),
            name in proptest::sample::select(vec!["a", "a_b", "a b", "x"]),
        ) {
            let body = pieces.concat();
            proptest::prop_assert_eq!(field(&body, name), reference(body.as_bytes(), name), "{}", body);
        }

        /// The same over bodies made of pairs, so that names repeat and escapes sit in names
        /// and values: written, encoded and malformed forms of the field's name among others.
        #[test]
        fn form_field_agrees_with_the_reference_on_pairs(
            pairs in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "a", "a_b", "a%5Fb", "a%5fb", "a+b", "%61", "b", "", "a%zz", "a_b_",
                    ]),
                    proptest::option::of(proptest::sample::select(vec![
                        "", "x", "x+y", "%41", "%4", "%", "a=b", "%26", "%2x",
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    ])),
                ),
                0..6,
            ),
            name in proptest::sample::select(vec!["a", "a_b", "a b", "b"]),
            sep in proptest::sample::select(vec!["&", "&&"]),
        ) {
            let body = pairs
                .iter()
                .map(|(n, v)| match v {
                    Some(v) => format!("{n}={v}"),
                    None => (*n).to_string(),
                })
                .collect::<Vec<_>>()
                .join(sep);
            proptest::prop_assert_eq!(field(&body, name), reference(body.as_bytes(), name), "{}", body);
        }
    }
}
