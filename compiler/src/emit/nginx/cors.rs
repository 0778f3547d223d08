//! One cors policy in nginx: its maps (the origin, whether the request is a preflight, the
//! requested method and headers, the state, each header's value by state) and the location
//! snippet that sends them. Built on `values` and `origins`; `paths` combines two policies'
//! answers for a path with two readings.

use std::fmt::Write as _;

use guestlist::Cors;

use super::values::{check_value, q, re, var_name, Writer};
use crate::emit::{header_text, Unsupported};

/// The response headers the runtime owns on a governed route.
pub(super) const OWNED: [&str; 6] = [
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Expose-Headers",
];

/// An RFC 9110 token character (inside a character class).
const TCHAR: &str = "!#$%&'*+.^_`|~0-9A-Za-z-";

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

/// The CORS answer's variables (`""`: the header is not sent): one policy's, or two
/// readings'.
#[derive(Clone, Default)]
pub(super) struct CorsVars {
    pub(super) state: String,
    pub(super) acao: String,
    pub(super) acac: String,
    pub(super) aceh: String,
    pub(super) acam: String,
    pub(super) acah: String,
    pub(super) acma: String,
    pub(super) vary: bool,
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
                Some(h) => {
                    let name = "access-control-allow-headers";
                    self.value(name, header_text(name, h.as_bytes())?)?
                }
                None => q(""),
            }
        };
        self.map(
            &q(&format!("{state}:${v}_has_names")),
            &format!("{v}_acah"),
            &[("default".into(), q("")), (q("pok:1"), acah)],
        );
        if let Some(m) = c.max_age_value() {
            let name = "access-control-max-age";
            let m = self.value(name, header_text(name, m.as_bytes())?)?;
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
