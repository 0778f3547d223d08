//! The registry of diagnostic codes: the one list, documented in `spec/diagnostics.md`.

use super::Severity;

/// One code.
#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    /// `GLnnnn`.
    pub code: &'static str,
    /// Default severity (some codes are raised to errors with credentials, see the spec).
    pub severity: Severity,
    /// Whether `dangerously-allow CODE "reason"` may lower it to a warning.
    pub lowerable: bool,
    /// Short title.
    pub title: &'static str,
}

const fn c(code: &'static str, severity: Severity, title: &'static str) -> CodeInfo {
    CodeInfo {
        code,
        severity,
        lowerable: false,
        title,
    }
}

const fn sec(code: &'static str, title: &'static str) -> CodeInfo {
    CodeInfo {
        code,
        severity: Severity::Error,
        lowerable: true,
        title,
    }
}

use Severity::{Error as E, Note as N, Warning as W};

/// Every code, in order.
pub const ALL: &[CodeInfo] = &[
    c("GL0001", E, "syntax error"),
    c("GL0002", E, "file cannot be read"),
    c("GL0003", E, "import cycle"),
    c("GL0004", E, "not a policy file"),
    c("GL0101", E, "unknown name"),
    c("GL0102", E, "duplicate name"),
    c("GL0103", E, "duplicate route"),
    c("GL0104", E, "unknown or malformed setting"),
    c("GL0105", E, "setting given twice"),
    c("GL0106", E, "invalid route pattern"),
    c("GL0107", W, "unused block"),
    c("GL0108", E, "cors policy allows no origin"),
    c("GL0120", W, "duplicate entry"),
    c("GL0201", E, "not an origin"),
    sec("GL0202", "`null` origin"),
    c("GL0203", E, "`file://` origin"),
    c(
        "GL0204",
        E,
        "origin with a path, query, fragment or trailing slash",
    ),
    c("GL0205", E, "origin with user info"),
    c("GL0206", E, "uppercase in an origin"),
    c("GL0207", E, "non-ASCII host"),
    c("GL0208", E, "explicit default port"),
    c("GL0209", E, "invalid port"),
    c("GL0210", E, "malformed wildcard"),
    c("GL0211", E, "non-canonical IP address"),
    sec("GL0212", "wildcard over a public suffix"),
    c("GL0213", E, "`*` origin with credentials"),
    sec("GL0214", "insecure origin with credentials"),
    c("GL0215", W, "`*` next to other origins"),
    c("GL0216", W, "redundant origin"),
    c("GL0217", E, "invalid host"),
    c("GL0301", E, "invalid method"),
    c("GL0302", E, "forbidden method"),
    c("GL0303", W, "lowercase standard method"),
    c("GL0304", W, "method not in uppercase"),
    c("GL0305", N, "safelisted method"),
    c("GL0306", N, "`*` methods with credentials"),
    c("GL0401", E, "invalid header name"),
    c("GL0402", E, "forbidden request header"),
    c("GL0403", E, "`Access-Control-*` request header"),
    c("GL0404", N, "`*` does not cover Authorization"),
    c("GL0405", E, "`expose-headers *` with credentials"),
    c("GL0406", E, "exposing Set-Cookie"),
    c("GL0407", E, "exposing a request-only header"),
    c("GL0408", N, "exposing a safelisted header"),
    c("GL0501", E, "invalid max-age"),
    c("GL0502", E, "negative max-age"),
    c("GL0503", E, "max-age over a day"),
    c("GL0504", W, "max-age over Chromium's cap"),
    c("GL0505", N, "max-age over WebKit's cap"),
    c("GL0506", W, "no max-age"),
    c("GL0601", E, "invalid test block"),
    c("GL0701", E, "invalid opt-out"),
    c("GL0702", W, "unused opt-out"),
];

/// Looks a code up.
pub fn info(code: &str) -> Option<&'static CodeInfo> {
    ALL.iter().find(|c| c.code == code)
}

/// The default severity of `code` (error for unknown codes).
pub fn default_severity(code: &str) -> Severity {
    info(code).map_or(Severity::Error, |c| c.severity)
}
