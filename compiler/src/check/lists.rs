//! Methods, header names and durations: the per-entry checks of `allow-methods`,
//! `allow-headers`, `expose-headers` and `max-age` (spec/language.md, section 5).

use crate::ast::Value;
use crate::diag::Diagnostic;
use crate::ir::is_safelisted_method;

/// Byte-case-insensitive `CONNECT`, `TRACE`, `TRACK` (Fetch "forbidden method").
pub fn is_forbidden_method(m: &str) -> bool {
    ["CONNECT", "TRACE", "TRACK"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(m))
}

/// The six methods `fetch()` uppercases (Fetch "normalize").
const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];

/// Checks one `allow-methods` entry; returns the method to store (normalized), or `None`.
pub fn method(v: &Value, diags: &mut Vec<Diagnostic>) -> Option<String> {
    let m = v.text.as_str();
    if !guestlist::is_token(m.as_bytes()) {
        let mut d = Diagnostic::new("GL0301", v.span, format!("`{m}` is not a method"))
            .label("a method is an HTTP token such as PUT");
        if m.contains(',') {
            d = d.help("separate methods with spaces, not commas");
        } else {
            d = d.help("write a method name such as `PUT`, or `*`");
        }
        diags.push(d);
        return None;
    }
    if is_forbidden_method(m) {
        diags.push(
            Diagnostic::new("GL0302", v.span, format!("`{m}` is a forbidden method"))
                .label("browsers never let scripts send it")
                .help("remove it"),
        );
        return None;
    }
    if let Some(upper) = NORMALIZED
        .iter()
        .find(|n| n.eq_ignore_ascii_case(m) && **n != m)
    {
        diags.push(
            Diagnostic::new(
                "GL0303",
                v.span,
                format!("`{m}` is sent by browsers as `{upper}`"),
            )
            .label("fetch() uppercases this method")
            .help(format!("write `{upper}`"))
            .fix(v.span, *upper),
        );
        return Some((*upper).to_string());
    }
    if m.bytes().any(|b| b.is_ascii_lowercase()) {
        let upper = m.to_ascii_uppercase();
        diags.push(
            Diagnostic::new("GL0304", v.span, format!("method `{m}` is not uppercase"))
                .label("methods are compared byte-exactly; fetch() sends this one exactly as the page wrote it")
                .help(format!("if pages send `{upper}`, write `{upper}`")),
        );
    }
    if is_safelisted_method(m) {
        diags.push(
            Diagnostic::new("GL0305", v.span, format!("`{m}` is a CORS-safelisted method"))
                .label("allowed in every preflight anyway")
                .note("listing it is harmless; safelisted methods never need Access-Control-Allow-Methods"),
        );
    }
    Some(m.to_string())
}

/// Request headers that scripts can never set (Fetch "forbidden request-header").
const FORBIDDEN_REQUEST: [&str; 21] = [
    "accept-charset",
    "accept-encoding",
    "access-control-request-headers",
    "access-control-request-method",
    "connection",
    "content-length",
    "cookie",
    "cookie2",
    "date",
    "dnt",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "referer",
    "set-cookie",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

fn header_token(v: &Value, diags: &mut Vec<Diagnostic>) -> bool {
    if guestlist::is_token(v.text.as_bytes()) {
        return true;
    }
    let mut d = Diagnostic::new(
        "GL0401",
        v.span,
        format!("`{}` is not a header name", v.text),
    )
    .label("a header name is an HTTP token");
    d = if v.text.contains(',') {
        d.help("separate header names with spaces, not commas")
    } else {
        d.help("write a header name such as `Content-Type`")
    };
    diags.push(d);
    false
}

/// Checks one `allow-headers` entry; returns whether it is usable.
pub fn request_header(v: &Value, diags: &mut Vec<Diagnostic>) -> bool {
    if !header_token(v, diags) {
        return false;
    }
    let lower = v.text.to_ascii_lowercase();
    if lower.starts_with("access-control-") {
        diags.push(
            Diagnostic::new(
                "GL0403",
                v.span,
                format!("`{}` is a CORS protocol header", v.text),
            )
            .label("browsers set Access-Control-* request headers themselves")
            .help("remove it; the preflight's own headers never need allowing"),
        );
        return false;
    }
    if FORBIDDEN_REQUEST.contains(&lower.as_str())
        || lower.starts_with("proxy-")
        || lower.starts_with("sec-")
    {
        diags.push(
            Diagnostic::new("GL0402", v.span, format!("`{}` is a forbidden request header", v.text))
                .label("scripts can never set it, so it never appears in a preflight")
                .help("remove it (cookies travel with `allow-credentials true`, not as an allowed header)"),
        );
        return false;
    }
    true
}

/// Response headers every page can read without being exposed.
const SAFELISTED_RESPONSE: [&str; 7] = [
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
];

/// Checks one `expose-headers` entry; returns whether to keep it.
pub fn exposed_header(v: &Value, diags: &mut Vec<Diagnostic>) -> bool {
    if !header_token(v, diags) {
        return false;
    }
    let lower = v.text.to_ascii_lowercase();
    if lower == "set-cookie" || lower == "set-cookie2" {
        diags.push(
            Diagnostic::new(
                "GL0406",
                v.span,
                format!("`{}` can never be exposed", v.text),
            )
            .label("browsers hide Set-Cookie from scripts whatever the server says")
            .help("remove it"),
        );
        return false;
    }
    if matches!(
        lower.as_str(),
        "origin" | "access-control-request-method" | "access-control-request-headers"
    ) {
        diags.push(
            Diagnostic::new(
                "GL0407",
                v.span,
                format!("`{}` is a request header", v.text),
            )
            .label("exposing it to scripts has no meaning")
            .help("remove it"),
        );
        return false;
    }
    if SAFELISTED_RESPONSE.contains(&lower.as_str()) {
        diags.push(
            Diagnostic::new("GL0408", v.span, format!("`{}` is always readable", v.text))
                .label("CORS-safelisted response header")
                .note("it is left out of Access-Control-Expose-Headers"),
        );
        return false;
    }
    true
}

/// Parses a duration: seconds, or `30s`/`30m`/`2h`/`1d`. Returns seconds (possibly negative).
pub fn duration(v: &Value, diags: &mut Vec<Diagnostic>) -> Option<i64> {
    let t = v.text.as_str();
    let (num, mult) = match t.as_bytes().last() {
        Some(b's') => (t.get(..t.len() - 1), 1),
        Some(b'm') => (t.get(..t.len() - 1), 60),
        Some(b'h') => (t.get(..t.len() - 1), 3600),
        Some(b'd') => (t.get(..t.len() - 1), 86400),
        _ => (Some(t), 1),
    };
    let parsed = num
        .filter(|n| !v.quoted && !n.is_empty() && !n.starts_with('+'))
        .and_then(|n| n.parse::<i64>().ok())
        .and_then(|n| n.checked_mul(mult));
    if parsed.is_none() {
        diags.push(
            Diagnostic::new("GL0501", v.span, format!("`{t}` is not a duration"))
                .label("expected seconds, or a number with s, m, h or d")
                .help("write a duration such as `7200`, `30m` or `2h`"),
        );
    }
    parsed
}
