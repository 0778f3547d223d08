//! The bottom of the nginx emitter: nginx strings and regexes (quoting, escaping, the checks
//! that a value can be written at all, variable names) and the [`Writer`] that collects the
//! `map` blocks of `guestlist-http.conf`. Every other part of the emitter writes through it.

use std::fmt::Write as _;

use crate::emit::{header_text, Unsupported};

pub(super) use crate::emit::edge::re;

/// A double-quoted nginx string (the values we emit have no `"`, `\`, `$` or control bytes;
/// the checker guarantees tokens and canonical origins, and [`check_value`] enforces it).
pub(super) fn q(s: &str) -> String {
    format!("\"{s}\"")
}

/// Refuses a value nginx cannot read back as written.
pub(super) fn check_value(what: &str, s: &str) -> Result<(), Unsupported> {
    if s.bytes()
        .any(|b| b == b'"' || b == b'\\' || b == b'$' || b < 0x20 || b == 0x7f)
        || s.len() > 4000
    {
        return Err(Unsupported(format!(
            "{what} {s:?} cannot be written to nginx (contains `\"`, `\\`, `$` or a control byte, or is over 4000 bytes)"
        )));
    }
    Ok(())
}

/// Variable prefix for policy `index`: short, so nginx's variables hash stays small (the
/// policy's name is in the comment above its maps).
pub(super) fn var_name(ns: &str, index: usize) -> String {
    format!("{ns}p{index}")
}

/// A table's header value as text (the runtime's values are visible ASCII).
pub(super) fn text_of(v: &http::HeaderValue) -> Result<String, Unsupported> {
    v.to_str()
        .map(str::to_string)
        .map_err(|_| Unsupported("a header value that is not visible ASCII".to_string()))
}

/// `$upstream_http_<name>`: the upstream's own value of a header, passed on where the answer
/// leaves the header alone (nginx 1.22 holds its first line; 1.23 and later join every line
/// with ", "). Only names of lowercase letters, digits and `-` have such a variable.
pub(super) fn upstream_var(name: &str) -> Result<String, Unsupported> {
    let lower = name.to_ascii_lowercase();
    if lower.is_empty()
        || !lower
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Unsupported(format!(
            "nginx has no variable for the upstream's `{name}` header (only letters, digits and `-`)"
        )));
    }
    Ok(format!("$upstream_http_{}", lower.replace('-', "_")))
}

/// The maps of `guestlist-http.conf` as they are written.
pub(super) struct Writer {
    /// The text of `guestlist-http.conf` so far.
    pub(super) http: String,
    /// The namespace every variable name starts with.
    pub(super) ns: String,
    /// Whether a header value holds `$`, written as the `$<ns>_dollar` variable.
    pub(super) dollar: bool,
    /// Whether the policy has host blocks (the request's authority is `$<ns>_auth`).
    pub(super) hosts: bool,
    /// Whether `--accept-loss csp-nonce` was given: a nonce CSP is not sent (nor the
    /// upstream's hidden) instead of refused.
    pub(super) nonce_lost: bool,
    /// The shared csrf maps, and the csrf and websocket policies whose maps are written.
    emitted: std::collections::BTreeSet<String>,
    /// The variables of the sets supplied at run time each policy names.
    pub(super) supplied: SuppliedVars,
    /// The policy's plain data (which sets each policy names, which are tenant-bound).
    pub(super) spec: guestlist::PolicySpec,
}

/// The variables of the sets supplied at run time (`provided`) that each policy names, by
/// the policy's index.
#[derive(Default)]
pub(super) struct SuppliedVars {
    /// Each cors policy's (`allow-origins`).
    pub(super) cors: Vec<Vec<String>>,
    /// Each csrf policy's (`trusted-origins`).
    pub(super) csrf: Vec<Vec<String>>,
    /// Each websocket policy's (`allow-origins`).
    pub(super) websocket: Vec<Vec<String>>,
}

impl SuppliedVars {
    /// The variables of `list`'s policy `index` (none when out of range).
    pub(super) fn of(list: &[Vec<String>], index: usize) -> Vec<String> {
        list.get(index).cloned().unwrap_or_default()
    }
}

impl Writer {
    /// A writer with no maps yet, its variables namespaced `ns`.
    pub(super) fn new(ns: String) -> Writer {
        Writer {
            http: String::new(),
            ns,
            dollar: false,
            hosts: false,
            nonce_lost: false,
            emitted: std::collections::BTreeSet::new(),
            supplied: SuppliedVars::default(),
            spec: guestlist::PolicySpec::default(),
        }
    }

    /// The upstream's first value of header `name` (a header that holds one value): nginx 1.22
    /// passes on the first line of a header it reads, 1.23 and later every line joined with
    /// ", ", of which the map keeps the part before the first comma.
    pub(super) fn upstream_first(&mut self, name: &str) -> Result<String, Unsupported> {
        let source = upstream_var(name)?;
        let target = format!(
            "{}_up_{}",
            self.ns,
            name.to_ascii_lowercase().replace('-', "_")
        );
        if self.first_time(&format!("upstream {target}")) {
            let _ = writeln!(
                self.http,
                "\n# The upstream's first {name} value (nginx 1.23 and later join repeated lines with \", \")."
            );
            self.map(
                &source,
                &target,
                &[
                    ("default".to_string(), q("")),
                    (q("~^([^,]*)"), "$1".to_string()),
                ],
            );
        }
        Ok(format!("${target}"))
    }

    /// Whether the maps named `key` still need writing (true once per key).
    pub(super) fn first_time(&mut self, key: &str) -> bool {
        self.emitted.insert(key.to_string())
    }

    /// A header value as an nginx string (an `add_header` or `map` value, both read for
    /// variables): the runtime's definition of a value ([`header_text`]), double-quoted, with
    /// `\` and `"` escaped and each `$` written as `${ns}_dollar`, a variable holding `$`
    /// (nginx strings have no escape for it). Values over 4000 bytes are refused: nginx reads
    /// its configuration in 4096-byte tokens.
    pub(super) fn value(&mut self, name: &str, v: &str) -> Result<String, Unsupported> {
        let v = header_text(name, v.as_bytes())?;
        if v.len() > 4000 {
            return Err(Unsupported(format!(
                "the {name} value is {} bytes: nginx cannot read a value over 4000 bytes from its configuration",
                v.len()
            )));
        }
        let mut out = String::with_capacity(v.len() + 2);
        out.push('"');
        for ch in v.chars() {
            match ch {
                '\\' | '"' => {
                    out.push('\\');
                    out.push(ch);
                }
                '$' => {
                    self.dollar = true;
                    let _ = write!(out, "${{{}_dollar}}", self.ns);
                }
                _ => out.push(ch),
            }
        }
        out.push('"');
        Ok(out)
    }

    /// Writes `map SOURCE $TARGET { KEY VALUE; ... }`, the keys aligned.
    pub(super) fn map(&mut self, source: &str, target: &str, lines: &[(String, String)]) {
        let _ = writeln!(self.http, "map {source} ${target} {{");
        let w = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in lines {
            let _ = writeln!(self.http, "    {k:w$} {v};");
        }
        self.http.push_str("}\n");
    }
}
