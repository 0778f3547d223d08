//! One cors policy in nginx: its maps (the origin, whether the request is a preflight, the
//! requested method and headers, the state, each header's value by state) and the location
//! snippet that sends them. Built on `values` and `origins`; `paths` combines two policies'
//! answers for a path with two readings.

use std::fmt::Write as _;

use guestlist::Cors;

use super::values::{check_value, q, re, var_name, SuppliedVars, Writer};
use crate::emit::{header_text, Unsupported};

pub(super) use crate::emit::edge::{OWNED, TCHAR};

/// A CORS answer, one policy's or two readings': its state variable, whether it varies by
/// Origin, and each header's value by state.
#[derive(Clone, Default)]
pub(super) struct CorsVars {
    pub(super) state: String,
    pub(super) vary: bool,
    /// Each header's value by state (a state not listed: not sent), in the order of
    /// [`ORDER`].
    pub(super) tables: [Vec<(String, String)>; 6],
    /// The states the answer can take; empty: every one of [`STATES`].
    pub(super) states: &'static [&'static str],
}

impl CorsVars {
    /// The states the answer can take.
    pub(super) fn reachable(&self) -> &'static [&'static str] {
        if self.states.is_empty() {
            &STATES
        } else {
            self.states
        }
    }

    /// The value of header `h` (an index into [`ORDER`]) in state `st`; `""` when not sent.
    pub(super) fn value(&self, h: usize, st: &str) -> &str {
        self.tables
            .get(h)
            .and_then(|t| t.iter().find(|(k, _)| k == st))
            .map_or("", |(_, v)| if v == "\"\"" { "" } else { v.as_str() })
    }
}

/// The order of the `Access-Control-*` response headers in a snippet (and of
/// [`CorsVars::tables`]).
pub(super) const ORDER: [&str; 6] = [
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
];

/// The states a cors answer's state variable takes.
pub(super) const STATES: [&str; 5] = ["none", "allowed", "denied", "pok", "prej"];

/// A value map's lines without its `default` (the value by state).
pub(super) fn table(lines: &[(String, String)]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter(|(k, _)| k != "default")
        .cloned()
        .collect()
}

/// The longest `Access-Control-Request-Headers` list written as a string key (so that every
/// key fits nginx's smallest map bucket, 128 bytes).
const LIST_KEY_MAX: usize = 64;

/// How many allowed names a policy may have for every list of them to be a string key (2^6 - 1
/// lists); with more, each name alone is one.
const LIST_NAMES_MAX: usize = 6;

/// The `Access-Control-Request-Headers` values browsers send for a policy allowing `names`
/// (Fetch: the names lowercase, sorted by byte, joined by `,`): every non-empty subset of the
/// allowed names when there are at most [`LIST_NAMES_MAX`], else each name alone; none when
/// the policy allows any header (`*`: the regex decides). Each is a list the policy allows,
/// as its regex does; lists longer than [`LIST_KEY_MAX`] bytes are left to the regex.
pub(super) fn browser_lists(names: &[&str], any: bool) -> Vec<String> {
    if any {
        return Vec::new();
    }
    let mut lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    lower.sort();
    lower.dedup();
    let mut out = Vec::new();
    if lower.len() <= LIST_NAMES_MAX {
        for mask in 1u32..(1 << lower.len()) {
            let list: Vec<&str> = lower
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, n)| n.as_str())
                .collect();
            out.push(list.join(","));
        }
    } else {
        out.clone_from(&lower);
    }
    out.retain(|l| l.len() <= LIST_KEY_MAX);
    out.sort();
    out
}

