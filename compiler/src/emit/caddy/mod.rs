//! The Caddy emitter: the same decisions as the runtime, as one Caddyfile snippet for Caddy
//! 2.6 (spec/caddy.md).
//!
//! Layout:
//! - `guestlist.caddy`: the snippet a user `import`s inside a site block. Its `map`s (lazy:
//!   evaluated only when a placeholder is read) classify the raw request target (`{gl_form}`:
//!   the path's form), the location each reading of the path selects (`{gl_ls}` as sent, on
//!   the raw target; `{gl_ln}` normalised, on Go's decoded path with runs of `/` merged), the
//!   host block (`{gl_hb}`) and from them the answer (`{gl_ans}`: the routes the request is
//!   decided under). One ordered `route` then refuses a path that is not normal (400), and
//!   holds one `route` per answer: its security headers and CSP, its CSRF and WebSocket
//!   refusals (403 with `Guestlist-Reason`), its CORS answer (204/403 for a preflight, the
//!   headers on an actual request) as `expression` (CEL) matchers, and the upstream include.
//! - `sets/<name>.caddy`: the entries of a set supplied at run time, one `map` the snippet
//!   imports; regenerate it and `caddy reload`.
//!
//! How the runtime's semantics map onto Caddy: every matcher compares bytes exactly (CEL
//! `==`, `in`, and RE2 regexes written `^...$`); never the `path` or `host` matchers, which
//! fold case and clean the path. Every header is written with `defer`, so it also replaces the
//! upstream's own line; the upstream's own `Access-Control-*` and security headers are
//! deleted by the innermost handler, so they are never doubled.
//!
//! Its parts, bottom up: `text` (Caddyfile tokens, RE2 and CEL), `answer` (the routes a
//! request is decided under); this file checks what Caddy cannot carry and writes the files.

mod answer;
mod text;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use self::answer::{Answer, Locations};
use self::text::{
    all, any, check, check_value, lit, matches, pattern_test, q, re, ACRH, ACRM, AUTHORITY, METHOD,
    ORIGIN, TCHAR,
};
use crate::emit::edge::{fold_expose, fold_max_age, tenant_clashes, Matcher, Via, OWNED};
use crate::emit::{csp_text, header_name, header_text, Engine, File, Loss, Unsupported};
use crate::{Compilation, Lowered};

/// Options for [`emit`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Absolute directory the `import` lines of the sets' files point to (where the files
    /// will live).
    pub include_root: String,
    /// A file of Caddy directives (`reverse_proxy app:8080`) imported where the policy lets
    /// a request through.
    pub upstream_include: Option<String>,
    /// The exact command or API call that generated the files (for the header comment).
    pub generated_by: String,
    /// What the user accepts losing (`--accept-loss`): listed in the header comment.
    pub accepted: Vec<Loss>,
}

/// The entries of a pattern set.
fn keys(p: &guestlist::PatternSet) -> Vec<&str> {
    p.keys().iter().map(|k| k.as_ref()).collect()
}

/// The file of a set supplied at run time named `name`, relative to the output directory:
/// `sets/` then the name with ASCII letters, digits and `-` kept and every other byte as `_`
/// and two hex digits (injective, never a path separator), then `.caddy`.
pub fn set_file(name: &str) -> String {
    format!("sets/{}.caddy", slug(name))
}

/// `name` with ASCII letters, digits and `-` kept and every other byte as `_` and two hex
/// digits.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "_{b:02x}");
        }
    }
    out
}

/// The placeholder of a supplied set: `1` when the request's `Origin` is one of its entries.
fn set_placeholder(name: &str) -> String {
    format!("{{gl_set_{}}}", slug(name))
}

/// Errors for exporting `lowered` to Caddy: GL1220 for `paths { non-normal two-readings }`
/// (Caddy cannot resolve the dot segments of a path to find its normalised reading's route).
pub fn errors(compilation: &Compilation, lowered: &Lowered) -> Vec<crate::diag::Diagnostic> {
    crate::emit::two_readings_refusal(
        compilation,
        lowered,
        crate::emit::Engine::Caddy,
        "GL1220",
        "Caddy cannot apply both readings of a path with dot segments",
        "Caddy's placeholders hold the raw target and the decoded path, never the path with `.` and `..` resolved: the normalised reading's route of `/api/../static/x` cannot be found",
    )
    .into_iter()
    .chain(crate::emit::carry_errors(
        compilation,
        lowered,
        Engine::Caddy,
        "GL1206",
        |kind, t| {
            let quoted = kind != crate::emit::TextKind::Value && t.contains('"');
            let bad = t.bytes().any(|b| matches!(b, b'\\' | b'{' | b'}' | b'`') || b < 0x20 || b == 0x7f);
            (quoted || bad).then(|| "Caddy reads `{`, `}` as placeholders and `\\` and `` ` `` as escapes or quotes in the snippet's tokens and expressions, so it would not read this back as written".to_string())
        },
        "write it without `{`, `}`, `\\` or `` ` `` (and a pattern or name without `\"`), or serve these routes through the Rust runtime (guestlist::Layer)",
    ))
    .collect()
}

/// Warnings for exporting `lowered` to Caddy: GL1407 for a set supplied at run time that no
/// file was given for.
pub fn warnings(compilation: &Compilation, lowered: &Lowered) -> Vec<crate::diag::Diagnostic> {
    crate::emit::empty_set_warnings(compilation, lowered, Engine::Caddy, set_file)
}

/// The snippet being written, and what its answers need.
struct Writer<'a> {
    policy: &'a guestlist::Policy,
    spec: &'a guestlist::PolicySpec,
    /// The matcher definitions and directives of the snippet's `route`, in order.
    out: String,
    /// Whether `--accept-loss csp-nonce` was given.
    nonce_lost: bool,
    /// Whether the policy has host blocks.
    hosts: bool,
    /// The upstream include line (or nothing).
    upstream: String,
}

