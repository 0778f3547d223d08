//! The browser's other guards, compiled: Content-Security-Policy ([`Csp`]), static security
//! headers ([`HeaderSet`]), the Fetch-Metadata/Origin CSRF check ([`Csrf`]) and the WebSocket
//! handshake origin check ([`WebSocket`]). Like [`crate::Cors`], each is one table type built
//! either at run time from a `*Spec` or as a `static` by generated code. The verdicts are made in
//! `eval.rs` (the one evaluator); normative text: `spec/language.md`, "Guards".

use std::borrow::Cow;

use http::{HeaderName as HttpName, HeaderValue};

use crate::headers::{is_token, ValueScan};
use crate::headers::{static_value, value as header_value};
use crate::keyset::Str;
use crate::keyset::{refuse, KeySet, TableError};
use crate::origin::OriginMatch;
use crate::origin::PatternSet;
use crate::token::{TokenPolicy, TokenSpec};

/// One compiled `csp` block.
#[derive(Debug, Clone)]
pub struct Csp {
    pub(crate) name: Str,
    pub(crate) report_only: bool,
    /// The header value split at every nonce: `parts.len() - 1` nonces go between the parts.
    pub(crate) parts: Cow<'static, [Str]>,
    /// The whole value, when it has no nonce.
    pub(crate) value: Option<HeaderValue>,
    /// `Reporting-Endpoints`, when the block declares `report-to` endpoints.
    pub(crate) reporting_endpoints: Option<HeaderValue>,
}

/// Plain data for one `csp` block, for [`crate::PolicySpec`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CspSpec {
    /// The block's name.
    pub name: String,
    /// Send `Content-Security-Policy-Report-Only` instead of `Content-Security-Policy`.
    pub report_only: bool,
    /// The serialized policy split at every per-response nonce (one part: no nonce).
    pub parts: Vec<String>,
    /// The `Reporting-Endpoints` value, if any.
    pub reporting_endpoints: Option<String>,
}

/// The per-response CSP nonce: 128 bits from the operating system's CSPRNG, base64url without
/// padding (22 characters). The tower layer puts it in the request's extensions for templates
/// (`<script nonce="{{ nonce }}">`) and writes the same value into the response's CSP.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CspNonce([u8; CspNonce::LEN]);

