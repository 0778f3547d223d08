//! The nginx emitter: the same decisions as the runtime, as nginx `map`s and location snippets.
//!
//! Layout (see `spec/nginx.md`):
//! - `guestlist-http.conf`: every `map`, included once inside `http {}`;
//! - `routes/<slug>.conf`: one snippet per route, included inside a `location {}`;
//! - `guestlist-server.conf`: one `location` per route (exact `=`, prefix `^~`), included
//!   inside a `server {}`; each includes its route snippet, then the upstream include.
//!
//! How the runtime's semantics map onto nginx:
//! - exact origins: a hash `map` (fast at any size, but nginx compares string keys ignoring
//!   case), followed by one byte-exact equality check (a regex with a back-reference comparing
//!   the request's `Origin` with the canonical origin the hash returned);
//! - patterns: anchored, case-sensitive regexes with the runtime's label and port rules;
//! - a per-policy `state` map: `none` (no Origin), `allowed`, `denied`, `pok` (preflight ok),
//!   `prej` (preflight rejected); every header value is a map of the state, `""` meaning "not
//!   sent" (nginx skips empty `add_header` values);
//! - `add_header ... always` on every header, `if (...) { return 204/403; }` only (the one safe
//!   use of `if`), `proxy_hide_header` for the upstream's own `Access-Control-*` headers.

use std::fmt::Write as _;
use std::path::Path;

use guestlist::Cors;

use crate::emit::{csp_text, header_text};
use crate::{Compilation, Lowered};

/// Options for [`emit`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Absolute directory the `include` lines point to (where the files will live).
    pub include_root: String,
    /// A file to include in each generated `location` after the route snippet (`proxy_pass`).
    pub upstream_include: Option<String>,
    /// The exact command or API call that generated the files (for the header comment).
    pub generated_by: String,
}

/// One emitted file: path relative to the output directory, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Relative path.
    pub path: String,
    /// Contents.
    pub text: String,
}

use super::Unsupported;

/// The response headers the runtime owns on a governed route.
const OWNED: [&str; 6] = [
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Expose-Headers",
];

/// Ports 1 to 65535 without a leading zero, as the runtime accepts them.
const PORT_RE: &str =
    "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
/// An RFC 9110 token character (inside a character class).
const TCHAR: &str = "!#$%&'*+.^_`|~0-9A-Za-z-";

