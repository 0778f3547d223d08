//! The bottom of the CSP lints: what CSP's grammar knows (the directives, keywords and
//! sandbox tokens, what a scheme, host or hash source looks like), the [`Dir`] view of one
//! directive line and the [`Directives`] of one policy, and `d`, which gives a finding its
//! registered severity.

use std::collections::HashMap;

use crate::diag::{Diagnostic, Severity};
use crate::ir::{CspLine, NONCE};
use crate::source::Span;

/// Directives that take a source list and fall back to `default-src`.
pub(super) const FETCH: &[&str] = &[
    "child-src",
    "connect-src",
    "default-src",
    "font-src",
    "frame-src",
    "img-src",
    "manifest-src",
    "media-src",
    "object-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "worker-src",
];
/// Other source-list directives (no fallback).
pub(super) const OTHER_SL: &[&str] = &["base-uri", "form-action", "frame-ancestors"];
pub(super) const OTHER: &[&str] = &[
    "sandbox",
    "report-uri",
    "report-to",
    "webrtc",
    "upgrade-insecure-requests",
    "block-all-mixed-content",
    "require-trusted-types-for",
    "trusted-types",
];
/// Deprecated or removed directives: the Evaluator's four plus the spec's removals.
pub(super) const DEPRECATED: &[&str] = &[
    "reflected-xss",
    "referrer",
    "disown-opener",
    "prefetch-src",
    "navigate-to",
    "plugin-types",
    "require-sri-for",
    "block-all-mixed-content",
];
pub(super) const KEYWORDS: &[&str] = &[
    "'self'",
    "'none'",
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'strict-dynamic'",
    "'unsafe-hashes'",
    "'report-sample'",
    "'unsafe-allow-redirects'",
    "'wasm-unsafe-eval'",
    "'trusted-types-eval'",
    "'report-sha256'",
    "'report-sha384'",
    "'report-sha512'",
    "'unsafe-webtransport-hashes'",
    "'inline-speculation-rules'",
];
pub(super) const SANDBOX: &[&str] = &[
    "allow-downloads",
    "allow-forms",
    "allow-modals",
    "allow-orientation-lock",
    "allow-pointer-lock",
    "allow-popups",
    "allow-popups-to-escape-sandbox",
    "allow-presentation",
    "allow-same-origin",
    "allow-scripts",
    "allow-storage-access-by-user-activation",
    "allow-top-navigation",
    "allow-top-navigation-by-user-activation",
    "allow-top-navigation-to-custom-protocols",
];

/// Whether `name` is a directive guestlist knows (current or deprecated).
pub(super) fn is_directive(name: &str) -> bool {
    FETCH.contains(&name)
        || OTHER_SL.contains(&name)
        || OTHER.contains(&name)
        || DEPRECATED.contains(&name)
}

/// Every directive but the deprecated ones, for "did you mean".
pub(super) fn all_directives() -> impl Iterator<Item = &'static str> {
    FETCH.iter().chain(OTHER_SL).chain(OTHER).copied()
}

/// A source without its scheme (`https://a.example` -> `a.example`).
pub(super) fn scheme_free(v: &str) -> &str {
    match v.find("://") {
        Some(i) => v.get(i + 3..).unwrap_or(""),
        None => v.strip_prefix("//").unwrap_or(v),
    }
}

/// A scheme source, such as `https:`.
pub(super) fn is_scheme_source(v: &str) -> bool {
    v.strip_suffix(':').is_some_and(|s| {
        let mut b = s.bytes();
        b.next().is_some_and(|c| c.is_ascii_alphabetic())
            && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    })
}

/// Base64 or base64url, with at most two `=` of padding.
pub(super) fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// A host-source per the CSP grammar: `[scheme://]host[:port][path]`.
pub(super) fn is_host_source(v: &str) -> bool {
    let rest = match v.find("://") {
        Some(i) => {
            if !is_scheme_source(&format!("{}:", v.get(..i).unwrap_or(""))) {
                return false;
            }
            v.get(i + 3..).unwrap_or("")
        }
        None => v,
    };
    let (hp, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
        None => (rest, ""),
    };
    if path.contains([';', ',']) {
        return false;
    }
    let (host, port) = match hp.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || hp.starts_with('[') => (h, Some(p)),
        _ => (hp, None),
    };
    if let Some(p) = port {
        if !(p == "*" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))) {
            return false;
        }
    }
    if host == "*" {
        return true;
    }
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// The host of a host source (an IPv6 address with its `[`).
pub(super) fn host_of(v: &str) -> &str {
    let rest = scheme_free(v);
    let hp = rest.split('/').next().unwrap_or("");
    if hp.starts_with('[') {
        return hp.split(']').next().map_or(hp, |h| h);
    }
    hp.split(':').next().unwrap_or("")
}

/// Whether a host source's host is an IP address.
pub(super) fn looks_like_ip(host: &str) -> bool {
    host.starts_with('[')
        || (host.split('.').count() == 4
            && host
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

/// One directive line that passed the syntax checks: the line, and its values that can be
/// read as sources.
pub(super) struct Dir<'a> {
    pub(super) line: &'a CspLine,
    pub(super) values: Vec<(&'a str, Span)>,
}

impl Dir<'_> {
    pub(super) fn has(&self, v: &str) -> bool {
        self.values.iter().any(|(x, _)| x.eq_ignore_ascii_case(v))
    }
    pub(super) fn span_of(&self, v: &str) -> Span {
        self.values
            .iter()
            .find(|(x, _)| x.eq_ignore_ascii_case(v))
            .map_or(self.line.name_span, |(_, s)| *s)
    }
    pub(super) fn has_nonce_or_hash(&self) -> bool {
        self.values.iter().any(|(v, _)| is_nonce_or_hash(v))
    }
}

/// `'nonce'` or a `'sha256-...'`, `'sha384-...'` or `'sha512-...'` hash source.
pub(super) fn is_nonce_or_hash(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    l == NONCE
        || ["'sha256-", "'sha384-", "'sha512-"]
            .iter()
            .any(|p| l.starts_with(p) && l.ends_with('\''))
}

/// A finding with the severity the code registry gives its code.
pub(super) fn d(code: &'static str, span: Span, msg: impl Into<String>) -> Diagnostic {
    let severity = crate::diag::codes::info(code).map_or(Severity::Error, |i| i.severity);
    Diagnostic::new(code, span, msg).severity(severity)
}

/// The directives of one policy that passed the syntax checks, in order and by name.
#[derive(Default)]
pub(super) struct Directives<'a> {
    /// In the order they are written.
    pub(super) list: Vec<Dir<'a>>,
    /// Each name's index in `list`.
    by_name: HashMap<&'a str, usize>,
}

impl<'a> Directives<'a> {
    /// Adds a directive whose name is not there yet.
    pub(super) fn push(&mut self, dir: Dir<'a>) {
        self.by_name.insert(dir.line.name.as_str(), self.list.len());
        self.list.push(dir);
    }

    /// The directive named `name`.
    pub(super) fn get(&self, name: &str) -> Option<&Dir<'a>> {
        self.by_name.get(name).and_then(|&i| self.list.get(i))
    }
}