impl std::fmt::Debug for CspNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A nonce is a secret until the response is sent; keep it out of logs.
        f.write_str("CspNonce(..)")
    }
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl CspNonce {
    /// Characters in a nonce.
    pub const LEN: usize = 22;

    /// A fresh nonce from the operating system's CSPRNG, or `None` when it cannot be read (the
    /// layer then answers 500 rather than send a guessable nonce).
    pub fn generate() -> Option<CspNonce> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).ok()?;
        Some(Self::from_random(raw))
    }

    /// Encodes 16 random bytes (base64url, no padding).
    pub fn from_random(raw: [u8; 16]) -> CspNonce {
        let mut out = [b'A'; Self::LEN];
        let mut bits: u32 = 0;
        let mut nbits = 0u32;
        let mut o = 0usize;
        for b in raw {
            bits = (bits << 8) | u32::from(b);
            nbits += 8;
            while nbits >= 6 {
                nbits -= 6;
                if let Some(slot) = out.get_mut(o) {
                    *slot = B64URL
                        .get(((bits >> nbits) & 63) as usize)
                        .copied()
                        .unwrap_or(b'A');
                }
                o += 1;
            }
        }
        if nbits > 0 {
            if let Some(slot) = out.get_mut(o) {
                *slot = B64URL
                    .get(((bits << (6 - nbits)) & 63) as usize)
                    .copied()
                    .unwrap_or(b'A');
            }
        }
        CspNonce(out)
    }

    /// The nonce as text, for templates.
    pub fn as_str(&self) -> &str {
        // Only base64url characters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Display for CspNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Csp {
    pub(crate) fn build(spec: CspSpec) -> Result<Csp, TableError> {
        if spec.parts.is_empty() {
            return Err(TableError::BadReference("csp without a value"));
        }
        let value = match spec.parts.as_slice() {
            [one] => Some(header_value(one)?),
            parts => {
                let scan = parts
                    .iter()
                    .enumerate()
                    .fold(ValueScan::START, |s, (i, p)| {
                        scan_part(s, p.as_bytes(), i + 1 == parts.len())
                    });
                if !scan.finish() {
                    return Err(TableError::InvalidHeaderValue(parts.join("{nonce}")));
                }
                None
            }
        };
        Ok(Csp {
            name: Cow::Owned(spec.name),
            report_only: spec.report_only,
            parts: Cow::Owned(spec.parts.into_iter().map(Cow::Owned).collect()),
            value,
            reporting_endpoints: spec
                .reporting_endpoints
                .as_deref()
                .map(header_value)
                .transpose()?,
        })
    }

    /// The constructor generated code calls (as `__private::csp`, in a `static`). Refuses, at
    /// compile time, what [`Csp::build`] refuses at run time (no part, a value that is not a
    /// header value with a nonce in each nonce position); the whole value of a policy without
    /// a nonce is made from its one part, as [`Csp::build`] makes it.
    pub(crate) const fn from_raw_parts(
        name: &'static str,
        report_only: bool,
        parts: &'static [Str],
        reporting_endpoints: Option<&'static str>,
    ) -> Csp {
        let value = match parts {
            [] => refuse("guestlist: a generated csp table has no value"),
            [Cow::Borrowed(one)] => Some(static_value(one)),
            _ => {
                let mut scan = ValueScan::START;
                let mut rest = parts;
                while let [p, tail @ ..] = rest {
                    let Cow::Borrowed(p) = p else {
                        refuse("guestlist: a generated csp table owns a part");
                    };
                    scan = scan_part(scan, p.as_bytes(), tail.is_empty());
                    rest = tail;
                }
                if !scan.finish() {
                    refuse("guestlist: a generated csp table's value is not a header value (visible ASCII, spaces and tabs, with none at either end)");
                }
                None
            }
        };
        Csp {
            name: Cow::Borrowed(name),
            report_only,
            parts: Cow::Borrowed(parts),
            value,
            reporting_endpoints: match reporting_endpoints {
                Some(v) => Some(static_value(v)),
                None => None,
            },
        }
    }

    /// The block's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it is sent as `Content-Security-Policy-Report-Only`.
    pub fn report_only(&self) -> bool {
        self.report_only
    }

    /// Whether each response gets a fresh nonce.
    pub fn has_nonce(&self) -> bool {
        self.parts.len() > 1
    }

    /// The value split at each nonce.
    pub fn parts(&self) -> &[Str] {
        &self.parts
    }

    /// The header's name.
    pub fn header_name(&self) -> HttpName {
        if self.report_only {
            http::header::CONTENT_SECURITY_POLICY_REPORT_ONLY
        } else {
            http::header::CONTENT_SECURITY_POLICY
        }
    }

    /// `Reporting-Endpoints`, if declared.
    pub fn reporting_endpoints(&self) -> Option<&HeaderValue> {
        self.reporting_endpoints.as_ref()
    }

    /// The value with `nonce` in every nonce position (a static value needs none). Allocates
    /// only when the policy has a nonce.
    pub fn value_with(&self, nonce: Option<&CspNonce>) -> Option<HeaderValue> {
        if let Some(v) = &self.value {
            return Some(v.clone());
        }
        let nonce = nonce?;
        let mut s = String::with_capacity(
            self.parts.iter().map(|p| p.len()).sum::<usize>() + CspNonce::LEN * self.parts.len(),
        );
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                s.push_str(nonce.as_str());
            }
            s.push_str(p);
        }
        HeaderValue::try_from(s).ok()
    }

    /// The value as text with `{nonce}` in each nonce position (for `explain` and docs).
    pub fn display_value(&self) -> String {
        self.parts.join("{nonce}")
    }
}