/// Escapes regex metacharacters (origins and header names contain no backslash).
fn re(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A double-quoted nginx string (the values we emit have no `"`, `\`, `$` or control bytes;
/// the checker guarantees tokens and canonical origins, and [`check_value`] enforces it).
fn q(s: &str) -> String {
    format!("\"{s}\"")
}

fn check_value(what: &str, s: &str) -> Result<(), Unsupported> {
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

/// The file-name slug of a route pattern: `exact-` or `prefix-`, then the path with `/` as
/// `-`, lowercase letters and digits kept, every other byte as `_` and two hex digits. The
/// encoding is injective, so slugs never collide.
pub fn slug(pattern: &str) -> String {
    let (kind, path) = match pattern.strip_suffix("/*") {
        Some(p) => ("prefix", p),
        None => ("exact", pattern),
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut out = String::from(kind);
    out.push('-');
    if path.is_empty() {
        out.push_str("root");
        return out;
    }
    for b in path.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => out.push(char::from(b)),
            b'/' => out.push('-'),
            _ => {
                let _ = write!(out, "_{b:02x}");
            }
        }
    }
    out
}

/// A short namespace for variable names: a hash of what the policy says, so two policies (or
/// two projects) never share variables.
fn namespace(lowered: &Lowered) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!("{:?}", lowered.spec);
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("gl{:08x}", h >> 32)
}

/// Variable prefix for policy `index`: short, so nginx's variables hash stays small (the
/// policy's name is in the comment above its maps).
fn var_name(ns: &str, index: usize) -> String {
    format!("{ns}p{index}")
}

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

/// The CORS state for each value of the five flags (is_pf, allowed, method_ok, headers_ok,
/// has_origin), all 32 spelled out, so nginx finds the state with one hash lookup instead of
/// trying regexes in turn.
fn state_lines() -> Vec<(String, String)> {
    let mut lines = Vec::new();
    for bits in 0..32u32 {
        let f = |i: u32| (bits >> (4 - i)) & 1 == 1;
        let (is_pf, allowed, method_ok, headers_ok, has_origin) = (f(0), f(1), f(2), f(3), f(4));
        let state = match (is_pf, has_origin) {
            (true, _) if allowed && method_ok && headers_ok => "pok",
            (true, _) => "prej",
            (false, false) => "none",
            (false, true) if allowed => "allowed",
            (false, true) => "denied",
        };
        let key: String = (0..5).map(|i| if f(i) { '1' } else { '0' }).collect();
        lines.push((q(&key), state.to_string()));
    }
    lines
}

struct Writer {
    http: String,
    ns: String,
    /// Whether a header value holds `$`, written as the `$<ns>_dollar` variable.
    dollar: bool,
    /// The shared csrf maps, and the csrf and websocket policies whose maps are written.
    emitted: std::collections::BTreeSet<String>,
}

impl Writer {
    /// Whether the maps named `key` still need writing (true once per key).
    fn first_time(&mut self, key: &str) -> bool {
        self.emitted.insert(key.to_string())
    }
}

impl Writer {
    /// A header value as an nginx string (an `add_header` or `map` value, both read for
    /// variables): the runtime's definition of a value ([`header_text`]), double-quoted, with
    /// `\` and `"` escaped and each `$` written as `${ns}_dollar`, a variable holding `$`
    /// (nginx strings have no escape for it). Values over 4000 bytes are refused: nginx reads
    /// its configuration in 4096-byte tokens.
    fn value(&mut self, name: &str, v: &str) -> Result<String, Unsupported> {
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

    fn map(&mut self, source: &str, target: &str, lines: &[(String, String)]) {
        let _ = writeln!(self.http, "map {source} ${target} {{");
        let w = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in lines {
            let _ = writeln!(self.http, "    {k:w$} {v};");
        }
        self.http.push_str("}\n");
    }

    /// Maps `$<v>_allowed` to 1 when `$http_origin` is allowed by `*`, the exact set (hash
    /// lookup, then one byte-exact comparison) or a pattern; the one origin matcher, in nginx.
    fn origin_match(
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
    fn exact_set(&mut self, target: &str, hit: &str, origins: &[&str]) -> Result<(), Unsupported> {
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

    fn cors(
        &mut self,
        index: usize,
        c: &Cors,
        location: &str,
    ) -> Result<(String, CorsVars), Unsupported> {
        let v = var_name(&self.ns, index);
        let vars = CorsVars {
            state: format!("${v}_state"),
            acao: format!("${v}_acao"),
            acac: if c.credentials() {
                format!("${v}_acac")
            } else {
                String::new()
            },
            aceh: if c.expose_headers_value().is_some() {
                format!("${v}_aceh")
            } else {
                String::new()
            },
            acam: format!("${v}_acam"),
            acah: format!("${v}_acah"),
            acma: if c.max_age_value().is_some() {
                format!("${v}_acma")
            } else {
                String::new()
            },
            vary: !c.is_static_any(),
        };
        let static_any = c.any_origin() && !c.credentials();
        let _ = writeln!(self.http, "\n# cors policy `{}` ({location})", c.name());
        let origin_hdr = "$http_origin";
        let acrm = "$http_access_control_request_method";
        let acrh = "$http_access_control_request_headers";
        // 1. Is the origin allowed?
        self.origin_match(&v, c.any_origin(), c.origins(), c.patterns())?;
        // 2. Preflight = OPTIONS + Origin + Access-Control-Request-Method.
        self.map(
            origin_hdr,
            &format!("{v}_has_origin"),
            &[(q(""), "0".into()), ("default".into(), "1".into())],
        );
        // nginx refuses methods that are not uppercase (400), so the hash key is exact.
        self.map(
            acrm,
            &format!("{v}_has_acrm"),
            &[(q(""), "0".into()), ("default".into(), "1".into())],
        );
        self.map(
            &q(&format!("$request_method:${v}_has_origin:${v}_has_acrm")),
            &format!("{v}_is_pf"),
            &[
                ("default".into(), "0".into()),
                (q("OPTIONS:1:1"), "1".into()),
            ],
        );
        // 3. The requested method: safelisted, listed (byte-exact), or any token.
        let method_re = if c.any_method() {
            format!("~^[{TCHAR}]+$")
        } else {
            let mut ms: Vec<String> = vec!["GET".into(), "HEAD".into(), "POST".into()];
            for m in c.methods() {
                check_value("method", m)?;
                if !ms.iter().any(|x| x == m.as_ref()) {
                    ms.push(m.to_string());
                }
            }
            format!(
                "~^(?:{})$",
                ms.iter().map(|m| re(m)).collect::<Vec<_>>().join("|")
            )
        };
        self.map(
            acrm,
            &format!("{v}_method_ok"),
            &[("default".into(), "0".into()), (q(&method_re), "1".into())],
        );
        // 4. The requested headers: a comma list (spaces and empty elements tolerated, case
        //    ignored), every name allowed; Authorization only when listed; at most 64 names
        //    and 4096 bytes.
        let names: Vec<&str> = c.headers().keys().iter().map(|k| k.as_ref()).collect();
        for n in &names {
            check_value("header name", n)?;
        }
        let auth_listed = names
            .iter()
            .any(|n| n.eq_ignore_ascii_case("authorization"));
        let element = if c.any_header() {
            if auth_listed {
                format!("[{TCHAR}]+")
            } else {
                format!("(?!authorization[ \\t]*(?:,|$))[{TCHAR}]+")
            }
        } else if names.is_empty() {
            "(?!)".to_string()
        } else {
            format!(
                "(?:{})",
                names
                    .iter()
                    .map(|n| re(&n.to_ascii_lowercase()))
                    .collect::<Vec<_>>()
                    .join("|")
            )
        };
        let list_re = format!(
            "~*^(?=[\\s\\S]{{0,4096}}$)[ \\t,]*(?:{element}[ \\t]*(?:,[ \\t,]*|$)){{0,64}}$"
        );
        // nginx never tries regex keys on an empty value: an absent header needs its own key.
        self.map(
            acrh,
            &format!("{v}_headers_ok"),
            &[
                ("default".into(), "0".into()),
                (q(""), "1".into()),
                (q(&list_re), "1".into()),
            ],
        );
        self.map(
            acrh,
            &format!("{v}_has_names"),
            &[
                ("default".into(), "0".into()),
                (q(&format!("~[{TCHAR}]")), "1".into()),
            ],
        );
        // 5. The state.
        self.map(
            &q(&format!(
                "${v}_is_pf${v}_allowed${v}_method_ok${v}_headers_ok${v}_has_origin"
            )),
            &format!("{v}_state"),
            &state_lines(),
        );
        // 6. Header values by state ("" = not sent).
        let state = format!("${v}_state");
        let acao = if c.any_origin() {
            q("*")
        } else {
            origin_hdr.to_string()
        };
        let mut acao_lines = vec![
            ("default".to_string(), q("")),
            ("allowed".into(), acao.clone()),
            ("pok".into(), acao),
        ];
        if static_any {
            acao_lines.push(("none".into(), q("*")));
        }
        self.map(&state, &format!("{v}_acao"), &acao_lines);
        if c.credentials() {
            self.map(
                &state,
                &format!("{v}_acac"),
                &[
                    ("default".into(), q("")),
                    ("allowed".into(), q("true")),
                    ("pok".into(), q("true")),
                ],
            );
        }
        if let Some(e) = c.expose_headers_value() {
            let e = self.value("access-control-expose-headers", e)?;
            let mut lines = vec![
                ("default".to_string(), q("")),
                ("allowed".into(), e.clone()),
            ];
            if static_any {
                lines.push(("none".into(), e));
            }
            self.map(&state, &format!("{v}_aceh"), &lines);
        }
        self.map(
            &state,
            &format!("{v}_acam"),
            &[("default".into(), q("")), ("pok".into(), acrm.to_string())],
        );
        let acah = if c.any_header() && c.credentials() {
            acrh.to_string()
        } else {
            match c.allow_headers_value() {
                Some(h) => self.value("access-control-allow-headers", h)?,
                None => q(""),
            }
        };
        self.map(
            &q(&format!("{state}:${v}_has_names")),
            &format!("{v}_acah"),
            &[("default".into(), q("")), (q("pok:1"), acah)],
        );
        if let Some(m) = c.max_age_value() {
            let m = self.value("access-control-max-age", m)?;
            self.map(
                &state,
                &format!("{v}_acma"),
                &[("default".into(), q("")), ("pok".into(), m)],
            );
        }
        // The location snippet for routes using this policy.
        let mut s = String::new();
        let _ = writeln!(s, "# cors policy `{}` ({location})", c.name());
        s.push_str(
            "# The upstream's own CORS headers are hidden, so they can never be duplicated.\n",
        );
        for h in OWNED {
            let _ = writeln!(s, "proxy_hide_header {h};");
        }
        s.push_str("# `always`: the headers are also sent on 4xx and 5xx responses.\n");
        let _ = writeln!(
            s,
            "add_header Access-Control-Allow-Origin ${v}_acao always;"
        );
        if c.credentials() {
            let _ = writeln!(
                s,
                "add_header Access-Control-Allow-Credentials ${v}_acac always;"
            );
        }
        if c.expose_headers_value().is_some() {
            let _ = writeln!(
                s,
                "add_header Access-Control-Expose-Headers ${v}_aceh always;"
            );
        }
        let _ = writeln!(
            s,
            "add_header Access-Control-Allow-Methods ${v}_acam always;"
        );
        let _ = writeln!(
            s,
            "add_header Access-Control-Allow-Headers ${v}_acah always;"
        );
        if c.max_age_value().is_some() {
            let _ = writeln!(s, "add_header Access-Control-Max-Age ${v}_acma always;");
        }
        if !static_any {
            s.push_str("add_header Vary Origin always;\n");
        }
        s.push_str("# Preflights are answered here and never reach the upstream. Only `return` inside `if`.\n");
        let _ = writeln!(s, "if (${v}_state = pok) {{ return 204; }}");
        let _ = writeln!(s, "if (${v}_state = prej) {{ return 403; }}");
        Ok((s, vars))
    }
}

impl Writer {
    /// The maps every csrf check shares (emitted once).
    fn csrf_shared(&mut self) {
        if !self.first_time("csrf-shared") {
            return;
        }
        let ns = self.ns.clone();
        let _ = writeln!(
            self.http,
            "\n# csrf: the request's method, Sec-Fetch-Site and Origin, classified"
        );
        self.map(
            "$request_method",
            &format!("{ns}_safe"),
            &[
                ("default".into(), "0".into()),
                (q("~^(?:GET|HEAD|OPTIONS)$"), "1".into()),
            ],
        );
        // Byte-exact, as the runtime compares them (string keys would ignore case).
        self.map(
            "$http_sec_fetch_site",
            &format!("{ns}_sfs"),
            &[
                ("default".into(), "x".into()),
                (q(""), "e".into()),
                (q("~^(?:same-origin|none)$"), "so".into()),
                (q("~^same-site$"), "ss".into()),
            ],
        );
        self.map(
            "$http_origin",
            &format!("{ns}_has_origin"),
            &[(q(""), "0".into()), ("default".into(), "1".into())],
        );
        // The origin's host[:port] equals Host, byte for byte.
        self.map(
            &q("$http_origin|$http_host"),
            &format!("{ns}_origin_is_host"),
            &[
                ("default".into(), "0".into()),
                (q("~^[^|]*?://([^/?#@|]+)\\|\\1$"), "1".into()),
            ],
        );
    }

    /// The csrf verdict of route `ri` as a reason code (empty: the request passes).
    fn csrf_route(
        &mut self,
        ri: usize,
        ci: u32,
        c: &guestlist::Csrf,
        r: &guestlist::Route,
        policy: &guestlist::Policy,
    ) -> Result<String, Unsupported> {
        self.csrf_shared();
        let ns = self.ns.clone();
        let v = format!("{ns}c{ci}");
        if self.first_time(&format!("csrf {ci}")) {
            let _ = writeln!(self.http, "\n# csrf policy `{}`", c.name());
            let trusted: Vec<&str> = c.trusted().keys().iter().map(|k| k.as_ref()).collect();
            if trusted.is_empty() {
                self.map(
                    "$http_origin",
                    &format!("{v}_trusted"),
                    &[("default".into(), "0".into())],
                );
            } else {
                self.exact_set(&format!("{v}_trusted"), &format!("{v}_thit"), &trusted)?;
            }
            let own: Vec<&str> = c.self_origins().keys().iter().map(|k| k.as_ref()).collect();
            if own.is_empty() {
                self.map(
                    &format!("${ns}_origin_is_host"),
                    &format!("{v}_own"),
                    &[("default".into(), "0".into()), ("1".into(), "1".into())],
                );
            } else {
                self.exact_set(&format!("{v}_own"), &format!("{v}_ohit"), &own)?;
            }
            // Exemptions: method (byte-exact) and path, only for a structurally normal path
            // (the path form is empty) whose bytes as sent match the pattern: a direct match.
            let mut lines = vec![("default".to_string(), "0".to_string())];
            for e in c.exempt() {
                check_value("exempt method", e.method())?;
                check_value("exempt pattern", e.pattern())?;
                let path = match e.pattern().strip_suffix('*') {
                    Some(prefix) => re(prefix),
                    None => format!("{}(?:[?#]|$)", re(e.pattern())),
                };
                lines.push((q(&format!("~^:{}:{path}", re(e.method()))), "1".into()));
            }
            self.map(
                &q(&format!("${ns}_form:$request_method:$request_uri")),
                &format!("{v}_exempt"),
                &lines,
            );
        }
        // Trusted on this route: listed, or allowed by the route's cors policy (never `*`).
        let rv = format!("{ns}r{ri}");
        if !self.first_time(&format!("csrf route {ri}")) {
            return Ok(format!("${rv}_csrf"));
        }
        let cors_var = r
            .cors()
            .and_then(|i| policy.cors_policies().get(i as usize).map(|c| (i, c)))
            .filter(|(_, c)| !c.any_origin())
            .map(|(i, _)| format!("${}_allowed", var_name(&ns, i as usize)));
        let trusted = match cors_var {
            Some(cv) => {
                self.map(
                    &q(&format!("${v}_trusted{cv}")),
                    &format!("{rv}_trusted"),
                    &[(q("00"), "0".into()), ("default".into(), "1".into())],
                );
                format!("${rv}_trusted")
            }
            None => format!("${v}_trusted"),
        };
        let key = q(&format!(
            "${ns}_safe${v}_exempt{trusted}${v}_own:${ns}_sfs:${ns}_has_origin"
        ));
        let mut lines: Vec<(String, String)> = vec![
            ("default".into(), q("")),
            (q("~^1"), q("")),
            (q("~^0...:so:"), q("")),
        ];
        if c.allow_same_site() {
            lines.push((q("~^0...:ss:"), q("")));
        }
        lines.extend([
            (q("~^01..:(?:x|ss):"), q("")),
            (q("~^001.:(?:x|ss):1$"), q("")),
            (q("~^0...:(?:x|ss):"), q("csrf-cross-site")),
        ]);
        if c.reject_missing() {
            lines.push((q("~^01..:e:0$"), q("")));
            lines.push((q("~^0...:e:0$"), q("csrf-missing-headers")));
        } else {
            lines.push((q("~^0...:e:0$"), q("")));
        }
        lines.extend([
            (q("~^0..1:e:1$"), q("")),
            (q("~^01..:e:1$"), q("")),
            (q("~^0.1.:e:1$"), q("")),
            (q("~^0...:e:1$"), q("csrf-origin-mismatch")),
        ]);
        let _ = writeln!(
            self.http,
            "\n# route \"{}\": csrf policy `{}`",
            r.pattern(),
            c.name()
        );
        self.map(&key, &format!("{rv}_csrf"), &lines);
        Ok(format!("${rv}_csrf"))
    }

    /// The websocket verdict of policy `wi` as a reason code (empty: the request passes).
    fn websocket(&mut self, wi: u32, w: &guestlist::WebSocket) -> Result<String, Unsupported> {
        self.csrf_shared();
        let ns = self.ns.clone();
        let v = format!("{ns}w{wi}");
        if !self.first_time(&format!("websocket {wi}")) {
            return Ok(format!("${v}_ws"));
        }
        let _ = writeln!(self.http, "\n# websocket policy `{}`", w.name());
        self.origin_match(&v, false, w.origins(), w.patterns())?;
        // An opening handshake: GET with `websocket` among the Upgrade tokens.
        self.map(
            &q("$request_method:$http_upgrade"),
            &format!("{v}_up"),
            &[
                ("default".into(), "0".into()),
                (
                    q("~^GET:(?:.*,)?[ \\t]*(?i:websocket)[ \\t]*(?:,|$)"),
                    "1".into(),
                ),
            ],
        );
        let same = if w.same_origin() {
            format!("${ns}_origin_is_host")
        } else {
            "0".into()
        };
        let missing = if w.allow_missing() {
            q("")
        } else {
            q("websocket-missing-origin")
        };
        self.map(
            &q(&format!("${v}_up:${ns}_has_origin:${v}_allowed:{same}")),
            &format!("{v}_ws"),
            &[
                ("default".into(), q("websocket-origin-not-allowed")),
                (q("~^0:"), q("")),
                (q("~^1:0:"), missing),
                (q("~^1:1:1:"), q("")),
                (q("~^1:1:.:1$"), q("")),
            ],
        );
        Ok(format!("${v}_ws"))
    }

    /// The WebSocket and CSRF refusal variables of one route (its reading's checks).
    fn route_reasons(
        &mut self,
        ri: usize,
        r: &guestlist::Route,
        policy: &guestlist::Policy,
    ) -> Result<Vec<String>, Unsupported> {
        let g = r.guards();
        let mut reasons = Vec::new();
        if let Some(wi) = g.websocket {
            if let Some(w) = policy.websocket_policies().get(wi as usize) {
                reasons.push(self.websocket(wi, w)?);
            }
        }
        if let Some(ci) = g.csrf {
            if let Some(c) = policy.csrf_policies().get(ci as usize) {
                reasons.push(self.csrf_route(ri, ci, c, r, policy)?);
            }
        }
        Ok(reasons)
    }

    /// The route snippet's guard part: CSRF and WebSocket refusals, then the security headers
    /// and CSP (static values, `always`, the upstream's own copies hidden).
    fn route_guards(
        &mut self,
        ri: usize,
        r: &guestlist::Route,
        policy: &guestlist::Policy,
    ) -> Result<String, Unsupported> {
        let g = r.guards();
        let mut s = String::new();
        let reasons = self.route_reasons(ri, r, policy)?;
        s.push_str(&token_note(policy, g));
        let rv = format!("{}r{ri}_reason", self.ns);
        s.push_str(&self.refusals(&rv, &reasons));
        s.push_str(&self.guard_headers(policy, g, r.pattern())?);
        Ok(s)
    }

    /// `add_header Guestlist-Reason` and the 403 for the first non-empty of `reasons` (the
    /// refusal variables of the checks, in the runtime's order), mapped into `$<rv>`.
    fn refusals(&mut self, rv: &str, reasons: &[String]) -> String {
        let mut s = String::new();
        // At most one is non-empty on one route (a WebSocket handshake is a GET, which csrf
        // never refuses).
        let reason = self.first_reason(rv, reasons);
        if reason == q("") {
            return s;
        }
        s.push_str("# CSRF and WebSocket refusals: 403 with the reason, before the upstream.\n");
        let _ = writeln!(s, "add_header Guestlist-Reason {reason} always;");
        let _ = writeln!(s, "if ({reason}) {{ return 403; }}");
        s
    }

    /// The security headers and CSP of a route (or, for a path with two readings, of both
    /// routes: [`guestlist::Policy::for_each_guard_header`]), as `(name, value)` texts; a
    /// nonce CSP is refused (nginx cannot make a nonce safely).
    fn guard_list(
        &mut self,
        policy: &guestlist::Policy,
        g: guestlist::Guards,
        normalised: Option<guestlist::Guards>,
        pattern: &str,
    ) -> Result<Vec<(String, String)>, Unsupported> {
        let mut list = Vec::new();
        policy.for_each_guard_header(g, normalised, |h| list.push(h));
        let mut headers: Vec<(String, String)> = Vec::new();
        for h in list {
            let value = match h.value {
                guestlist::GuardValue::Fixed(v) => {
                    header_text(h.name.as_str(), v.as_bytes())?.to_string()
                }
                guestlist::GuardValue::Csp(c) if c.has_nonce() => {
                    return Err(Unsupported(format!(
                        "csp policy `{}` on route \"{pattern}\" has a per-response nonce: nginx cannot make one safely (rewriting script tags would nonce injected scripts too); serve this route through the Rust runtime (guestlist::Layer), or emit a profile whose csp has no 'nonce'",
                        c.name(),
                    )));
                }
                guestlist::GuardValue::Csp(c) => csp_text(c)?,
            };
            headers.push((h.name.as_str().to_string(), value));
        }
        Ok(headers)
    }

    /// A route's security headers and CSP as `proxy_hide_header` and `add_header` lines.
    fn guard_headers(
        &mut self,
        policy: &guestlist::Policy,
        g: guestlist::Guards,
        pattern: &str,
    ) -> Result<String, Unsupported> {
        let mut s = String::new();
        let hide: Vec<String> = g
            .headers
            .and_then(|i| policy.header_sets().get(i as usize))
            .map(|h| h.remove().iter().map(|n| n.as_str().to_string()).collect())
            .unwrap_or_default();
        let headers = self.guard_list(policy, g, None, pattern)?;
        if !headers.is_empty() || !hide.is_empty() {
            s.push_str(
                "# Security headers: the upstream's own copies are hidden, ours are sent `always`.\n",
            );
            if hide.iter().any(|n| n == "server") {
                s.push_str("# `remove server` hides the upstream's Server header; nginx still sends its own\n# (`server_tokens off;` hides its version).\n");
            }
            let mut hidden = std::collections::BTreeSet::new();
            for n in hide.iter().chain(headers.iter().map(|(n, _)| n)) {
                check_value("header name", n)?;
                if hidden.insert(n.clone()) {
                    let _ = writeln!(s, "proxy_hide_header {n};");
                }
            }
            for (n, v) in &headers {
                let _ = writeln!(s, "add_header {n} {} always;", self.value(n, v)?);
            }
        }
        Ok(s)
    }
}

/// The policies a route applies, as one id: routes with the same cors policy and guards share
/// one, and `0` is "no policy" (no route, or a route with none). Two readings of a path only
/// differ when their routes' ids do.
struct PolicyIds {
    /// Each id's (cors, guards); id 0 is no policy.
    tuples: Vec<(Option<u32>, guestlist::Guards)>,
    /// Each route's id.
    of_route: Vec<usize>,
}

impl PolicyIds {
    fn new(policy: &guestlist::Policy) -> PolicyIds {
        let mut tuples: Vec<(Option<u32>, guestlist::Guards)> =
            vec![(None, guestlist::Guards::NONE)];
        let mut of_route = Vec::new();
        for r in policy.routes() {
            let t = (r.cors(), r.guards());
            let id = match tuples.iter().position(|x| *x == t) {
                Some(i) => i,
                None => {
                    tuples.push(t);
                    tuples.len() - 1
                }
            };
            of_route.push(id);
        }
        PolicyIds { tuples, of_route }
    }

    /// The first route with policy id `id` (its maps stand for every route with the id).
    fn route<'p>(
        &self,
        policy: &'p guestlist::Policy,
        id: usize,
    ) -> Option<(usize, &'p guestlist::Route)> {
        self.of_route
            .iter()
            .position(|&x| x == id)
            .and_then(|i| policy.routes().get(i).map(|r| (i, r)))
    }

    /// The ids a path whose normalised reading selects route `ri` can have as its as-sent
    /// reading's, besides the route's own. With `non-normal reject` a path with two readings
    /// has no dot segment, so its normalised reading starts with its as-sent reading's route
    /// prefix: the as-sent route is a prefix route whose literal prefix the route's pattern
    /// starts with, or no route (when the policy has no `/*`). With `two-readings`, any.
    fn partners(&self, policy: &guestlist::Policy, ri: usize) -> Vec<usize> {
        let Some((own, r)) = self.of_route.get(ri).zip(policy.routes().get(ri)) else {
            return Vec::new();
        };
        let mut out = std::collections::BTreeSet::new();
        if policy.non_normal_paths() == guestlist::NonNormalPaths::TwoReadings {
            out.extend(0..self.tuples.len());
        } else {
            if !policy.routes().iter().any(|x| x.pattern() == "/*") {
                out.insert(0);
            }
            let literal = r.pattern().strip_suffix('*').unwrap_or(r.pattern());
            for (x, id) in policy.routes().iter().zip(&self.of_route) {
                if let Some(prefix) = x.pattern().strip_suffix('*') {
                    if literal.starts_with(prefix) {
                        out.insert(*id);
                    }
                }
            }
        }
        out.remove(own);
        out.into_iter().collect()
    }
}

/// The CORS answer's variables (`""`: the header is not sent): one policy's, or two
/// readings'.
#[derive(Clone, Default)]
struct CorsVars {
    state: String,
    acao: String,
    acac: String,
    aceh: String,
    acam: String,
    acah: String,
    acma: String,
    vary: bool,
}

impl Writer {
    /// The path rules at the server level (spec/language.md, "Path forms"): the raw path's
    /// form (`$request_uri`, cut at `?`), the as-sent reading's policy id (the route patterns
    /// as regexes over the raw path), and the 400 for a path with dot segments or a
    /// backslash (unless `non-normal two-readings`), which jumps to a named location that
    /// answers by itself. Everything else is decided in the route locations, where the
    /// as-sent reading's id picks the answer (nothing is served from a named location, so
    /// your own locations keep applying). nginx itself answers 400 to a path it cannot read
    /// (an invalid escape, `%00`, `..` above the root).
    fn paths(
        &mut self,
        policy: &guestlist::Policy,
        ids: &PolicyIds,
        server: &mut String,
    ) -> Result<(), Unsupported> {
        let ns = self.ns.clone();
        let two_readings = policy.non_normal_paths() == guestlist::NonNormalPaths::TwoReadings;
        let _ = writeln!(
            self.http,
            "\n# Path forms (spec/language.md): the raw path's form"
        );
        let mut form = vec![("default".to_string(), q(""))];
        if !two_readings {
            form.push((
                q("~^[^?#]*(?:/|%2[fF])(?:\\.|%2[eE]){1,2}(?:/|%2[fF]|[?#]|$)"),
                "dots".into(),
            ));
            // A backslash is written `\x5c`: nginx unescapes `\\` in quoted strings.
            form.push((q("~^[^?#]*(?:\\x5c|%5[cC])"), "dots".into()));
        }
        form.push((
            q("~^[^?#]*(?://|%2[eEfF]|%5[cC]|\\x5c|/\\.\\.?(?:/|[?#]|$))"),
            "two".into(),
        ));
        self.map("$request_uri", &format!("{ns}_form"), &form);
        // Routes in the runtime's order of precedence: exact routes, then prefixes, longest
        // first.
        let mut order: Vec<usize> = (0..policy.routes().len()).collect();
        order.sort_by_key(|&i| {
            let r = policy.routes().get(i);
            (
                r.is_some_and(|r| r.is_prefix()),
                std::cmp::Reverse(r.map_or(0, |r| r.pattern().len())),
                i,
            )
        });
        let mut sent = vec![("default".to_string(), "0".to_string())];
        for &i in &order {
            let (Some(r), Some(&t)) = (policy.routes().get(i), ids.of_route.get(i)) else {
                continue;
            };
            check_value("route pattern", r.pattern())?;
            let raw = match r.pattern().strip_suffix('*') {
                Some(prefix) => format!("^{}", as_sent_re(prefix)),
                None => format!("^{}(?:[?#]|$)", as_sent_re(r.pattern())),
            };
            let _ = writeln!(self.http, "# route \"{}\"", r.pattern());
            sent.push((q(&format!("~{raw}")), t.to_string()));
        }
        let _ = writeln!(
            self.http,
            "# The policies of the route the as-sent reading selects (every escape but %2E, %2F and\n# %5C decoded, nothing merged or resolved), read on the raw path."
        );
        self.map("$request_uri", &format!("{ns}_sent"), &sent);
        if two_readings {
            return Ok(());
        }
        self.map(
            &format!("${ns}_form"),
            &format!("{ns}_path"),
            &[
                ("default".to_string(), q("")),
                (q("dots"), q(&format!("@{ns}_not_normal"))),
            ],
        );
        let _ = writeln!(
            server,
            "\n# Path forms (spec/language.md): nginx answers 400 to a path it cannot read (an invalid\n\
             # escape, %00, `..` above the root). A path with a `.` or `..` segment or a backslash, once\n\
             # decoded, gets 400 and `Guestlist-Reason: path-not-normal`, in a named location that\n\
             # answers by itself (418 is only the internal jump). Every other path is decided in the\n\
             # route locations below.\n\
             error_page 418 = ${ns}_path;\n\
             if (${ns}_path) {{ return 418; }}\n\
             location @{ns}_not_normal {{\n    add_header Guestlist-Reason path-not-normal always;\n    return 400;\n}}"
        );
        Ok(())
    }

    /// A map from the route's key (`$<ns>r<ri>_s`: the as-sent reading's policy id, or empty
    /// for a structurally normal path) to `default`, or to a partner's value; the variable, or
    /// the value itself when no partner's differs.
    fn by_reading(
        &mut self,
        key: &str,
        target: &str,
        default: &str,
        cases: &[(usize, String)],
    ) -> String {
        if cases.iter().all(|(_, v)| v == default) {
            return default.to_string();
        }
        let mut lines = vec![("default".to_string(), default.to_string())];
        for (id, v) in cases {
            if v != default {
                lines.push((q(&id.to_string()), v.clone()));
            }
        }
        self.map(key, target, &lines);
        format!("${target}")
    }

    /// The route snippet of route `ri` when its paths can have an as-sent reading with other
    /// policies (`partners`): every header the route sets is a variable chosen by the as-sent
    /// reading's policy id, the route's own answer for a structurally normal path and the two
    /// readings' answer (the runtime's `decide_two`) otherwise; the upstream's own copies of
    /// every such header are hidden, and passed on where the answer leaves them alone.
    fn route_with_readings(
        &mut self,
        ri: usize,
        policy: &guestlist::Policy,
        ids: &PolicyIds,
        partners: &[usize],
        single: &[Option<CorsVars>],
    ) -> Result<String, Unsupported> {
        let ns = self.ns.clone();
        let Some(r) = policy.routes().get(ri) else {
            return Ok(String::new());
        };
        let key = format!("${ns}r{ri}_s");
        self.map(
            &format!("${ns}_form"),
            &format!("{ns}r{ri}_s"),
            &[
                ("default".to_string(), q("")),
                (q("two"), format!("${ns}_sent")),
            ],
        );
        let table = |c: Option<u32>| {
            c.and_then(|i| {
                policy
                    .cors_policies()
                    .get(i as usize)
                    .map(|t| (i as usize, t))
            })
        };
        let own_cors = r.cors();
        let own = own_cors.and_then(|c| single.get(c as usize).cloned().flatten());
        // Each partner's CORS answer (None: neither reading has a cors policy).
        let mut answers: Vec<(usize, Option<CorsVars>)> = Vec::new();
        for &p in partners {
            let (pc, _) = ids
                .tuples
                .get(p)
                .copied()
                .unwrap_or((None, guestlist::Guards::NONE));
            let a = if pc == own_cors {
                own.clone()
            } else {
                Some(self.cors_pair(table(pc), table(own_cors))?)
            };
            answers.push((p, a));
        }
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# A path of this route that is not structurally normal may read, as sent, as another\n# route with other policies: each header below is chosen by that reading's policy id\n# (`${ns}r{ri}_s`), so that the answer is no looser than either reading's."
        );
        let any_cors = own.is_some() || answers.iter().any(|(_, a)| a.is_some());
        if any_cors {
            s.push_str("# The upstream's own CORS headers are hidden; where no policy governs the answer they\n# are passed on.\n");
            for h in OWNED {
                let _ = writeln!(s, "proxy_hide_header {h};");
            }
            type Field = fn(&CorsVars) -> &String;
            let fields: [(&str, Field); 6] = [
                ("Access-Control-Allow-Origin", |c| &c.acao),
                ("Access-Control-Allow-Credentials", |c| &c.acac),
                ("Access-Control-Expose-Headers", |c| &c.aceh),
                ("Access-Control-Allow-Methods", |c| &c.acam),
                ("Access-Control-Allow-Headers", |c| &c.acah),
                ("Access-Control-Max-Age", |c| &c.acma),
            ];
            for (name, field) in fields {
                let pass = upstream_var(name);
                let value = |a: &Option<CorsVars>| match a {
                    Some(c) if field(c).is_empty() => q(""),
                    Some(c) => field(c).clone(),
                    None => pass.clone(),
                };
                let default = value(&own);
                let cases: Vec<(usize, String)> =
                    answers.iter().map(|(p, a)| (*p, value(a))).collect();
                let v = self.by_reading(
                    &key,
                    &format!("{ns}r{ri}_{}", short(name)),
                    &default,
                    &cases,
                );
                if v != q("") {
                    let _ = writeln!(s, "add_header {name} {v} always;");
                }
            }
            let vary = |a: &Option<CorsVars>| {
                if a.as_ref().is_some_and(|c| c.vary) {
                    q("Origin")
                } else {
                    q("")
                }
            };
            let default = vary(&own);
            let cases: Vec<(usize, String)> = answers.iter().map(|(p, a)| (*p, vary(a))).collect();
            let v = self.by_reading(&key, &format!("{ns}r{ri}_vary"), &default, &cases);
            if v != q("") {
                let _ = writeln!(s, "add_header Vary {v} always;");
            }
            let state = |a: &Option<CorsVars>| a.as_ref().map_or(q(""), |c| c.state.clone());
            let default = state(&own);
            let cases: Vec<(usize, String)> = answers.iter().map(|(p, a)| (*p, state(a))).collect();
            let v = self.by_reading(&key, &format!("{ns}r{ri}_state"), &default, &cases);
            s.push_str("# Preflights are answered here and never reach the upstream. Only `return` inside `if`.\n");
            let _ = writeln!(s, "if ({v} = pok) {{ return 204; }}");
            let _ = writeln!(s, "if ({v} = prej) {{ return 403; }}");
        } else {
            s.push_str("# Neither reading's route has a cors policy: no CORS headers are added.\n");
        }
        // CSRF and WebSocket refusals: each reading's checks, the as-sent reading's first.
        s.push_str(&token_note(policy, r.guards()));
        let own_reasons = self.route_reasons(ri, r, policy)?;
        let own_reason = self.first_reason(&format!("{ns}r{ri}_reason"), &own_reasons);
        let mut cases = Vec::new();
        for &p in partners {
            let mut reasons = match ids.route(policy, p) {
                Some((pi, pr)) => self.route_reasons(pi, pr, policy)?,
                None => Vec::new(),
            };
            reasons.extend(own_reasons.iter().cloned());
            cases.push((
                p,
                self.first_reason(&format!("{ns}r{ri}_p{p}_reason"), &reasons),
            ));
        }
        let reason = self.by_reading(&key, &format!("{ns}r{ri}_why"), &own_reason, &cases);
        if reason != q("") {
            s.push_str(
                "# CSRF and WebSocket refusals: 403 with the reason, before the upstream.\n",
            );
            let _ = writeln!(s, "add_header Guestlist-Reason {reason} always;");
            let _ = writeln!(s, "if ({reason}) {{ return 403; }}");
        }
        // Security headers and CSPs: the list the runtime writes for each answer
        // (`for_each_guard_header`), as slots of a name and its occurrence.
        let g = r.guards();
        let guards_of = |p: usize| ids.tuples.get(p).map_or(guestlist::Guards::NONE, |t| t.1);
        // Per answer (None: the route's own): the headers it sets and the names it removes.
        type Answer = (Option<usize>, Vec<(String, String)>, Vec<String>);
        let mut lists: Vec<Answer> = Vec::new();
        let removed = |gs: guestlist::Guards| -> Vec<String> {
            gs.headers
                .and_then(|i| policy.header_sets().get(i as usize))
                .map(|h| h.remove().iter().map(|n| n.as_str().to_string()).collect())
                .unwrap_or_default()
        };
        lists.push((
            None,
            self.guard_list(policy, g, None, r.pattern())?,
            removed(g),
        ));
        for &p in partners {
            let gs = guards_of(p);
            lists.push((
                Some(p),
                self.guard_list(policy, gs, Some(g), r.pattern())?,
                removed(gs),
            ));
        }
        let mut slots: Vec<(String, usize)> = Vec::new();
        let mut hide = std::collections::BTreeSet::new();
        for (_, list, rm) in &lists {
            let mut seen: Vec<&str> = Vec::new();
            for (n, _) in list {
                let k = seen.iter().filter(|x| **x == n.as_str()).count();
                seen.push(n);
                if !slots.contains(&(n.clone(), k)) {
                    slots.push((n.clone(), k));
                }
                hide.insert(n.clone());
            }
            hide.extend(rm.iter().cloned());
        }
        if !slots.is_empty() || !hide.is_empty() {
            s.push_str("# Security headers and CSPs: the upstream's own copies are hidden (passed on where the\n# answer neither sets nor removes them), ours are sent `always`.\n");
            if hide.iter().any(|n| n == "server") {
                s.push_str("# `remove server` hides the upstream's Server header; nginx still sends its own\n# (`server_tokens off;` hides its version).\n");
            }
            for n in &hide {
                check_value("header name", n)?;
                let _ = writeln!(s, "proxy_hide_header {n};");
            }
            // Names removed and never set are hidden only where an answer removes them.
            for n in hide.iter().filter(|n| !slots.iter().any(|(x, _)| x == *n)) {
                let value = |rm: &Vec<String>| {
                    if rm.contains(n) {
                        q("")
                    } else {
                        upstream_var(n)
                    }
                };
                let default = lists.first().map_or(q(""), |l| value(&l.2));
                let cases: Vec<(usize, String)> = lists
                    .iter()
                    .filter_map(|(p, _, rm)| p.map(|p| (p, value(rm))))
                    .collect();
                let v = self.by_reading(
                    &key,
                    &format!("{ns}r{ri}_h_{}", n.replace('-', "_")),
                    &default,
                    &cases,
                );
                if v != q("") {
                    let _ = writeln!(s, "add_header {n} {v} always;");
                }
            }
            for (i, (n, k)) in slots.iter().enumerate() {
                let mut values = Vec::new();
                for (p, list, rm) in &lists {
                    let v = match list.iter().filter(|(x, _)| x == n).nth(*k) {
                        Some((_, v)) => self.value(n, v)?,
                        None if *k == 0 && !rm.contains(n) => upstream_var(n),
                        None => q(""),
                    };
                    values.push((*p, v));
                }
                let default = values.first().map_or(q(""), |x| x.1.clone());
                let cases: Vec<(usize, String)> = values
                    .iter()
                    .filter_map(|(p, v)| p.map(|p| (p, v.clone())))
                    .collect();
                let v = self.by_reading(&key, &format!("{ns}r{ri}_g{i}"), &default, &cases);
                if v != q("") {
                    let _ = writeln!(s, "add_header {n} {v} always;");
                }
            }
        }
        Ok(s)
    }

    /// `$<target>`: the first non-empty of the refusal variables `reasons` (`""` without any).
    fn first_reason(&mut self, target: &str, reasons: &[String]) -> String {
        match reasons {
            [] => q(""),
            [one] => one.clone(),
            _ => {
                self.map(
                    &q(&reasons.join("|")),
                    target,
                    &[
                        ("default".into(), q("")),
                        (q("~^\\|*(?<r>[^|]+)"), "$r".into()),
                    ],
                );
                format!("${target}")
            }
        }
    }

    /// CORS for two readings with different cors policies (one may have none): allowed only
    /// where both allow, with the stricter settings of the two (the runtime's
    /// `decide_cors_two`). Each policy's own maps are already written; the pair's are written
    /// once.
    fn cors_pair(
        &mut self,
        s: Option<(usize, &Cors)>,
        n: Option<(usize, &Cors)>,
    ) -> Result<CorsVars, Unsupported> {
        let ns = self.ns.clone();
        let ((Some(first), _) | (None, Some(first))) = (s, n) else {
            return Ok(CorsVars::default());
        };
        let id = |x: Option<(usize, &Cors)>| x.map_or("n".to_string(), |(i, _)| i.to_string());
        let v = format!("{ns}x{}_{}", id(s), id(n));
        let var = |x: (usize, &Cors)| var_name(&ns, x.0);
        let both = match (s, n) {
            (Some((_, a)), Some((_, b))) => Some((a, b)),
            _ => None,
        };
        let static_any = both.is_some_and(|(a, b)| a.is_static_any() && b.is_static_any());
        let st = format!("${v}_state");
        let mut out = CorsVars {
            state: st.clone(),
            vary: [s, n]
                .into_iter()
                .flatten()
                .any(|(_, c)| !c.is_static_any()),
            ..CorsVars::default()
        };
        let fresh = self.first_time(&format!("cors pair {v}"));
        if fresh {
            let lines: Vec<(String, String)>;
            let state = match (s, n) {
                (Some(a), Some(b)) => {
                    lines = vec![
                        ("default".into(), "denied".into()),
                        (q("pok:pok"), "pok".into()),
                        (q("allowed:allowed"), "allowed".into()),
                        (q("none:none"), "none".into()),
                        (q("~prej"), "prej".into()),
                    ];
                    format!("${}_state:${}_state", var(a), var(b))
                }
                _ => {
                    // One reading has no cors policy: it allows nothing.
                    lines = vec![
                        ("default".into(), format!("${}_state", var(first))),
                        ("pok".into(), "prej".into()),
                        ("allowed".into(), "denied".into()),
                    ];
                    format!("${}_state", var(first))
                }
            };
            let _ = writeln!(
                self.http,
                "\n# two readings: cors policy {} (as sent) and {} (normalised)",
                s.map_or("none".to_string(), |(_, c)| format!("`{}`", c.name())),
                n.map_or("none".to_string(), |(_, c)| format!("`{}`", c.name()))
            );
            self.map(&q(&state), &format!("{v}_state"), &lines);
        }
        let Some((a, b)) = both else {
            return Ok(out);
        };
        let acao = if a.any_origin() && b.any_origin() {
            q("*")
        } else {
            "$http_origin".to_string()
        };
        let mut acao_lines = vec![
            ("default".to_string(), q("")),
            ("allowed".into(), acao.clone()),
            ("pok".into(), acao),
        ];
        if static_any {
            acao_lines.push(("none".into(), q("*")));
        }
        if fresh {
            self.map(&st, &format!("{v}_acao"), &acao_lines);
        }
        out.acao = format!("${v}_acao");
        if a.credentials() && b.credentials() {
            if fresh {
                self.map(
                    &st,
                    &format!("{v}_acac"),
                    &[
                        ("default".into(), q("")),
                        ("allowed".into(), q("true")),
                        ("pok".into(), q("true")),
                    ],
                );
            }
            out.acac = format!("${v}_acac");
        }
        if let Some(e) = a.stricter_expose(b) {
            let e = self.value("access-control-expose-headers", &text_of(e)?)?;
            let mut l = vec![
                ("default".to_string(), q("")),
                ("allowed".into(), e.clone()),
            ];
            if static_any {
                l.push(("none".into(), e));
            }
            if fresh {
                self.map(&st, &format!("{v}_aceh"), &l);
            }
            out.aceh = format!("${v}_aceh");
        }
        if fresh {
            self.map(
                &st,
                &format!("{v}_acam"),
                &[
                    ("default".into(), q("")),
                    ("pok".into(), "$http_access_control_request_method".into()),
                ],
            );
            self.map(
                &q(&format!("{st}:${}_has_names", var(first))),
                &format!("{v}_acah"),
                &[
                    ("default".into(), q("")),
                    (q("pok:1"), "$http_access_control_request_headers".into()),
                ],
            );
        }
        out.acam = format!("${v}_acam");
        out.acah = format!("${v}_acah");
        if let Some(m) = a.stricter_max_age(b) {
            let m = self.value("access-control-max-age", &text_of(m)?)?;
            if fresh {
                self.map(
                    &st,
                    &format!("{v}_acma"),
                    &[("default".into(), q("")), ("pok".into(), m)],
                );
            }
            out.acma = format!("${v}_acma");
        }
        Ok(out)
    }
}

/// The comment on a route whose csrf policy signs tokens, which nginx cannot verify.
fn token_note(policy: &guestlist::Policy, g: guestlist::Guards) -> String {
    match policy.csrf_token_policy(g) {
        Some(t) => format!(
            "# This route's csrf policy signs tokens (header {}, cookie {}): nginx cannot verify an\n# HMAC, so the token is checked by the application's guestlist layer behind this proxy\n# (requests pass through to it); nginx still runs the Origin / Sec-Fetch-Site check.\n",
            t.header(),
            t.cookie()
        ),
        None => String::new(),
    }
}

/// A table's header value as text (the runtime's values are visible ASCII).
fn text_of(v: &http::HeaderValue) -> Result<String, Unsupported> {
    v.to_str()
        .map(str::to_string)
        .map_err(|_| Unsupported("a header value that is not visible ASCII".to_string()))
}

/// `$upstream_http_<name>`: the upstream's own value of a header (its first line), passed on
/// where the answer leaves the header alone.
fn upstream_var(name: &str) -> String {
    format!(
        "$upstream_http_{}",
        name.to_ascii_lowercase().replace('-', "_")
    )
}

/// A short variable suffix for an `Access-Control-*` header.
fn short(name: &str) -> &'static str {
    match name {
        "Access-Control-Allow-Origin" => "acao",
        "Access-Control-Allow-Credentials" => "acac",
        "Access-Control-Expose-Headers" => "aceh",
        "Access-Control-Allow-Methods" => "acam",
        "Access-Control-Allow-Headers" => "acah",
        _ => "acma",
    }
}

/// A route pattern as a regex over the raw path (the as-sent reading): each byte matches
/// itself or its escape (hex digits in either case), except `/` and `.`, which the as-sent
/// reading never decodes from `%2F` and `%2E`.
fn as_sent_re(p: &str) -> String {
    let mut out = String::new();
    for b in p.bytes() {
        match b {
            b'/' => out.push('/'),
            b'.' => out.push_str("\\."),
            _ => {
                let lit = re(&char::from(b).to_string());
                let hi = b >> 4;
                let lo = b & 0xf;
                let hex = |d: u8| {
                    let c = char::from_digit(u32::from(d), 16).unwrap_or('0');
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        c.to_string()
                    }
                };
                let _ = write!(out, "(?:{lit}|%{}{})", hex(hi), hex(lo));
            }
        }
    }
    out
}

