//! Caddyfile text: quoted tokens, RE2 regexes, and CEL expressions over the request's
//! placeholders (the `expression` matcher). Every other part writes through these, so a value
//! Caddy would read differently from what it is (a `{` taken for a placeholder, a quote ending
//! a token) is refused here. Built on nothing but the emitter's own types.

use crate::emit::Unsupported;

/// The request's `Origin` (every line joined with `,`; empty when absent).
pub(super) const ORIGIN: &str = "{http.request.header.Origin}";
/// The request's `Access-Control-Request-Method`.
pub(super) const ACRM: &str = "{http.request.header.Access-Control-Request-Method}";
/// The request's `Access-Control-Request-Headers`.
pub(super) const ACRH: &str = "{http.request.header.Access-Control-Request-Headers}";
/// The request method, as sent.
pub(super) const METHOD: &str = "{http.request.method}";
/// The request's authority: the absolute-form target's, else `Host` (Go's `Request.Host`).
pub(super) const AUTHORITY: &str = "{http.request.hostport}";

/// An RFC 9110 token character (inside a character class), with `'` and the backtick as hex
/// escapes so the class fits in a CEL string inside a backquoted Caddyfile token.
pub(super) const TCHAR: &str = "!#$%&\\x27*+.^_\\x60|~0-9A-Za-z-";

/// Escapes regex metacharacters (RE2 and PCRE escape alike).
pub(super) use crate::emit::edge::re;

/// Refuses text that Caddy would not read back as written inside a double-quoted token or a
/// CEL string: quotes, backslashes, braces (placeholders), backticks and control bytes.
pub(super) fn check(what: &str, s: &str) -> Result<(), Unsupported> {
    check_value(what, &s.replace('"', ""))?;
    if s.contains('"') {
        return Err(Unsupported(format!(
            "{what} {s:?} cannot be written to Caddy (contains `\"`)"
        )));
    }
    Ok(())
}

/// [`check`] for a header value, which may hold `"` (written `\"` in its token).
pub(super) fn check_value(what: &str, s: &str) -> Result<(), Unsupported> {
    if s.bytes()
        .any(|b| matches!(b, b'\\' | b'{' | b'}' | b'`') || b < 0x20 || b == 0x7f)
    {
        return Err(Unsupported(format!(
            "{what} {s:?} cannot be written to Caddy (contains `\"`, `\\`, `{{`, `}}`, a backtick or a control byte)"
        )));
    }
    Ok(())
}

/// A double-quoted Caddyfile token holding `s` (checked with [`check_value`]), each `"`
/// escaped.
pub(super) fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\\\""))
}

/// A CEL string literal holding `s` (checked: no quote or backslash).
pub(super) fn lit(s: &str) -> String {
    format!("\"{s}\"")
}

/// A CEL test that placeholder `p` matches the RE2 regex `r` (a raw string: `r` holds no
/// `"`).
pub(super) fn matches(p: &str, r: &str) -> String {
    format!("{p}.matches(r\"{r}\")")
}

/// `a && b && ...`, each part parenthesised; `true` for none (parts that are `true`
/// dropped, `false` if one is).
pub(super) fn all(parts: &[String]) -> String {
    if parts.iter().any(|p| p == "false") {
        return "false".into();
    }
    let parts: Vec<String> = parts.iter().filter(|p| *p != "true").cloned().collect();
    match parts.as_slice() {
        [] => "true".into(),
        [one] => one.clone(),
        _ => parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(" && "),
    }
}

/// `a || b || ...`, each part parenthesised; `false` for none (parts that are `false`
/// dropped, `true` if one is).
pub(super) fn any(parts: &[String]) -> String {
    if parts.iter().any(|p| p == "true") {
        return "true".into();
    }
    let parts: Vec<String> = parts.iter().filter(|p| *p != "false").cloned().collect();
    match parts.as_slice() {
        [] => "false".into(),
        [one] => one.clone(),
        _ => parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(" || "),
    }
}

/// The look-ahead the PCRE regex of a `*.` pattern opens its host with: the whole host at
/// most 253 bytes.
const HOST_BOUND: &str = "(?=[^:]{1,253}(?::|$))";

/// The CEL test that `Origin` matches origin pattern `p` in the runtime's strict form
/// ([`crate::emit::edge::pattern_regex`]): RE2 has no look-ahead, so a `*.` pattern's host
/// bound is a second regex over the same prefix.
pub(super) fn pattern_test(p: &str) -> Option<String> {
    let pcre = crate::emit::edge::pattern_regex(p)?;
    Some(match pcre.split_once(HOST_BOUND) {
        Some((head, tail)) => format!(
            "{} && {}",
            matches(ORIGIN, &format!("{head}[^:]{{1,253}}(?::|$)")),
            matches(ORIGIN, &format!("{head}{tail}"))
        ),
        None => matches(ORIGIN, &pcre),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_tests_are_anchored_re2() {
        let t = pattern_test("https://*.example.com").unwrap_or_default();
        assert!(
            t.contains("r\"^https://(?:[a-z0-9-]{1,63}\\.)+example\\.com$\""),
            "{t}"
        );
        assert!(t.contains("[^:]{1,253}(?::|$)"), "{t}");
        let t = pattern_test("http://localhost:*").unwrap_or_default();
        assert!(t.contains("^http://localhost(?::(?:[1-9]"), "{t}");
        assert!(!t.contains("(?="), "{t}");
    }

    #[test]
    fn braces_and_quotes_are_refused() {
        assert!(check("v", "default-src 'self'").is_ok());
        assert!(check("v", "a{b}").is_err());
        assert!(check("v", "a\"b").is_err());
        assert!(check("v", "a`b").is_err());
    }
}