/// What stands for a nonce when a CSP's value is checked: 22 base64url characters, as
/// [`CspNonce`] writes (visible ASCII, so only the parts around it can make a value invalid).
const NONCE_STAND_IN: &[u8; CspNonce::LEN] = b"AAAAAAAAAAAAAAAAAAAAAA";

/// A CSP's value checked as far as its part `part`, and the nonce that follows the part
/// unless it is the last: the one check of a value with nonces, for run-time tables
/// ([`Csp::build`]) and generated ones ([`Csp::from_raw_parts`]).
const fn scan_part(scan: ValueScan, part: &[u8], last: bool) -> ValueScan {
    let scan = scan.push(part);
    if last {
        scan
    } else {
        scan.push(NONCE_STAND_IN)
    }
}

/// A header name of a run-time table: a token ([`is_token`]), or refused.
fn header_name(s: &str) -> Result<HttpName, TableError> {
    if !is_token(s.as_bytes()) {
        return Err(TableError::InvalidHeaderValue(s.to_string()));
    }
    HttpName::from_bytes(s.as_bytes()).map_err(|_| TableError::InvalidHeaderValue(s.to_string()))
}

/// One compiled `headers` block: fixed response headers, and headers to remove.
#[derive(Debug, Clone)]
pub struct HeaderSet {
    pub(crate) name: Str,
    pub(crate) set: Cow<'static, [(HttpName, HeaderValue)]>,
    pub(crate) remove: Cow<'static, [HttpName]>,
}

/// Plain data for one `headers` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderSetSpec {
    /// The block's name.
    pub name: String,
    /// `(lowercase name, value)` pairs, set on every response of the route.
    pub set: Vec<(String, String)>,
    /// Lowercase names removed from every response of the route.
    pub remove: Vec<String>,
}

impl HeaderSet {
    /// The value the set gives `name`, if it sets it.
    pub(crate) fn value(&self, name: &HttpName) -> Option<&HeaderValue> {
        self.set.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub(crate) fn build(spec: HeaderSetSpec) -> Result<HeaderSet, TableError> {
        let set = spec
            .set
            .iter()
            .map(|(n, v)| Ok((header_name(n)?, header_value(v)?)))
            .collect::<Result<Vec<_>, TableError>>()?;
        let remove = spec
            .remove
            .iter()
            .map(|n| header_name(n))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HeaderSet {
            name: Cow::Owned(spec.name),
            set: Cow::Owned(set),
            remove: Cow::Owned(remove),
        })
    }

    /// The constructor generated code calls (as `__private::header_set`, in a `static`); its
    /// names and values are made by `__private::header_name` and `__private::header_value`,
    /// which refuse at compile time what [`HeaderSet::build`] refuses at run time.
    pub(crate) const fn from_raw_parts(
        name: &'static str,
        set: &'static [(HttpName, HeaderValue)],
        remove: &'static [HttpName],
    ) -> HeaderSet {
        HeaderSet {
            name: Cow::Borrowed(name),
            set: Cow::Borrowed(set),
            remove: Cow::Borrowed(remove),
        }
    }

    /// The block's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The headers set on every response.
    pub fn set(&self) -> &[(HttpName, HeaderValue)] {
        &self.set
    }

    /// The headers removed from every response.
    pub fn remove(&self) -> &[HttpName] {
        &self.remove
    }
}

/// A `csrf` exemption: requests with this method on this path pattern skip the check.
#[derive(Debug, Clone)]
pub struct Exempt {
    pub(crate) method: Str,
    pub(crate) pattern: Str,
}