/// Errors for exporting `lowered` to nginx: GL1010 at each `allow-methods` method holding a
/// byte other than `A`-`Z`, `_` and `-`, which nginx answers with 400 before any
/// configuration runs (so the policy would allow a method its edge never serves); GL1011 for
/// `paths { non-normal two-readings }` without a `/*` route (a path whose normalised reading
/// matches no route reaches a location of yours, where the emitted configuration cannot apply
/// its as-sent reading's policies).
pub fn errors(compilation: &Compilation, lowered: &Lowered) -> Vec<crate::diag::Diagnostic> {
    let program = &compilation.program;
    let mut out = Vec::new();
    let policy = &lowered.policy;
    if policy.non_normal_paths() == guestlist::NonNormalPaths::TwoReadings
        && !policy.routes().is_empty()
        && !policy.routes().iter().any(|r| r.pattern() == "/*")
    {
        if let Some(p) = &program.paths {
            out.push(
                crate::diag::Diagnostic::new(
                    "GL1011",
                    p.line.unwrap_or(p.span),
                    "nginx cannot apply both readings of a path that reaches none of the policy's routes",
                )
                .label("with `two-readings`, a path whose dot segments lead outside every route reaches one of your own locations")
                .help("add `route \"/*\" { }` so that every path reaches a generated location, or keep `paths { non-normal reject }` (the default) for nginx"),
            );
        }
    }
    for c in lowered.policy.cors_policies() {
        let Some(decl) = program.cors.iter().find(|d| d.name == c.name()) else {
            continue;
        };
        for e in decl
            .methods
            .iter()
            .filter(|e| crate::ir::active(&e.when, &lowered.profile))
        {
            let crate::ir::ListValue::Name(m) = &e.value else {
                continue;
            };
            if m.bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-')
            {
                continue;
            }
            out.push(
                crate::diag::Diagnostic::new(
                    "GL1010",
                    e.span,
                    format!("nginx answers 400 to the method `{m}`"),
                )
                .label("nginx refuses a method with any byte but A-Z, `_` and `-` before any configuration runs")
                .help(
                    if m.to_ascii_uppercase().bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-') {
                        format!("write `{}` if that is what pages send, or serve this route through the Rust runtime (guestlist::Layer)", m.to_ascii_uppercase())
                    } else {
                        "remove it, or serve this route through the Rust runtime (guestlist::Layer) instead of nginx".to_string()
                    },
                ),
            );
        }
    }
    out
}

