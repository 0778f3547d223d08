//! The other guards in nginx: the csrf check and the WebSocket handshake check as maps that
//! end in a refusal reason (`Guestlist-Reason` and 403 before the upstream), and the security
//! headers and CSP as `add_header ... always` with the upstream's own copies hidden. Built on
//! `values` and `origins`; `paths` combines two readings' refusals and headers.

use std::fmt::Write as _;

use super::values::{check_value, q, re, var_name, SuppliedVars, Writer};
use crate::emit::{csp_text, header_text, Unsupported};

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
        if self.hosts {
            // The origin's host[:port] is the request's one authority (`$<ns>_auth`), as the
            // runtime compares them: the host ignoring ASCII case and one trailing dot, the
            // port as written.
            let host = "(\\[[^\\]/?#@|]*\\]|(?:[^\\[:/?#@|.]|[^\\[:/?#@|][^:/?#@|]*[^.:/?#@|])?)";
            let dot = "(?:(?<!\\])\\.)?";
            let port = "((?::[^:/?#@|]*)?)";
            self.map(
                &q(&format!("$http_origin|${ns}_auth")),
                &format!("{ns}_origin_is_host"),
                &[
                    ("default".into(), "0".into()),
                    (
                        q(&format!(
                            "~*^(?:(?!://)[^|])*://(?=[^|]){host}{dot}{port}\\|\\1{dot}\\2$"
                        )),
                        "1".into(),
                    ),
                ],
            );
        } else {
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
            // Trusted by a set supplied at run time (exact entries only), tried on a miss.
            let supplied = SuppliedVars::of(&self.supplied.csrf, ci as usize);
            let untrusted = self.supplied_or(&format!("{v}_tsup"), &supplied, "1", "0");
            if trusted.is_empty() {
                self.map(
                    "$http_origin",
                    &format!("{v}_trusted"),
                    &[("default".into(), untrusted)],
                );
            } else {
                self.exact_set(
                    &format!("{v}_trusted"),
                    &format!("{v}_thit"),
                    &trusted,
                    &untrusted,
                )?;
            }
            let own: Vec<&str> = c.self_origins().keys().iter().map(|k| k.as_ref()).collect();
            if own.is_empty() {
                self.map(
                    &format!("${ns}_origin_is_host"),
                    &format!("{v}_own"),
                    &[("default".into(), "0".into()), ("1".into(), "1".into())],
                );
            } else {
                self.exact_set(&format!("{v}_own"), &format!("{v}_ohit"), &own, "0")?;
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
    pub(super) fn websocket(
        &mut self,
        wi: u32,
        w: &guestlist::WebSocket,
    ) -> Result<String, Unsupported> {
        self.csrf_shared();
        let ns = self.ns.clone();
        let v = format!("{ns}w{wi}");
        if !self.first_time(&format!("websocket {wi}")) {
            return Ok(format!("${v}_ws"));
        }
        let _ = writeln!(self.http, "\n# websocket policy `{}`", w.name());
        let supplied = SuppliedVars::of(&self.supplied.websocket, wi as usize);
        self.origin_match(&v, false, w.origins(), w.patterns(), &supplied)?;
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
    pub(super) fn route_reasons(
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
    pub(super) fn route_guards(
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
    /// nonce CSP is refused (nginx cannot make a nonce safely) unless its loss is accepted.
    pub(super) fn guard_list(
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
                // Accepted (`--accept-loss csp-nonce`): not sent, and the upstream's own CSP
                // is not hidden.
                guestlist::GuardValue::Csp(c) if c.has_nonce() && self.nonce_lost => continue,
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

    /// `$<target>`: the first non-empty of the refusal variables `reasons` (`""` without any).
    pub(super) fn first_reason(&mut self, target: &str, reasons: &[String]) -> String {
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
}

/// The comment on a route whose csrf policy signs tokens, which nginx cannot verify.
pub(super) fn token_note(policy: &guestlist::Policy, g: guestlist::Guards) -> String {
    match policy.csrf_token_policy(g) {
        Some(t) => format!(
            "# This route's csrf policy signs tokens (header {}, cookie {}): nginx cannot verify an\n# HMAC, so the token is checked by the application's guestlist layer behind this proxy\n# (requests pass through to it); nginx still runs the Origin / Sec-Fetch-Site check.\n",
            t.header(),
            t.cookie()
        ),
        None => String::new(),
    }
}