impl Exempt {
    /// The constructor generated code calls (as `__private::exempt`, in a `static`).
    pub(crate) const fn from_raw_parts(method: &'static str, pattern: &'static str) -> Exempt {
        Exempt {
            method: Cow::Borrowed(method),
            pattern: Cow::Borrowed(pattern),
        }
    }

    /// The method (byte-exact).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path pattern (`/x` exactly, `/x/*` below `/x/`).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether a normalised path matches the pattern.
    pub(crate) fn matches_path(&self, path: &[u8]) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix.as_bytes()),
            None => path == self.pattern.as_bytes(),
        }
    }
}

/// One compiled `csrf` block (Go's `CrossOriginProtection` algorithm with named choices).
#[derive(Debug, Clone)]
pub struct Csrf {
    pub(crate) name: Str,
    /// Exact trusted origins.
    pub(crate) trusted: KeySet,
    /// The site's own origins; when empty, `Origin` is compared with `Host`.
    pub(crate) self_origins: KeySet,
    /// `Sec-Fetch-Site: same-site` passes.
    pub(crate) allow_same_site: bool,
    /// A request with neither `Sec-Fetch-Site` nor `Origin` is refused.
    pub(crate) reject_missing: bool,
    /// Method + path pairs that skip the check.
    pub(crate) exempt: Cow<'static, [Exempt]>,
    /// The signed double-submit token, checked after the Fetch-Metadata check.
    pub(crate) token: Option<TokenPolicy>,
    /// Sets supplied at run time that `trusted-origins` names (their exact entries).
    #[cfg(feature = "provided")]
    pub(crate) trusted_provided: Cow<'static, [crate::provided::SetRef]>,
}

/// Plain data for one `csrf` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsrfSpec {
    /// The block's name.
    pub name: String,
    /// Exact trusted origins (canonical serializations).
    pub trusted: Vec<String>,
    /// The site's own origins; empty: compare `Origin` with `Host`.
    pub self_origins: Vec<String>,
    /// `same-site allow`.
    pub allow_same_site: bool,
    /// `missing-headers reject`.
    pub reject_missing: bool,
    /// `(method, path pattern)` exemptions.
    pub exempt: Vec<(String, String)>,
    /// The `token` line.
    pub token: Option<TokenSpec>,
    /// Indexes into [`crate::PolicySpec::provided`] of the supplied sets `trusted-origins`
    /// names.
    pub trusted_provided: Vec<usize>,
}

impl Csrf {
    pub(crate) fn build(spec: CsrfSpec) -> Result<Csrf, TableError> {
        Ok(Csrf {
            name: Cow::Owned(spec.name),
            trusted: KeySet::new(spec.trusted, false)?,
            self_origins: KeySet::new(spec.self_origins, false)?,
            allow_same_site: spec.allow_same_site,
            reject_missing: spec.reject_missing,
            exempt: Cow::Owned(
                spec.exempt
                    .into_iter()
                    .map(|(m, p)| Exempt {
                        method: Cow::Owned(m),
                        pattern: Cow::Owned(p),
                    })
                    .collect(),
            ),
            token: spec.token.map(TokenPolicy::build).transpose()?,
            #[cfg(feature = "provided")]
            trusted_provided: Cow::Borrowed(&[]),
        })
    }

    /// The constructor generated code calls (as `__private::csrf`, in a `static`). Refuses,
    /// at compile time, origin tables that ignore case, which [`Csrf::build`] never makes.
    pub(crate) const fn from_raw_parts(
        name: &'static str,
        trusted: KeySet,
        self_origins: KeySet,
        allow_same_site: bool,
        reject_missing: bool,
        exempt: &'static [Exempt],
        token: Option<TokenPolicy>,
    ) -> Csrf {
        if trusted.fold_case() || self_origins.fold_case() {
            refuse("guestlist: a generated csrf table's origins ignore case");
        }
        Csrf {
            name: Cow::Borrowed(name),
            trusted,
            self_origins,
            allow_same_site,
            reject_missing,
            exempt: Cow::Borrowed(exempt),
            token,
            #[cfg(feature = "provided")]
            trusted_provided: Cow::Borrowed(&[]),
        }
    }