impl Writer<'_> {
    /// The placeholders of the supplied sets of `refs` (indexes into the spec's sets).
    fn supplied(&self, refs: &[usize]) -> Vec<String> {
        refs.iter()
            .filter_map(|&i| self.spec.provided.get(i))
            .map(|p| {
                let v = set_placeholder(&p.name);
                // `p`: a pattern matched, valid only with a host of at most 253 bytes (the
                // bound RE2 cannot fold into the pattern's regex).
                format!(
                    "{v} == \"1\" || {v} == \"p\" && {}",
                    matches(ORIGIN, "^[^:]*://[^:]{1,253}(?::|$)")
                )
            })
            .collect()
    }

    /// The CEL test that `Origin` is one of `exact`, matches one of `patterns`, or is in one
    /// of the supplied sets `supplied` (byte for byte).
    fn origin_in(
        exact: &guestlist::KeySet,
        patterns: &[&str],
        supplied: Vec<String>,
    ) -> Result<String, Unsupported> {
        let mut parts = Vec::new();
        if !exact.is_empty() {
            let mut list = Vec::new();
            for k in exact.keys() {
                check("origin", k)?;
                list.push(lit(k));
            }
            parts.push(format!("{ORIGIN} in [{}]", list.join(", ")));
        }
        for p in patterns {
            check("origin pattern", p)?;
            parts
                .push(pattern_test(p).ok_or_else(|| {
                    Unsupported(format!("cannot translate origin pattern {p:?}"))
                })?);
        }
        parts.extend(supplied);
        Ok(any(&parts))
    }

    /// The CEL test that cors policy `i` allows the request's (present) `Origin`.
    fn cors_allows(&self, i: u32) -> Result<String, Unsupported> {
        let Some(c) = self.policy.cors_policies().get(i as usize) else {
            return Ok("false".into());
        };
        if c.any_origin() {
            return Ok("true".into());
        }
        let refs = self
            .spec
            .cors
            .get(i as usize)
            .map(|s| s.provided.clone())
            .unwrap_or_default();
        Self::origin_in(c.origins(), &keys(c.patterns()), self.supplied(&refs))
    }

    /// The CEL test that cors policy `c` allows the requested method and headers.
    fn cors_request_ok(c: &guestlist::Cors) -> Result<String, Unsupported> {
        let method = if c.any_method() {
            format!("^[{TCHAR}]+$")
        } else {
            let mut ms: Vec<String> = vec!["GET".into(), "HEAD".into(), "POST".into()];
            for m in c.methods() {
                check("method", m)?;
                if !ms.iter().any(|x| x == m.as_ref()) {
                    ms.push(m.to_string());
                }
            }
            format!(
                "^(?:{})$",
                ms.iter().map(|m| re(m)).collect::<Vec<_>>().join("|")
            )
        };
        // The requested headers: a comma list (spaces, tabs and empty elements tolerated,
        // case ignored), every name allowed; Authorization only when listed; at most 64
        // names and 4096 bytes.
        let names: Vec<&str> = c.headers().keys().iter().map(|k| k.as_ref()).collect();
        for n in &names {
            check("header name", n)?;
        }
        let auth_listed = names
            .iter()
            .any(|n| n.eq_ignore_ascii_case("authorization"));
        let element = if c.any_header() {
            format!("[{TCHAR}]+")
        } else if names.is_empty() {
            String::new()
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
        let list = if element.is_empty() {
            format!("{ACRH}.matches(r\"^[\\x20\\t,]*$\")")
        } else {
            matches(
                ACRH,
                &format!("(?i)^[\\x20\\t,]*(?:{element}[\\x20\\t]*(?:,[\\x20\\t,]*|$)){{0,64}}$"),
            )
        };
        let mut headers = vec![format!("size({ACRH}) <= 4096"), list];
        if c.any_header() && !auth_listed {
            headers.push(format!(
                "!{}",
                matches(
                    ACRH,
                    "(?i)(?:^|,)[\\x20\\t]*authorization[\\x20\\t]*(?:,|$)"
                )
            ));
        }
        Ok(all(&[
            matches(ACRM, &method),
            any(&[format!("{ACRH} == \"\""), all(&headers)]),
        ]))
    }

    /// The CEL test that the request's `Origin` names the request's own authority.
    fn origin_is_host(&self) -> String {
        if self.hosts {
            // The host compared ignoring ASCII case and one trailing dot, the port as written:
            // both lowercased, a dot before the port dropped, and a dot at the end on either
            // side tolerated.
            let norm = |p: &str| format!("{p}.lowerAscii().replace(\".:\", \":\")");
            let (o, a) = (norm(ORIGIN), norm(AUTHORITY));
            all(&[
                format!("{AUTHORITY} != \"\""),
                matches(ORIGIN, "^[^|]*?://[^/?#@|]+$"),
                any(&[
                    format!("{o}.endsWith(\"://\" + {a})"),
                    format!("{o}.endsWith(\"://\" + {a} + \".\")"),
                    format!("({o} + \".\").endsWith(\"://\" + {a})"),
                ]),
            ])
        } else {
            all(&[
                format!("{AUTHORITY} != \"\""),
                matches(AUTHORITY, "^[^/?#@|]+$"),
                format!("!{ORIGIN}.contains(\"|\")"),
                format!("{ORIGIN}.endsWith(\"://\" + {AUTHORITY})"),
            ])
        }
    }

    /// The refusals of route `ri` (its websocket, then its csrf check): (reason, CEL test).
    fn refusals(&self, ri: usize, ws: bool) -> Result<Vec<(String, String)>, Unsupported> {
        let mut out = Vec::new();
        let Some(r) = self.policy.routes().get(ri) else {
            return Ok(out);
        };
        let g = r.guards();
        let has = format!("{ORIGIN} != \"\"");
        if ws {
            if let Some((wi, w)) = g.websocket.and_then(|i| {
                self.policy
                    .websocket_policies()
                    .get(i as usize)
                    .map(|w| (i, w))
            }) {
                let upgrade = all(&[
                    format!("{METHOD} == \"GET\""),
                    matches(
                        "{http.request.header.Upgrade}",
                        "(?i)(?:^|,)[\\x20\\t]*websocket[\\x20\\t]*(?:,|$)",
                    ),
                ]);
                let refs = self
                    .spec
                    .websocket
                    .get(wi as usize)
                    .map(|s| s.provided.clone())
                    .unwrap_or_default();
                let mut ok = vec![Self::origin_in(
                    w.origins(),
                    &keys(w.patterns()),
                    self.supplied(&refs),
                )?];
                if w.same_origin() {
                    ok.push(self.origin_is_host());
                }
                if !w.allow_missing() {
                    out.push((
                        "websocket-missing-origin".into(),
                        all(&[upgrade.clone(), format!("{ORIGIN} == \"\"")]),
                    ));
                }
                out.push((
                    "websocket-origin-not-allowed".into(),
                    all(&[upgrade, has.clone(), format!("!({})", any(&ok))]),
                ));
            }
            return Ok(out);
        }
        let Some((ci, c)) = g
            .csrf
            .and_then(|i| self.policy.csrf_policies().get(i as usize).map(|c| (i, c)))
        else {
            return Ok(out);
        };
        let unsafe_ = format!("!({METHOD} in [\"GET\", \"HEAD\", \"OPTIONS\"])");
        let mut exempt = Vec::new();
        for e in c.exempt() {
            check("exempt method", e.method())?;
            check("exempt pattern", e.pattern())?;
            let path = match e.pattern().strip_suffix('*') {
                Some(prefix) => format!("^{}", re(prefix)),
                None => format!("^{}$", re(e.pattern())),
            };
            exempt.push(all(&[
                format!("{METHOD} == {}", lit(e.method())),
                matches("{gl_raw}", &path),
            ]));
        }
        let not_exempt = if exempt.is_empty() {
            "true".to_string()
        } else {
            format!(
                "!({})",
                all(&["{http.vars.gl_f} == \"n\"".to_string(), any(&exempt)])
            )
        };
        let refs = self
            .spec
            .csrf
            .get(ci as usize)
            .map(|s| s.trusted_provided.clone())
            .unwrap_or_default();
        let mut trusted = vec![Self::origin_in(c.trusted(), &[], self.supplied(&refs))?];
        if let Some(cc) = r.cors() {
            if self
                .policy
                .cors_policies()
                .get(cc as usize)
                .is_some_and(|x| !x.any_origin())
            {
                trusted.push(self.cors_allows(cc)?);
            }
        }
        let trusted = any(&trusted);
        let own = if c.self_origins().is_empty() {
            self.origin_is_host()
        } else {
            Self::origin_in(c.self_origins(), &[], Vec::new())?
        };
        let sfs = "{http.request.header.Sec-Fetch-Site}";
        let so = format!("{sfs} in [\"same-origin\", \"none\"]");
        let ss = format!("{sfs} == \"same-site\"");
        let e = format!("{sfs} == \"\"");
        let crossish = if c.allow_same_site() {
            format!("!({so}) && !({ss}) && !({e})")
        } else {
            format!("!({so}) && !({e})")
        };
        out.push((
            "csrf-cross-site".into(),
            all(&[
                unsafe_.clone(),
                crossish,
                not_exempt.clone(),
                format!("!(({has}) && ({trusted}))"),
            ]),
        ));
        if c.reject_missing() {
            out.push((
                "csrf-missing-headers".into(),
                all(&[
                    unsafe_.clone(),
                    e.clone(),
                    format!("{ORIGIN} == \"\""),
                    not_exempt.clone(),
                ]),
            ));
        }
        out.push((
            "csrf-origin-mismatch".into(),
            all(&[
                unsafe_,
                e,
                has,
                not_exempt,
                format!("!({own})"),
                format!("!({trusted})"),
            ]),
        ));
        Ok(out)
    }

    /// The security headers and CSP of an answer: (name, value) lines (a nonce CSP's nonce
    /// as `{http.request.uuid}`), the names whose upstream copies are deleted, and whether a
    /// nonce is made.
    #[expect(
        clippy::type_complexity,
        reason = "the header lines, the names deleted and the nonce flag"
    )]
    fn guard_headers(
        &self,
        a: &Answer,
    ) -> Result<(Vec<(String, String)>, Vec<String>, bool), Unsupported> {
        let (g, normalised) = a.headers;
        let mut list = Vec::new();
        self.policy
            .for_each_guard_header(g, normalised, |h| list.push(h));
        let mut lines = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut nonce = false;
        for gg in [Some(g), normalised].into_iter().flatten() {
            if let Some(h) = gg
                .headers
                .and_then(|i| self.policy.header_sets().get(i as usize))
            {
                for n in h.remove() {
                    if !names.iter().any(|x| x == n.as_str()) {
                        names.push(n.as_str().to_string());
                    }
                }
            }
        }
        for h in list {
            let name = header_name(h.name.as_str())?.to_string();
            let value = match h.value {
                guestlist::GuardValue::Fixed(v) => {
                    let v = header_text(&name, v.as_bytes())?.to_string();
                    check_value(&format!("the {name} value"), &v)?;
                    v
                }
                guestlist::GuardValue::Csp(c) if c.has_nonce() && self.nonce_lost => continue,
                guestlist::GuardValue::Csp(c) => {
                    csp_text(c)?;
                    let mut parts = Vec::new();
                    for p in c.parts() {
                        check_value(&format!("the {name} value"), p)?;
                        parts.push(p.to_string());
                    }
                    if c.has_nonce() {
                        nonce = true;
                    }
                    parts.join("{http.request.uuid}")
                }
            };
            if !names.contains(&name) {
                names.push(name.clone());
            }
            lines.push((name, value));
        }
        Ok((lines, names, nonce))
    }

    /// The route that decides every request: the path's form, then each answer, then the
    /// upstream for requests no route governs.
    fn route(&mut self, answers: &[Answer]) -> Result<(), Unsupported> {
        // The maps are read once: each read of a map placeholder evaluates it again.
        self.out.push_str(
            "\nroute {\n\t# The path's form and the answer, evaluated once.\n\tvars {\n\t\tgl_f \"{gl_form}\"\n\t\tgl_a \"{gl_ans}\"\n\t\tgl_st \"\"\n\t}\n",
        );
        self.out.push_str(
            "\t# A nonce the client sent never reaches the upstream.\n\trequest_header -Guestlist-Csp-Nonce\n",
        );
        if !self.policy.routes().is_empty() {
            self.out.push_str(
                "\t# Paths that are not normal: 400 before any route (Go itself answers 400 to an\n\
                 \t# invalid escape).\n\
                 \t@gl_invalid vars gl_f i\n\
                 \theader @gl_invalid Guestlist-Reason path-invalid\n\
                 \trespond @gl_invalid 400\n\
                 \t@gl_dots vars gl_f d\n\
                 \theader @gl_dots Guestlist-Reason path-not-normal\n\
                 \trespond @gl_dots 400\n",
            );
        }
        for (k, a) in answers.iter().enumerate().skip(1) {
            let _ = writeln!(self.out, "\t# answer {k}");
            self.answer(k, a)?;
        }
        self.out.push_str("\t# Requests no route governs.\n");
        self.out.push_str(&self.upstream.replace("\t\t", "\t"));
        self.out.push_str("}\n");
        Ok(())
    }

    /// The CEL test that answer `a` allows the request (an actual request every cors table
    /// allows, or a handshake every websocket policy allows, no check refusing it) through
    /// two different tenant-bound sets ([`tenant_clashes`]); `false` when no two of its
    /// policies can.
    fn tenant_clash(&self, a: &Answer) -> Result<String, Unsupported> {
        let ws_policies: Vec<Matcher> = a
            .checks
            .iter()
            .filter_map(|&ri| self.policy.routes().get(ri)?.guards().websocket)
            .map(Matcher::WebSocket)
            .collect();
        let cors: Vec<Matcher> = a.cors.iter().flatten().map(|&i| Matcher::Cors(i)).collect();
        let ws_clashes = tenant_clashes(self.policy, self.spec, &ws_policies);
        let cors_clashes = if a.cors.iter().all(Option::is_some) {
            tenant_clashes(self.policy, self.spec, &cors)
        } else {
            Vec::new()
        };
        if ws_clashes.is_empty() && cors_clashes.is_empty() {
            return Ok("false".into());
        }
        let upgrade = all(&[
            format!("{METHOD} == \"GET\""),
            matches(
                "{http.request.header.Upgrade}",
                "(?i)(?:^|,)[\\x20\\t]*websocket[\\x20\\t]*(?:,|$)",
            ),
        ]);
        let pairs = |clashes: &[(Via, Via)]| -> Result<String, Unsupported> {
            let mut out = Vec::new();
            for (x, y) in clashes {
                out.push(all(&[self.via(x)?, self.via(y)?]));
            }
            Ok(any(&out))
        };
        let mut cases = Vec::new();
        if !ws_clashes.is_empty() {
            let mut refused = Vec::new();
            for &ri in &a.checks {
                refused.extend(self.refusals(ri, true)?.into_iter().map(|x| x.1));
            }
            cases.push(all(&[
                upgrade.clone(),
                format!("!({})", any(&refused)),
                pairs(&ws_clashes)?,
            ]));
        }
        if !cors_clashes.is_empty() {
            let mut refused = Vec::new();
            for &ri in &a.checks {
                refused.extend(self.refusals(ri, false)?.into_iter().map(|x| x.1));
            }
            let mut allows = Vec::new();
            for i in a.cors.iter().flatten() {
                allows.push(self.cors_allows(*i)?);
            }
            let preflight = all(&[
                format!("{METHOD} == \"OPTIONS\""),
                format!("{ACRM} != \"\""),
            ]);
            let mut parts = vec![
                format!("!({preflight})"),
                format!("{ORIGIN} != \"\""),
                format!("!({})", any(&refused)),
                all(&allows),
                pairs(&cors_clashes)?,
            ];
            if !ws_policies.is_empty() {
                parts.push(format!("!({upgrade})"));
            }
            cases.push(all(&parts));
        }
        Ok(any(&cases))
    }

    /// The CEL test that `v.matcher` allows the request's Origin through `v.set`: not among
    /// its own origins and patterns, in none of the sets it tries first, in the set.
    fn via(&self, v: &Via) -> Result<String, Unsupported> {
        let own = match v.matcher {
            Matcher::Cors(i) => match self.policy.cors_policies().get(i as usize) {
                Some(c) => Self::origin_in(c.origins(), &keys(c.patterns()), Vec::new())?,
                None => "false".into(),
            },
            Matcher::WebSocket(i) => match self.policy.websocket_policies().get(i as usize) {
                Some(w) => Self::origin_in(w.origins(), &keys(w.patterns()), Vec::new())?,
                None => "false".into(),
            },
        };
        let mut parts = vec![format!("!({own})")];
        for &b in &v.before {
            parts.push(format!("!({})", any(&self.supplied(&[b]))));
        }
        parts.push(any(&self.supplied(&[v.set])));
        Ok(all(&parts))
    }

    /// The `route` of answer `k`.
    fn answer(&mut self, k: usize, a: &Answer) -> Result<(), Unsupported> {
        let m = format!("@gl_a{k}");
        let mut s = String::new();
        let _ = writeln!(s, "\t{m} vars gl_a {k}");
        let _ = writeln!(s, "\troute {m} {{");
        let (lines, deleted, nonce) = self.guard_headers(a)?;
        let tables: Vec<Option<(u32, &guestlist::Cors)>> = a
            .cors
            .iter()
            .map(|c| c.and_then(|i| self.policy.cors_policies().get(i as usize).map(|x| (i, x))))
            .collect();
        let vary = tables.iter().flatten().any(|(_, c)| !c.is_static_any());
        let clash = self.tenant_clash(a)?;
        if clash != "false" {
            s.push_str("\t\t# The origin allowed through two different tenant-bound sets: 500, as the tower\n\t\t# layer answers (whatever the entries' keys), before any header is added.\n");
            let _ = writeln!(s, "\t\t{m}_tc expression `{clash}`");
            let _ = writeln!(s, "\t\trespond {m}_tc 500");
        }
        if nonce {
            s.push_str("\t\t# The CSP nonce (Caddy's per-request UUID, from crypto/rand), passed to the upstream.\n");
            s.push_str("\t\trequest_header Guestlist-Csp-Nonce \"{http.request.uuid}\"\n");
        }
        if !lines.is_empty() || vary {
            s.push_str("\t\t# Security headers, CSP and Vary, on every response of these routes.\n\t\theader {\n");
            for (n, v) in &lines {
                let _ = writeln!(s, "\t\t\t+{n} {}", q(v));
            }
            if vary {
                s.push_str("\t\t\t+Vary Origin\n");
            }
            s.push_str("\t\t\tdefer\n\t\t}\n");
        }
        // Refusals, in the runtime's order: every websocket check, then every csrf check.
        let mut n = 0;
        for ws in [true, false] {
            for &ri in &a.checks {
                for (reason, test) in self.refusals(ri, ws)? {
                    let rm = format!("{m}_r{n}");
                    n += 1;
                    let _ = writeln!(s, "\t\t{rm} expression `{test}`");
                    let _ = writeln!(s, "\t\theader {rm} Guestlist-Reason {reason}");
                    let _ = writeln!(s, "\t\trespond {rm} 403");
                }
            }
        }
        if !a.cors.is_empty() {
            self.cors(&mut s, &m, &tables)?;
        }
        if !deleted.is_empty() || !a.cors.is_empty() {
            s.push_str("\t\t# The upstream's own copies, deleted before the lines above are added.\n\t\theader {\n");
            if !a.cors.is_empty() {
                for h in OWNED {
                    let _ = writeln!(s, "\t\t\t-{h}");
                }
            }
            for h in &deleted {
                let _ = writeln!(s, "\t\t\t-{h}");
            }
            s.push_str("\t\t\tdefer\n\t\t}\n");
        }
        s.push_str(&self.upstream);
        s.push_str("\t}\n");
        self.out.push_str(&s);
        Ok(())
    }

    /// The CORS part of an answer whose routes' cors tables are `tables` (`None`: a route
    /// without one, which allows nothing): the preflight's 204 or 403 and every header by
    /// state.
    fn cors(
        &self,
        s: &mut String,
        m: &str,
        tables: &[Option<(u32, &guestlist::Cors)>],
    ) -> Result<(), Unsupported> {
        let indexed: Option<Vec<(u32, &guestlist::Cors)>> = tables.iter().copied().collect();
        let has = format!("{ORIGIN} != \"\"");
        let pf = all(&[
            format!("{METHOD} == \"OPTIONS\""),
            format!("{ACRM} != \"\""),
            has.clone(),
        ]);
        let names: Vec<String> = tables
            .iter()
            .map(|t| t.map_or("none".to_string(), |(_, c)| format!("`{}`", c.name())))
            .collect();
        let _ = writeln!(
            s,
            "\t\t# CORS: cors policy {}{}",
            names.join(", "),
            if names.len() > 1 {
                " (allowed only where every one allows, the stricter settings folded)"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "\t\t{m}_pf expression `{pf}`");
        let Some(indexed) = indexed else {
            // A route without a cors policy: a preflight is refused, nothing is allowed.
            let _ = writeln!(s, "\t\trespond {m}_pf 403");
            return Ok(());
        };
        let mut allows = Vec::new();
        let mut request_ok = Vec::new();
        for &(i, c) in &indexed {
            allows.push(self.cors_allows(i)?);
            request_ok.push(Self::cors_request_ok(c)?);
        }
        let every: Vec<&guestlist::Cors> = indexed.iter().map(|x| x.1).collect();
        let allowed = all(&allows);
        // The state is kept in `gl_st` (empty, `prej`, `pok` or `ok`), so that each test runs
        // once: a preflight's origin, method and headers, or an actual request's origin.
        let st = "{http.vars.gl_st}";
        let pok = all(&[
            format!("{st} == \"prej\""),
            allowed.clone(),
            all(&request_ok),
        ]);
        let actual = all(&[format!("{st} == \"\""), has.clone(), allowed]);
        let single = every.len() == 1;
        let any_origin = every.iter().all(|c| c.any_origin());
        let credentials = every.iter().all(|c| c.credentials());
        let static_any = every.iter().all(|c| c.is_static_any());
        let expose = fold_expose(&every);
        let max_age = fold_max_age(&every);
        let acao = if any_origin { "*" } else { ORIGIN };
        let value = |name: &str, v: &http::HeaderValue| -> Result<String, Unsupported> {
            let t = header_text(name, v.as_bytes())?;
            check_value(&format!("the {name} value"), t)?;
            Ok(q(t))
        };
        let _ = writeln!(s, "\t\tvars {m}_pf gl_st prej");
        let _ = writeln!(s, "\t\t{m}_pokx expression `{pok}`");
        let _ = writeln!(s, "\t\tvars {m}_pokx gl_st pok");
        let _ = writeln!(s, "\t\t{m}_okx expression `{actual}`");
        let _ = writeln!(s, "\t\tvars {m}_okx gl_st ok");
        let _ = writeln!(s, "\t\t{m}_pok vars gl_st pok");
        let _ = writeln!(s, "\t\t{m}_ok vars gl_st ok");
        s.push_str("\t\theader ");
        s.push_str(m);
        s.push_str("_pok {\n");
        let _ = writeln!(s, "\t\t\tAccess-Control-Allow-Origin {}", q(acao));
        if credentials {
            s.push_str("\t\t\tAccess-Control-Allow-Credentials true\n");
        }
        let _ = writeln!(s, "\t\t\tAccess-Control-Allow-Methods {}", q(ACRM));
        if let Some(v) = max_age {
            let _ = writeln!(
                s,
                "\t\t\tAccess-Control-Max-Age {}",
                value("access-control-max-age", v)?
            );
        }
        s.push_str("\t\t\tdefer\n\t\t}\n");
        // Allow-Headers: on a passed preflight that names a header.
        let acah = match every.first() {
            Some(c) if single && !(c.any_header() && c.credentials()) => {
                match c.allow_headers_value() {
                    Some(v) => Some(value("access-control-allow-headers", v)?),
                    None => None,
                }
            }
            _ => Some(q(ACRH)),
        };
        if let Some(v) = acah {
            let _ = writeln!(
                s,
                "\t\t{m}_pokh {{\n\t\t\tvars gl_st pok\n\t\t\texpression `{}`\n\t\t}}",
                matches(ACRH, &format!("[{TCHAR}]"))
            );
            let _ = writeln!(
                s,
                "\t\theader {m}_pokh Access-Control-Allow-Headers {v} {{\n\t\t\tdefer\n\t\t}}"
            );
        }
        let _ = writeln!(s, "\t\theader {m}_ok {{");
        let _ = writeln!(s, "\t\t\tAccess-Control-Allow-Origin {}", q(acao));
        if credentials {
            s.push_str("\t\t\tAccess-Control-Allow-Credentials true\n");
        }
        if let Some(v) = expose {
            let _ = writeln!(
                s,
                "\t\t\tAccess-Control-Expose-Headers {}",
                value("access-control-expose-headers", v)?
            );
        }
        s.push_str("\t\t\tdefer\n\t\t}\n");
        if static_any {
            let _ = writeln!(s, "\t\t{m}_none expression `{ORIGIN} == \"\"`");
            let _ = writeln!(s, "\t\theader {m}_none {{");
            s.push_str("\t\t\tAccess-Control-Allow-Origin \"*\"\n");
            if let Some(v) = expose {
                let _ = writeln!(
                    s,
                    "\t\t\tAccess-Control-Expose-Headers {}",
                    value("access-control-expose-headers", v)?
                );
            }
            s.push_str("\t\t\tdefer\n\t\t}\n");
        }
        s.push_str("\t\t# Preflights are answered here and never reach the upstream.\n");
        let _ = writeln!(s, "\t\trespond {m}_pok 204");
        let _ = writeln!(s, "\t\t{m}_prej vars gl_st prej");
        let _ = writeln!(s, "\t\trespond {m}_prej 403");
        Ok(())
    }
}