/// Warnings for exporting `lowered` to nginx: GL0960 on every token route (nginx passes them
/// through; the token is verified by the application).
pub fn warnings(compilation: &Compilation, lowered: &Lowered) -> Vec<crate::diag::Diagnostic> {
    let program = &compilation.program;
    let mut out = Vec::new();
    for c in lowered.policy.csrf_policies() {
        if c.token().is_none() {
            continue;
        }
        let Some(decl) = program.csrf.iter().find(|d| d.name == c.name()) else {
            continue;
        };
        let span = decl
            .token
            .iter()
            .find(|e| crate::ir::active(&e.when, &lowered.profile))
            .map_or(decl.head_span, |e| e.line);
        out.push(
            crate::diag::Diagnostic::new("GL0960", span, format!("csrf policy `{}` signs tokens, which nginx cannot verify", c.name()))
                .label("nginx passes these routes through without checking the token")
                .help("keep guestlist::Layer (with Layer::csrf_secret) in the application behind nginx: it verifies the token"),
        );
    }
    out
}

const TRAP: &str = "\
# THE add_header TRAP: nginx drops every add_header inherited from the server or http level
# in a location that has add_header lines of its own, and this snippet has some. Repeat the
# server-level add_header lines (security headers) inside the location, or move them into a
# file you include in every location. add_header lines written next to this include, in the
# same location, are kept.";