    /// Whether a supplied set `trusted-origins` names holds `origin` (such a set holds exact
    /// entries only); never, without the `provided` feature.
    #[inline]
    pub(crate) fn trusted_by_provided(&self, origin: &[u8]) -> bool {
        #[cfg(feature = "provided")]
        {
            self.trusted_provided.iter().any(|s| s.has_exact(origin))
        }
        #[cfg(not(feature = "provided"))]
        {
            let _ = origin;
            false
        }
    }

    /// The sets supplied at run time that `trusted-origins` names.
    #[cfg(feature = "provided")]
    pub fn trusted_provided(&self) -> &[crate::provided::SetRef] {
        &self.trusted_provided
    }

    /// `self` with `trusted-origins` naming `sets` (generated code, through
    /// `__private::csrf_provided`; the replaced list is the empty `Borrowed` one).
    #[cfg(feature = "provided")]
    pub(crate) const fn with_provided(mut self, sets: &'static [crate::provided::SetRef]) -> Self {
        std::mem::forget(std::mem::replace(
            &mut self.trusted_provided,
            Cow::Borrowed(sets),
        ));
        self
    }

    /// The token policy, if the block has a `token` line.
    pub fn token(&self) -> Option<&TokenPolicy> {
        self.token.as_ref()
    }

    /// The block's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Exact trusted origins.
    pub fn trusted(&self) -> &KeySet {
        &self.trusted
    }
    /// The site's own origins (empty: `Origin` is compared with `Host`).
    pub fn self_origins(&self) -> &KeySet {
        &self.self_origins
    }
    /// Whether `Sec-Fetch-Site: same-site` passes.
    pub fn allow_same_site(&self) -> bool {
        self.allow_same_site
    }
    /// Whether a request with neither `Sec-Fetch-Site` nor `Origin` is refused.
    pub fn reject_missing(&self) -> bool {
        self.reject_missing
    }
    /// The exemptions.
    pub fn exempt(&self) -> &[Exempt] {
        &self.exempt
    }
}

/// One compiled `websocket` block: which origins may open a WebSocket.
#[derive(Debug, Clone)]
pub struct WebSocket {
    pub(crate) name: Str,
    /// `same-origin`: an `Origin` whose host equals `Host` is allowed.
    pub(crate) same_origin: bool,
    pub(crate) origins: KeySet,
    pub(crate) patterns: PatternSet,
    /// A handshake without `Origin` (not a browser) is allowed.
    pub(crate) allow_missing: bool,
    /// Sets supplied at run time that `allow-origins` names.
    #[cfg(feature = "provided")]
    pub(crate) provided: Cow<'static, [crate::provided::SetRef]>,
}

/// Plain data for one `websocket` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebSocketSpec {
    /// The block's name.
    pub name: String,
    /// `allow-origins same-origin`.
    pub same_origin: bool,
    /// Exact origins.
    pub origins: Vec<String>,
    /// Patterns, as in [`crate::CorsSpec::patterns`].
    pub patterns: Vec<String>,
    /// `missing-origin allow`.
    pub allow_missing: bool,
    /// Indexes into [`crate::PolicySpec::provided`] of the supplied sets `allow-origins`
    /// names.
    pub provided: Vec<usize>,
}

impl WebSocket {
    pub(crate) fn build(spec: WebSocketSpec) -> Result<WebSocket, TableError> {
        Ok(WebSocket {
            name: Cow::Owned(spec.name),
            same_origin: spec.same_origin,
            origins: KeySet::new(spec.origins, false)?,
            patterns: crate::origin::pattern_set(spec.patterns)?,
            allow_missing: spec.allow_missing,
            #[cfg(feature = "provided")]
            provided: Cow::Borrowed(&[]),
        })
    }

