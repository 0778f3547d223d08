//! Origin matching in nginx, for the cors and websocket policies and the csrf check: an exact
//! set as a hash `map` confirmed byte for byte, and patterns as anchored regexes in the
//! runtime's strict form. Built on `values`; `cors` and `guards` use it.

use std::fmt::Write as _;

use super::values::{check_value, q, re, Writer};
use crate::emit::Unsupported;

/// Ports 1 to 65535 without a leading zero, as the runtime accepts them.
const PORT_RE: &str =
    "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

/// The regex of one origin pattern in the runtime's strict form.
fn pattern_regex(p: &str) -> Option<String> {
    let (scheme, rest) = p.split_once("://")?;
    let (host, port) = if let Some(h) = rest.strip_suffix(":*") {
        (h, Some(None))
    } else if rest.starts_with('[') {
        match rest.rsplit_once("]:") {
            Some((h, port)) => (rest.get(..h.len() + 1)?, Some(Some(port))),
            None => (rest, None),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, port)) => (h, Some(Some(port))),
            None => (rest, None),
        }
    };
    let mut out = format!("^{}://", re(scheme));
    match host.strip_prefix("*.") {
        Some(suffix) => {
            // One or more labels, the whole host at most 253 bytes (as the runtime checks).
            let _ = write!(
                out,
                "(?=[^:]{{1,253}}(?::|$))(?:[a-z0-9-]{{1,63}}\\.)+{}",
                re(suffix)
            );
        }
        None => out.push_str(&re(host)),
    }
    match port {
        None => {}
        Some(None) => {
            let _ = write!(out, "(?::{PORT_RE})?");
        }
        Some(Some(p)) => {
            let _ = write!(out, ":{}", re(p));
        }
    }
    out.push('$');
    Some(out)
}

impl Writer {
    /// Maps `$<v>_allowed` to 1 when `$http_origin` is allowed by `*`, the exact set (hash
    /// lookup, then one byte-exact comparison) or a pattern; the one origin matcher, in nginx.
    pub(super) fn origin_match(
        &mut self,
        v: &str,
        any: bool,
        exact: &guestlist::KeySet,
        patterns: &guestlist::PatternSet,
    ) -> Result<(), Unsupported> {
        let origin_hdr = "$http_origin";
        if any {
            self.map(
                origin_hdr,
                &format!("{v}_allowed"),
                &[(q(""), "0".into()), ("default".into(), "1".into())],
            );
            return Ok(());
        }
        let exact: Vec<&str> = exact.keys().iter().map(|k| k.as_ref()).collect();
        let patterns: Vec<&str> = patterns.keys().iter().map(|k| k.as_ref()).collect();
        let mut parts = Vec::new();
        if !exact.is_empty() {
            self.exact_set(&format!("{v}_exact"), &format!("{v}_hit"), &exact)?;
            parts.push(format!("${v}_exact"));
        }
        if !patterns.is_empty() {
            let mut lines = vec![("default".to_string(), "0".to_string())];
            for p in &patterns {
                check_value("origin pattern", p)?;
                let r = pattern_regex(p)
                    .ok_or_else(|| Unsupported(format!("cannot translate origin pattern {p:?}")))?;
                let _ = writeln!(self.http, "# {p}");
                lines.push((q(&format!("~{r}")), "1".into()));
            }
            self.map(origin_hdr, &format!("{v}_pattern"), &lines);
            parts.push(format!("${v}_pattern"));
        }
        if parts.is_empty() {
            // No origin entries (a websocket block with only `same-origin`).
            self.map(
                origin_hdr,
                &format!("{v}_allowed"),
                &[("default".into(), "0".into())],
            );
            return Ok(());
        }
        let zeros = "0".repeat(parts.len());
        self.map(
            &q(&parts.concat()),
            &format!("{v}_allowed"),
            &[(q(&zeros), "0".into()), ("default".into(), "1".into())],
        );
        Ok(())
    }

    /// `$<target>` is 1 when `$http_origin` is byte-exactly one of `origins`. nginx compares
    /// string keys ignoring ASCII case, so a hit is confirmed: when every listed origin is
    /// lowercase (canonical origins are), by checking that the request's Origin has no
    /// uppercase letter (one short regex, run only on a hit); otherwise by comparing the
    /// request's Origin with what the lookup found.
    pub(super) fn exact_set(
        &mut self,
        target: &str,
        hit: &str,
        origins: &[&str],
    ) -> Result<(), Unsupported> {
        for o in origins {
            check_value("origin", o)?;
        }
        if origins
            .iter()
            .all(|o| !o.bytes().any(|b| b.is_ascii_uppercase()))
        {
            let mut lines = vec![("default".to_string(), "0".to_string())];
            lines.extend(origins.iter().map(|o| (q(o), "1".to_string())));
            let _ = writeln!(
                self.http,
                "# exact origins: a hash lookup (nginx compares string keys ignoring case; every"
            );
            let _ = writeln!(
                self.http,
                "# origin here is lowercase, so a hit is exact when the request's has no uppercase)"
            );
            self.map("$http_origin", hit, &lines);
            let lower = format!("{hit}_lower");
            self.map(
                "$http_origin",
                &lower,
                &[("default".into(), "1".into()), (q("~[A-Z]"), "0".into())],
            );
            self.map(
                &format!("${hit}"),
                target,
                &[
                    (q("1"), format!("${lower}")),
                    ("default".into(), "0".into()),
                ],
            );
            return Ok(());
        }
        let mut lines = vec![("default".to_string(), q(""))];
        lines.extend(origins.iter().map(|o| (q(o), q(o))));
        let _ = writeln!(
            self.http,
            "# exact origins: a hash lookup (nginx compares string keys ignoring case),"
        );
        let _ = writeln!(
            self.http,
            "# then one byte-exact comparison of the request's Origin with what it found"
        );
        self.map("$http_origin", hit, &lines);
        self.map(
            &q(&format!("$http_origin ${hit}")),
            target,
            &[
                ("default".into(), "0".into()),
                (q("~^(\\S+) \\1$"), "1".into()),
            ],
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_regexes() {
        assert_eq!(
            pattern_regex("https://*.example.com").unwrap(),
            "^https://(?=[^:]{1,253}(?::|$))(?:[a-z0-9-]{1,63}\\.)+example\\.com$"
        );
        assert!(pattern_regex("http://localhost:*")
            .unwrap()
            .starts_with("^http://localhost(?::"));
        assert_eq!(
            pattern_regex("https://*.a.com:8443")
                .unwrap()
                .rsplit_once(":8443")
                .map(|x| x.1),
            Some("$")
        );
        assert!(pattern_regex("http://[::1]:*")
            .unwrap()
            .starts_with("^http://\\[::1\\](?::"));
    }
}