impl Writer {
    /// The maps of cors policy `index` (declared at `location`), its location snippet, and
    /// the variables of its answer.
    pub(super) fn cors(
        &mut self,
        index: usize,
        c: &Cors,
        location: &str,
    ) -> Result<(String, CorsVars), Unsupported> {
        let v = var_name(&self.ns, index);
        let vars = CorsVars {
            state: format!("${v}_state"),
            vary: !c.is_static_any(),
            tables: Default::default(),
            states: &[],
        };
        let mut vars = vars;
        let static_any = c.any_origin() && !c.credentials();
        let _ = writeln!(self.http, "\n# cors policy `{}` ({location})", c.name());
        let origin_hdr = "$http_origin";
        let acrm = "$http_access_control_request_method";
        let acrh = "$http_access_control_request_headers";
        // 1. The origin: none, allowed or denied (one hash lookup keyed on it).
        let supplied = SuppliedVars::of(&self.supplied.cors, index);
        self.origin_match(&v, c.any_origin(), c.origins(), c.patterns(), &supplied)?;
        // 2. The state, evaluating only what the request needs: a request that is not an
        //    OPTIONS (nginx answers 400 to a method that is not uppercase, so the hash key is
        //    exact) takes the origin's class; a preflight (OPTIONS + Origin +
        //    Access-Control-Request-Method) passes when the origin, the requested method and
        //    the requested headers do.
        let o = format!("${v}_o");
        self.map(
            "$request_method",
            &format!("{v}_state"),
            &[
                ("default".into(), o.clone()),
                (q("OPTIONS"), format!("${v}_opt")),
            ],
        );
        self.map(
            acrm,
            &format!("{v}_opt"),
            &[(q(""), o.clone()), ("default".into(), format!("${v}_pf"))],
        );
        self.map(
            &o,
            &format!("{v}_pf"),
            &[
                ("default".into(), "prej".into()),
                ("none".into(), "none".into()),
                ("allowed".into(), format!("${v}_method")),
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
            &format!("{v}_method"),
            &[
                ("default".into(), "prej".into()),
                (q(&method_re), format!("${v}_headers")),
            ],
        );
        // 4. The requested headers: a comma list (spaces and empty elements tolerated, case
        //    ignored), every name allowed; Authorization only when listed; at most 64 names
        //    and 4096 bytes.
        let names: Vec<&str> = c.headers().keys().iter().map(|k| k.as_ref()).collect();
        for n in &names {
            check_value("header name", n)?;
        }
        let list_re = format!("~*{}", crate::emit::edge::acrh_list_regex(c, 4096));
        // nginx never tries regex keys on an empty value: an absent header needs its own key.
        // The lists browsers send (the names lowercase, sorted, joined by `,`) are string keys,
        // found by the hash without a regex; the regex decides every other list.
        let lists = browser_lists(&names, c.any_header());
        let mut lines = vec![
            ("default".to_string(), "prej".to_string()),
            (q(""), "pok".to_string()),
        ];
        lines.extend(lists.iter().map(|l| (q(l), "pok".to_string())));
        lines.push((q(&list_re), "pok".into()));
        self.map(acrh, &format!("{v}_headers"), &lines);
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
        vars.tables[0] = table(&acao_lines);
        if c.credentials() {
            let lines = [
                ("default".into(), q("")),
                ("allowed".into(), q("true")),
                ("pok".into(), q("true")),
            ];
            self.map(&state, &format!("{v}_acac"), &lines);
            vars.tables[1] = table(&lines);
        }
        if let Some(e) = c.expose_headers_value() {
            let name = "access-control-expose-headers";
            let e = self.value(name, header_text(name, e.as_bytes())?)?;
            let mut lines = vec![
                ("default".to_string(), q("")),
                ("allowed".into(), e.clone()),
            ];
            if static_any {
                lines.push(("none".into(), e));
            }
            self.map(&state, &format!("{v}_aceh"), &lines);
            vars.tables[2] = table(&lines);
        }
        let lines = [("default".into(), q("")), ("pok".into(), acrm.to_string())];
        self.map(&state, &format!("{v}_acam"), &lines);
        vars.tables[3] = table(&lines);
        let acah = if c.any_header() && c.credentials() {
            acrh.to_string()
        } else {
            match c.allow_headers_value() {
                Some(h) => {
                    let name = "access-control-allow-headers";
                    self.value(name, header_text(name, h.as_bytes())?)?
                }
                None => q(""),
            }
        };
        // Sent on a passed preflight that names a header.
        let lines = [
            ("default".into(), q("")),
            ("pok".into(), format!("${v}_acah_pf")),
        ];
        self.map(&state, &format!("{v}_acah"), &lines);
        vars.tables[4] = table(&lines);
        let mut lines = vec![("default".to_string(), q(""))];
        lines.extend(lists.iter().map(|l| (q(l), acah.clone())));
        lines.push((q(&format!("~[{TCHAR}]")), acah));
        self.map(acrh, &format!("{v}_acah_pf"), &lines);
        if let Some(m) = c.max_age_value() {
            let name = "access-control-max-age";
            let m = self.value(name, header_text(name, m.as_bytes())?)?;
            let lines = [("default".into(), q("")), ("pok".into(), m)];
            self.map(&state, &format!("{v}_acma"), &lines);
            vars.tables[5] = table(&lines);
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