    /// The constructor generated code calls (as `__private::websocket`, in a `static`).
    /// Refuses, at compile time, an origin table that ignores case, which [`WebSocket::build`]
    /// never makes (its pattern set refuses what [`WebSocket::build`] refuses).
    pub(crate) const fn from_raw_parts(
        name: &'static str,
        same_origin: bool,
        origins: KeySet,
        patterns: PatternSet,
        allow_missing: bool,
    ) -> WebSocket {
        if origins.fold_case() {
            refuse("guestlist: a generated websocket table's origins ignore case");
        }
        WebSocket {
            name: Cow::Borrowed(name),
            same_origin,
            origins,
            patterns,
            allow_missing,
            #[cfg(feature = "provided")]
            provided: Cow::Borrowed(&[]),
        }
    }

    /// The block's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Whether an `Origin` matching `Host` is allowed.
    pub fn same_origin(&self) -> bool {
        self.same_origin
    }
    /// Exact origins.
    pub fn origins(&self) -> &KeySet {
        &self.origins
    }
    /// Origin patterns.
    pub fn patterns(&self) -> &PatternSet {
        &self.patterns
    }
    /// Whether a handshake without `Origin` is allowed.
    pub fn allow_missing(&self) -> bool {
        self.allow_missing
    }

    /// The sets supplied at run time that `allow-origins` names.
    #[cfg(feature = "provided")]
    pub fn provided(&self) -> &[crate::provided::SetRef] {
        &self.provided
    }

    /// `self` with `allow-origins` naming `sets` (generated code, through
    /// `__private::websocket_provided`; the replaced list is the empty `Borrowed` one).
    #[cfg(feature = "provided")]
    pub(crate) const fn with_provided(mut self, sets: &'static [crate::provided::SetRef]) -> Self {
        std::mem::forget(std::mem::replace(&mut self.provided, Cow::Borrowed(sets)));
        self
    }

    /// Which entry allows `origin`: a static one, else one of a set supplied at run time.
    pub fn match_origin(&self, origin: &[u8]) -> Option<OriginMatch> {
        let m = crate::origin::match_origin(false, &self.origins, &self.patterns, origin);
        #[cfg(feature = "provided")]
        if m.is_none() {
            return self
                .provided
                .iter()
                .enumerate()
                .find_map(|(i, s)| s.match_origin(u32::try_from(i).ok()?, origin));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_base64url_of_the_random_bytes() {
        let n = CspNonce::from_random([0xff; 16]);
        assert_eq!(n.as_str(), "_____________________w");
        let n = CspNonce::from_random([0; 16]);
        assert_eq!(n.as_str(), "AAAAAAAAAAAAAAAAAAAAAA");
        let n = CspNonce::from_random(*b"0123456789abcdef");
        assert_eq!(n.as_str(), "MDEyMzQ1Njc4OWFiY2RlZg");
        assert_eq!(format!("{n:?}"), "CspNonce(..)");
    }

    #[test]
    fn generated_nonces_differ() {
        let a = CspNonce::generate().unwrap();
        let b = CspNonce::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 22);
    }

    #[test]
    fn csp_value_puts_the_nonce_in_every_slot() {
        let c = Csp::build(CspSpec {
            name: "a".into(),
            parts: vec![
                "script-src 'nonce-".into(),
                "'; style-src 'nonce-".into(),
                "'".into(),
            ],
            ..Default::default()
        })
        .unwrap();
        assert!(c.has_nonce());
        assert_eq!(c.value_with(None), None);
        let n = CspNonce::from_random([0; 16]);
        let v = c.value_with(Some(&n)).unwrap();
        assert_eq!(
            v,
            "script-src 'nonce-AAAAAAAAAAAAAAAAAAAAAA'; style-src 'nonce-AAAAAAAAAAAAAAAAAAAAAA'"
        );
        assert_eq!(
            c.display_value(),
            "script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'"
        );
    }
}