/// A route pattern as an RE2 regex over a path: each byte itself (`slashes`: each `/` as
/// `/+`, for the decoded path whose runs of `/` the normalised reading merges).
fn pattern_re(pattern: &str, slashes: bool) -> String {
    let (literal, prefix) = match pattern.strip_suffix('*') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let mut body = re(literal);
    if slashes {
        body = body.replace('/', "/+");
    }
    if prefix {
        format!("^{body}")
    } else {
        format!("^{body}$")
    }
}

/// The host block map's lines: each block's exact patterns (the host ignoring ASCII case and
/// one trailing dot, the port as written), then its `*.` patterns, longest domain first.
fn host_lines(spec: &guestlist::PolicySpec) -> Result<Vec<(String, usize)>, Unsupported> {
    let mut lines = Vec::new();
    let mut suffixes: Vec<(&str, usize)> = Vec::new();
    for (b, h) in spec.hosts.iter().enumerate() {
        for p in &h.patterns {
            check("host pattern", p)?;
            match p.strip_prefix("*.") {
                Some(s) => suffixes.push((s, b + 1)),
                None if p.starts_with('[') => lines.push((format!("(?i)^{}$", re(p)), b + 1)),
                None => {
                    let (h, port) = match p.rsplit_once(':') {
                        Some((h, port)) => (h, format!(":{port}")),
                        None => (p.as_str(), String::new()),
                    };
                    lines.push((format!("(?i)^{}\\.?{}$", re(h), re(&port)), b + 1));
                }
            }
        }
    }
    suffixes.sort_by_key(|(s, b)| {
        let domain = s.rsplit_once(':').map_or(*s, |(d, _)| d);
        (std::cmp::Reverse(domain.len()), *b, *s)
    });
    for (s, b) in suffixes {
        let (domain, port) = match s.rsplit_once(':') {
            Some((d, p)) => (d, format!(":{p}")),
            None => (s, String::new()),
        };
        lines.push((
            format!(
                "(?i)^[^.:\\[][^.:]*\\.(?:[^.:]+\\.)*{}\\.?{}$",
                re(domain),
                re(&port)
            ),
            b,
        ));
    }
    Ok(lines)
}

