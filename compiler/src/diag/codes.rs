//! The registry of diagnostic codes: the one list, documented in `spec/diagnostics.md`.

use super::Severity;

/// One diagnostic code: its default severity, whether an opt-out may lower it, and its title.
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
    c("GL0801", E, "unknown CSP directive"),
    c("GL0802", E, "CSP value is a directive name"),
    c("GL0803", E, "invalid CSP keyword"),
    sec("GL0804", "'unsafe-inline' in a script directive"),
    c("GL0805", W, "'unsafe-hashes' in a script directive"),
    c("GL0806", W, "'unsafe-eval' in a script directive"),
    sec(
        "GL0807",
        "plain URL scheme in a script, object or base directive",
    ),
    sec(
        "GL0808",
        "plain wildcard in a script, object or base directive",
    ),
    sec("GL0809", "no object-src"),
    sec("GL0810", "no script-src"),
    sec("GL0811", "nonces or hashes without base-uri"),
    sec("GL0812", "known script allowlist bypass"),
    c("GL0813", W, "script allowlist"),
    sec("GL0814", "known object-src allowlist bypass"),
    c("GL0815", W, "object-src allowlist"),
    c("GL0816", N, "IP address source"),
    c("GL0817", W, "short nonce"),
    c("GL0818", N, "nonce outside the base64 alphabet"),
    c("GL0819", W, "plain-HTTP source"),
    c("GL0820", N, "deprecated CSP directive"),
    c("GL0821", N, "allowlist without 'strict-dynamic'"),
    c("GL0822", N, "'strict-dynamic' without a nonce or hash"),
    c("GL0823", N, "no 'unsafe-inline' fallback"),
    c("GL0824", N, "no allowlist fallback for 'strict-dynamic'"),
    c("GL0825", N, "no require-trusted-types-for"),
    c("GL0826", N, "no CSP report destination"),
    c("GL0827", N, "report-to without report-uri"),
    c("GL0828", E, "CSP directive set twice"),
    c("GL0829", W, "'none' next to other sources"),
    c("GL0830", E, "literal nonce"),
    c("GL0831", E, "`,` or `;` in a CSP value"),
    c("GL0832", E, "keyword, nonce or hash in frame-ancestors"),
    c(
        "GL0833",
        N,
        "directive without default-src fallback missing",
    ),
    c("GL0834", E, "invalid report-to endpoint"),
    c("GL0835", W, "CSP source that never matches"),
    c("GL0836", N, "'unsafe-inline' in style-src"),
    c("GL0837", N, "'wasm-unsafe-eval'"),
    c("GL0838", W, "sandbox in a report-only policy"),
    c("GL0839", E, "CSP value a header cannot carry"),
    c("GL0840", E, "malformed CSP value"),
    c("GL0902", E, "invalid security header value"),
    c("GL0903", W, "HSTS preload requirements not met"),
    c("GL0904", W, "short HSTS max-age"),
    c("GL0905", E, "X-Frame-Options ALLOW-FROM"),
    c(
        "GL0906",
        W,
        "Cross-Origin-Resource-Policy conflicts with cors",
    ),
    c("GL0907", W, "frame-ancestors and X-Frame-Options disagree"),
    c("GL0908", E, "CSP in a headers block"),
    c("GL0909", W, "X-XSS-Protection other than 0"),
    c("GL0951", E, "csrf origin not exact"),
    sec("GL0952", "csrf exemption covers the whole site"),
    c("GL0953", W, "exempting a safe method"),
    c("GL0955", N, "csrf does not trust a `*` cors policy"),
    c("GL0956", W, "insecure trusted origin"),
    c("GL0957", E, "CSRF secret in a policy file"),
    c("GL0958", E, "CSRF token not bound to the session"),
    c("GL0959", E, "token cookie without the __Host- prefix"),
    c(
        "GL0960",
        W,
        "retired: token route exported to nginx (now GL1202)",
    ),
    c("GL0962", E, "token header that cannot carry a token"),
    c("GL0963", E, "token field name not allowed"),
    c("GL0971", E, "`*` in websocket allow-origins"),
    c("GL0973", E, "websocket policy allows no origin"),
    c("GL1001", E, "a second `paths` block"),
    c("GL1010", E, "a method nginx refuses"),
    c("GL1011", E, "two readings nginx cannot apply"),
    c(
        "GL1012",
        E,
        "a header nginx cannot apply to one reading only",
    ),
    c("GL1101", E, "an invalid host pattern"),
    c("GL1102", E, "a host block with no routes"),
    c("GL1103", E, "a host wildcard over a public suffix"),
    c("GL1104", E, "a host pattern given twice"),
    c("GL1105", E, "a block inside a block"),
    c(
        "GL1106",
        W,
        "a path guarded under one host block, not another",
    ),
    c(
        "GL1107",
        W,
        "a wildcard host same-site with a `same-site allow` csrf",
    ),
    c("GL1108", E, "`hosts` declared twice"),
    c(
        "GL1109",
        W,
        "a path with a cors policy under one host block, none under another",
    ),
    c(
        "GL1110",
        E,
        "a header nginx cannot apply to some hosts only",
    ),
    c("GL1201", E, "a nonce CSP an edge cannot make"),
    c("GL1202", E, "a CSRF token an edge cannot verify"),
    c("GL1203", E, "two readings HAProxy cannot compute"),
    c("GL1204", E, "a policy text nginx cannot write"),
    c("GL1205", E, "a policy text HAProxy cannot write"),
    c("GL1206", E, "a policy text Caddy cannot write"),
    c("GL1220", E, "two readings Caddy cannot apply"),
    c("GL1301", E, "a csrf check Gateway API cannot make"),
    c(
        "GL1302",
        E,
        "a WebSocket origin check Gateway API cannot make",
    ),
    c(
        "GL1303",
        E,
        "more origins than a Gateway API CORS filter holds",
    ),
    c("GL1304", E, "the application's own CORS headers passed on"),
    c("GL1305", E, "the path-form rule on Gateway API"),
    c(
        "GL1310",
        E,
        "a setting the Gateway API CORS filter or path match cannot carry",
    ),
    c("GL1311", E, "a host Gateway API cannot select"),
    c(
        "GL1312",
        E,
        "host blocks' routes Gateway API cannot decide together",
    ),
    c("GL1320", W, "preflights answered otherwise on the wire"),
    c("GL1321", W, "origins also matched in non-canonical forms"),
    c("GL1322", W, "hosts matched otherwise on the wire"),
    c("GL1401", E, "a malformed provided set"),
    c(
        "GL1402",
        W,
        "a provided set with credentials, not tenant-bound",
    ),
    c("GL1403", N, "a provided set, empty until supplied"),
    c(
        "GL1404",
        E,
        "a pattern supplied for a set not declared `patterns`",
    ),
    c("GL1405", E, "a malformed line in a supplied file"),
    c("GL1406", E, "a supplied file over its limits"),
    c("GL1407", W, "a provided set empty in an edge's output"),
    c("GL1408", E, "a supplied entry overlapping a static origin"),
    c("GL1409", E, "supplied entries of two tenants overlapping"),
    c("GL1410", E, "a tenant-bound set in csrf trusted-origins"),
    c("GL1601", W, "a provided set empty for the probe"),
    c("GL1602", N, "a csrf policy not probed"),
];

/// Looks a code up.
pub fn info(code: &str) -> Option<&'static CodeInfo> {
    ALL.iter().find(|c| c.code == code)
}

/// The default severity of `code` (error for unknown codes).
pub(crate) fn default_severity(code: &str) -> Severity {
    info(code).map_or(Severity::Error, |c| c.severity)
}