/// Emits the nginx files for `lowered`, a profile of `compilation`. [`errors`] says first
/// whether nginx can carry the policy; [`write()`] writes the files.
pub fn emit(
    compilation: &Compilation,
    lowered: &Lowered,
    opts: &Options,
) -> Result<Vec<File>, Unsupported> {
    let (sources, program) = (&compilation.sources, &compilation.program);
    let policy = &lowered.policy;
    let ns = namespace(lowered);
    let mut w = Writer {
        http: String::new(),
        ns: ns.clone(),
        dollar: false,
        emitted: std::collections::BTreeSet::new(),
    };
    let root = opts.include_root.trim_end_matches('/');
    check_value("include root", root)?;
    let header = |what: &str| {
        format!(
            "# DO NOT EDIT, generated by `{}`.\n# guestlist {} for profile `{}`; variables are namespaced `${ns}p<N>_`.\n{what}",
            opts.generated_by,
            env!("CARGO_PKG_VERSION"),
            lowered.profile
        )
    };
    // Per-policy maps and snippets.
    let mut snippets = Vec::new();
    let mut single = Vec::new();
    for (i, c) in policy.cors_policies().iter().enumerate() {
        let decl = program.cors.iter().find(|d| d.name == c.name());
        let location = decl.map_or_else(String::new, |d| {
            let (f, l, _) = sources.location(d.head_span);
            format!("{f}:{l}")
        });
        let (snippet, vars) = w.cors(i, c, &location)?;
        snippets.push(snippet);
        single.push(Some(vars));
    }
    let ids = PolicyIds::new(policy);
    // Hash sizes a large policy needs.
    let (entries, longest) = policy
        .cors_policies()
        .iter()
        .map(|c| {
            (
                c.origins().len(),
                c.origins()
                    .keys()
                    .iter()
                    .map(|k| k.len())
                    .max()
                    .unwrap_or(0),
            )
        })
        .fold((0, 0), |(n, l), (n2, l2)| (n.max(n2), l.max(l2)));
    // Measured on nginx 1.22: 10,000 origins of 33 bytes need 32768 / 128 to build the hash
    // without a warning; room for two slots per key and four keys per bucket.
    let hash_note = if entries <= 512 {
        format!("# This policy's largest origin list has {entries} entries: nginx's default map hash sizes suffice.\n")
    } else {
        let bucket = (longest + 32).next_power_of_two().max(128);
        let max_size = (entries * 2).next_power_of_two().max(2048);
        format!(
            "# This policy's largest origin list has {entries} entries of up to {longest} bytes: it needs\n\
             #     map_hash_max_size {max_size}; map_hash_bucket_size {bucket};\n\
             # in `http {{}}` (nginx's defaults are 2048 and 32/64; nginx warns and slows down without them).\n"
        )
    };
    let mut files = Vec::new();
    // Route snippets and the server file.
    let mut server = header(&format!(
        "# Include inside a `server {{}}`: `include {root}/guestlist-server.conf;`\n\
         # One location per route, matched like the runtime: exact (`=`) beats prefix (`^~`), the\n\
         # longest prefix wins, on nginx's normalised path (decoded, `//` merged, dots resolved).\n\
         # Paths outside every route are left to your own locations.\n{TRAP}\n"
    ));
    for (i, r) in policy.routes().iter().enumerate() {
        let slug = slug(r.pattern());
        check_value("route pattern", r.pattern())?;
        let rel = format!("routes/{slug}.conf");
        let partners = ids.partners(policy, i);
        let body = if partners.is_empty() {
            let mut body = match r.cors().and_then(|c| snippets.get(c as usize)) {
                Some(s) => s.clone(),
                None => "# This route has no cors policy: no CORS headers are added.\n".to_string(),
            };
            body.push_str(&w.route_guards(i, r, policy)?);
            body
        } else {
            w.route_with_readings(i, policy, &ids, &partners, &single)?
        };
        let origin = lowered
            .provenance
            .routes
            .get(i)
            .map_or_else(String::new, |p| {
                let (f, l, _) = sources.location(p.span);
                format!(" ({f}:{l})")
            });
        files.push(File {
            path: rel.clone(),
            text: header(&format!(
                "# Route \"{}\"{origin}. Include inside your `location {{}}` for it:\n#     include {root}/{rel};\n# The 400 for a path with dot segments is in guestlist-server.conf (include it in the\n# server, or the route snippets alone let such paths through).\n{TRAP}\n{body}",
                r.pattern()
            )),
        });
        let (modifier, path) = match r.pattern().strip_suffix('*') {
            Some(p) => ("^~", p),
            None => ("=", r.pattern()),
        };
        let _ = writeln!(
            server,
            "\nlocation {modifier} {} {{\n    include {root}/{rel};",
            q(path)
        );
        if let Some(u) = &opts.upstream_include {
            check_value("upstream include", u)?;
            let _ = writeln!(server, "    include {u};");
        }
        server.push_str("}\n");
    }
    if !policy.routes().is_empty() {
        w.paths(policy, &ids, &mut server)?;
    }
    // nginx builds one hash of every variable; a policy with many routes or policies
    // defines more than its defaults hold without a warning.
    let variables = w.http.lines().filter(|l| l.starts_with("map ")).count();
    let hash_note = if variables > 256 {
        format!(
            "{hash_note}# It defines {variables} variables: set\n#     variables_hash_max_size {}; variables_hash_bucket_size 128;\n# in `http {{}}` (nginx's defaults are 1024 and 64; nginx warns without them).\n",
            (variables * 2).next_power_of_two().max(1024)
        )
    } else {
        format!("{hash_note}# It defines {variables} variables; if nginx warns that it could not build the variables hash,\n# set `variables_hash_bucket_size 128;` in `http {{}}` (their names are long).\n")
    };
    // The maps are complete once every route snippet is written.
    if w.dollar {
        let _ = writeln!(
            w.http,
            "\n# `$` in a header value: nginx strings have no escape for it, a geo value is literal.\ngeo ${ns}_dollar {{ default \"$\"; }}"
        );
    }
    let http_file = File {
        path: "guestlist-http.conf".into(),
        text: header(&format!(
            "# Include once inside `http {{}}`: `include {root}/guestlist-http.conf;`\n\
             # It holds only `map` blocks; nothing is evaluated until a route snippet uses it.\n\
             {hash_note}{}",
            w.http
        )),
    };
    files.insert(0, http_file);
    files.push(File {
        path: "guestlist-server.conf".into(),
        text: server,
    });
    Ok(files)
}

/// Writes the files under `dir` (atomically, only when changed) and removes route snippets of
/// routes that no longer exist. Returns the files written.
pub fn write(dir: &Path, files: &[File]) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir.join("routes"))?;
    let mut written = Vec::new();
    for f in files {
        let p = dir.join(&f.path);
        crate::write::write_if_changed(&p, f.text.as_bytes())?;
        written.push(p);
    }
    for e in std::fs::read_dir(dir.join("routes"))? {
        let p = e?.path();
        let generated =
            std::fs::read_to_string(&p).is_ok_and(|t| t.starts_with("# DO NOT EDIT, generated by"));
        if generated && !written.contains(&p) {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_injective() {
        assert_eq!(slug("/api/*"), "prefix-api");
        assert_eq!(slug("/api/v1/users"), "exact-api-v1-users");
        assert_eq!(slug("/*"), "prefix-root");
        assert_eq!(slug("/"), "exact-root");
        assert_eq!(slug("/a-b"), "exact-a_2db");
        assert_ne!(slug("/a-b"), slug("/a/b"));
        assert_ne!(slug("/A"), slug("/a"));
        assert_ne!(slug("/x/"), slug("/x/*"));
    }

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