/// A regex map key: unquoted (Caddy keeps its backslashes), so it may hold no space.
fn key(r: &str) -> Result<String, Unsupported> {
    if r.bytes().any(|b| b == b' ' || b == b'"' || b < 0x20) || r.starts_with(['#', '{', '}']) {
        return Err(Unsupported(format!(
            "the regex {r:?} cannot be a Caddy map key"
        )));
    }
    Ok(format!("~{r}"))
}

/// Emits the Caddy files for `lowered`, a profile of `compilation`.
pub fn emit(
    compilation: &Compilation,
    lowered: &Lowered,
    opts: &Options,
) -> Result<Vec<File>, Unsupported> {
    let policy = &lowered.policy;
    let engine = Engine::Caddy;
    if let Some(e) = crate::emit::loss_errors(compilation, lowered, engine, &opts.accepted).first()
    {
        return Err(Unsupported(e.message.clone()));
    }
    if let Some(e) = errors(compilation, lowered).first() {
        return Err(Unsupported(e.message.clone()));
    }
    let accepted = crate::emit::accepted_lines(compilation, lowered, engine, &opts.accepted);
    let accepted: String = accepted
        .iter()
        .map(|l| format!("#   {l}\n"))
        .collect::<String>();
    let accepted = if accepted.is_empty() {
        accepted
    } else {
        format!("# Accepted losses (--accept-loss):\n{accepted}")
    };
    let root = opts.include_root.trim_end_matches('/');
    check("include root", root)?;
    let header = |what: &str| {
        format!(
            "# {} `{}`.\n# guestlist {} for profile `{}`, for Caddy 2.6.\n{accepted}{what}",
            crate::emit::GENERATED,
            opts.generated_by.replace('\n', " "),
            env!("CARGO_PKG_VERSION"),
            lowered.profile
        )
    };
    let upstream = match &opts.upstream_include {
        Some(u) => {
            check("upstream include", u)?;
            format!("\t\timport {u}\n")
        }
        None => String::new(),
    };
    let mut files = Vec::new();
    let mut snippet = String::new();
    // Sets supplied at run time: one map each, in a file of their own.
    for p in &lowered.spec.provided {
        let supplied = compilation.supplied.iter().find(|(n, _, _)| n == &p.name);
        let mut exact: Vec<&str> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        if let Some((_, _, entries)) = supplied {
            for (e, _) in entries {
                check("supplied origin", &e.origin)?;
                if e.origin.contains('*') {
                    let t = pattern_regex_of(&e.origin)?;
                    patterns.push(t);
                } else {
                    exact.push(&e.origin);
                }
            }
        }
        exact.sort_unstable();
        exact.dedup();
        patterns.sort_unstable();
        patterns.dedup();
        let mut body = String::new();
        for o in &exact {
            let _ = writeln!(body, "\t{} \"1\"", q(o));
        }
        for r in &patterns {
            let _ = writeln!(body, "\t{} \"p\"", key(r)?);
        }
        let what = match supplied {
            Some((_, from, _)) => format!(
                "supplied from {from}: {} exact entries and {} patterns",
                exact.len(),
                patterns.len()
            ),
            None => {
                "EMPTY: no entries were supplied (GL1407); Caddy allows none of its origins".into()
            }
        };
        let rel = set_file(&p.name);
        files.push(File {
            path: rel.clone(),
            text: header(&format!(
                "# The entries of origins set `{}`, {what}.\n\
                 # Imported by guestlist.caddy. To change the set, regenerate this file\n\
                 # (`--origins {}=FILE`) and `caddy reload`; a configuration Caddy refuses keeps the old one.\n\
                 # \"1\": an exact entry; \"p\": a pattern (the snippet bounds the host to 253 bytes).\n\
                 map {ORIGIN} {} {{\n{body}\tdefault \"0\"\n}}\n",
                p.name,
                p.name,
                set_placeholder(&p.name)
            )),
        });
        let _ = writeln!(snippet, "import {root}/{rel}");
    }
    let locs = Locations::new(policy, &lowered.spec);
    let hosts = policy.host_block_count() > 0;
    // The raw target's path (the absolute form's scheme and authority dropped, cut at `?`).
    snippet.push_str(
        "\n# The path as sent: the raw request target, without an absolute form's scheme and\n\
         # authority, cut at the first `?`. A target holding `#` (which browsers never send, and\n\
         # which Go passes on to the upstream as part of the path) reads as `#`: invalid.\n\
         map {http.request.orig_uri} {gl_raw} {\n\t~# \"#\"\n\t~^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*) \"$1\"\n}\n",
    );
    snippet.push_str(
        "# The path's form (spec/language.md, \"Path forms\"): n normal, t two readings, d refused\n\
         # (dot segments, a backslash, an escaped slash next to a slash), i invalid (longer than\n\
         # 8192 characters too).\n\
         map {gl_raw} {gl_form} {\n\
         \t~%00 \"i\"\n\
         \t~^.{1000}.{1000}.{1000}.{1000}.{1000}.{1000}.{1000}.{1000}.{193} \"i\"\n\
         \t~^[^/] \"i\"\n\
         \t~^(?:/[^./%\\\\][^/%\\\\]*)*/?$ \"n\"\n\
         \t~(?:/|%2[fF])(?:\\.|%2[eE]){1,2}(?:/|%2[fF]|$) \"d\"\n\
         \t~(?:\\\\|%5[cC]|(?:/|%2[fF])%2[fF]|%2[fF]/) \"d\"\n\
         \t~(?://|%|/\\.\\.?(?:/|$)) \"t\"\n\
         \tdefault \"n\"\n}\n",
    );
    // Locations in the runtime's order of precedence: exact patterns, then prefixes, longest
    // first.
    let mut order: Vec<usize> = (0..locs.patterns.len()).collect();
    order.sort_by_key(|&i| {
        let p = locs.patterns.get(i).map_or("", String::as_str);
        (p.ends_with('*'), std::cmp::Reverse(p.len()), i)
    });
    for (source, target, slashes, what) in [
        ("{gl_raw}", "{gl_ls}", false, "as sent (the raw path)"),
        (
            "{http.request.uri.path}",
            "{gl_ln}",
            true,
            "normalised (Go's decoded path, runs of `/` merged)",
        ),
    ] {
        let _ = writeln!(
            snippet,
            "# The location of the path's reading {what}: 1 + the index of its route pattern."
        );
        let _ = writeln!(snippet, "map {source} {target} {{");
        for &i in &order {
            let Some(p) = locs.patterns.get(i) else {
                continue;
            };
            check("route pattern", p)?;
            let _ = writeln!(snippet, "\t{} \"{}\"", key(&pattern_re(p, slashes))?, i + 1);
        }
        snippet.push_str("\tdefault \"0\"\n}\n");
    }
    if hosts {
        snippet.push_str(
            "# The host block the request's authority selects (0: the top-level routes): Go's\n\
             # Request.Host, the absolute-form target's authority, else `Host`.\n\
             map {http.request.hostport} {gl_hb} {\n",
        );
        for (r, b) in host_lines(&lowered.spec)? {
            let _ = writeln!(snippet, "\t{} \"{b}\"", key(&r)?);
        }
        snippet.push_str("\tdefault \"0\"\n}\n");
    }
    // Answers: every combination of host block and readings' locations.
    let mut answers: Vec<Answer> = vec![Answer::none()];
    let mut keyed: Vec<(String, usize)> = Vec::new();
    let blocks = policy.host_block_count();
    let count = locs.patterns.len();
    for h in 0..=blocks {
        for ln in 0..=count {
            let mut push = |k: String, a: Answer| {
                let id = match answers.iter().position(|x| *x == a) {
                    Some(i) => i,
                    None => {
                        answers.push(a);
                        answers.len() - 1
                    }
                };
                if id != 0 {
                    keyed.push((k, id));
                }
            };
            push(format!("{h}|n|{ln}|{ln}"), locs.answer(policy, h, None, ln));
            for ls in locs.as_sent_of(ln) {
                push(
                    format!("{h}|t|{ls}|{ln}"),
                    locs.answer(policy, h, Some(ls), ln),
                );
            }
        }
    }
    let hb = if hosts { "{gl_hb}" } else { "0" };
    let _ = writeln!(
        snippet,
        "# The answer: the routes a request is decided under, by host block, form and locations.\nmap \"{hb}|{{gl_form}}|{{gl_ls}}|{{gl_ln}}\" {{gl_ans}} {{"
    );
    for (k, id) in &keyed {
        let _ = writeln!(snippet, "\t\"{k}\" \"{id}\"");
    }
    snippet.push_str("\tdefault \"0\"\n}\n");
    // Caddy makes nonces itself: an accepted `csp-nonce` (given for another edge of the same
    // build) loses nothing here.
    let nonce_lost =
        opts.accepted.contains(&Loss::CspNonce) && Engine::Caddy.cannot().contains(&Loss::CspNonce);
    let route = |upstream: String| -> Result<String, Unsupported> {
        let mut w = Writer {
            policy,
            spec: &lowered.spec,
            out: String::new(),
            nonce_lost,
            hosts,
            upstream,
        };
        w.route(&answers)?;
        Ok(w.out)
    };
    snippet.push_str(&route(upstream)?);
    // Error responses (a `file_server` 404, a `reverse_proxy` 502) skip the site's routes:
    // the same answers again, each ending in the error's status instead of the upstream.
    snippet.push_str(
        "\n# Error responses of the upstream (or of the site's next handlers): the same headers.\n\
         handle_errors {",
    );
    snippet.push_str(&route(
        "\t\trespond {http.error.status_code}\n".to_string(),
    )?);
    snippet.push_str("}\n");
    files.insert(
        0,
        File {
            path: "guestlist.caddy".into(),
            text: header(&format!(
                "# Import inside a site block, as its only handling of requests and errors (it holds the\n\
                 # site's `handle_errors`):\n\
                 #     import {root}/guestlist.caddy\n\
                 # Requests the policy lets through reach the upstream include{}.\n\
                 # Never put `handle` or `respond` blocks of your own before it: Caddy sorts them first.\n{snippet}",
                opts.upstream_include
                    .as_ref()
                    .map_or_else(|| " (none given: the site's next handlers)".to_string(), |u| format!(" ({u})"))
            )),
        },
    );
    Ok(files)
}

/// The RE2 regex of a supplied origin pattern (a map key over `Origin`); the host's length
/// bound is tested by the snippet where it reads the set.
fn pattern_regex_of(p: &str) -> Result<String, Unsupported> {
    let t = pattern_test(p)
        .ok_or_else(|| Unsupported(format!("cannot translate origin pattern {p:?}")))?;
    // The test holds the pattern's regex as its last raw string.
    t.rsplit_once(".matches(r\"")
        .and_then(|(_, r)| r.strip_suffix("\")"))
        .map(str::to_string)
        .ok_or_else(|| Unsupported(format!("cannot translate origin pattern {p:?}")))
}

/// Writes the files under `dir` (atomically, only when changed) and removes the set files of
/// sets that no longer exist. Returns the files written.
pub fn write(dir: &Path, files: &[File]) -> std::io::Result<Vec<PathBuf>> {
    crate::emit::write(dir, files, &["sets"])
}
