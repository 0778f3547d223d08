//! Pass 3: the checks that depend on how settings combine, once per profile (the loop is in
//! `check`): a cors policy's origins with its credentials, lists and max-age; routes defined
//! twice or given two cors policies; each route's guard lines, and the conflicts between the
//! blocks they name. The guard kinds' own checks are in `guards`. Built on `checker`,
//! `optouts` and `origin`.

use std::collections::HashMap;

use super::checker::Checker;
use super::origin;
use crate::diag::{Diagnostic, Severity};
use crate::ir::headers::resolved_header_set;
use crate::ir::{
    active, CorsDecl, EffectiveOrigin, Entry, ListValue, Origin, OriginRef, Program, RouteDecl,
};
use crate::source::Span;

impl Checker {
    /// A cors policy active in `profile`: its origins (sets expanded) with its credentials,
    /// its lists, its max-age.
    pub(super) fn cors_in_profile(&mut self, program: &Program, c: &CorsDecl, profile: &str) {
        // Origins, with sets expanded.
        let (eff, inactive) = program.effective_origins(c, profile);
        for i in inactive {
            self.diags.push(
                Diagnostic::new(
                    "GL0101",
                    i.entry,
                    format!("origins set `{}` does not exist in this profile", i.name),
                )
                .label("limited to another profile")
                .secondary(i.set.head_span, "defined here")
                .help("limit this entry with the same `when`, or remove the set's `when`"),
            );
        }
        let creds = self.singular(&c.credentials, profile, "allow-credentials");
        let credentials = creds.first().is_some_and(|e| e.value);
        let cred_span = creds.first().map(|e| e.span);
        let ages = self.singular(&c.max_age, profile, "max-age");

        let broken = c.invalid > 0
            || c.origins.iter().any(|e| match &e.value {
                OriginRef::Set(n) => program.set(n).is_none_or(|s| s.invalid > 0),
                _ => false,
            });
        let provided = program.provided_in(&c.origins, profile);
        if credentials {
            for (set, at) in provided
                .iter()
                .filter(|(s, _)| s.provided.is_some_and(|p| !p.tenant_bound))
            {
                let mut d = Diagnostic::new(
                    "GL1402",
                    *at,
                    format!("every origin supplied in `{}` can read every user's responses", set.name),
                )
                .label("a set supplied at run time, with credentials")
                .secondary(set.head_span, "supplied at run time")
                .help(format!(
                    "if each entry belongs to one customer, declare `origins {} provided tenant-bound` (entries `ORIGIN KEY`) and check in the handler that the session belongs to the matched key (`guestlist::MatchedOrigin`)",
                    set.name
                ));
                if let Some(s) = cred_span {
                    d = d.secondary(s, "credentials allowed here");
                }
                self.diags.push(d);
            }
        }
        if eff.is_empty() && provided.is_empty() && !broken {
            self.diags.push(
                Diagnostic::new(
                    "GL0108",
                    c.name_span,
                    format!("cors policy `{}` allows no origin", c.name),
                )
                .label("no `allow-origins` applies")
                .help("add `allow-origins` with the origins that may call these routes"),
            );
        }
        let with_via = |mut d: Diagnostic, e: &EffectiveOrigin<'_>| {
            if let Some(v) = e.via {
                d = d.secondary(v, "through this set");
            }
            d
        };
        let any = eff.iter().find(|e| matches!(e.value, OriginRef::Any));
        if let Some(a) = any {
            if credentials {
                let mut d = Diagnostic::new("GL0213", a.span, "`*` origin with credentials")
                    .label("allows every origin")
                    .help("list the origins that may send credentials; browsers refuse `Access-Control-Allow-Origin: *` with credentials, and reflecting any origin would hand every site your users' sessions");
                if let Some(s) = cred_span {
                    d = d.secondary(s, "credentials allowed here");
                }
                self.diags.push(with_via(d, a));
            }
            if eff.len() > 1 {
                let d = Diagnostic::new("GL0215", a.span, "`*` next to other origins")
                    .label("`*` already allows every origin")
                    .help("remove the other entries, or replace `*` with the origins you mean");
                self.diags.push(with_via(d, a));
            }
        }
        // First mention of each canonical origin, and the patterns by (scheme, host), so that
        // duplicate and coverage checks stay linear in the number of origins.
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut patterns: HashMap<(&str, &str), Vec<(&Origin, Span)>> = HashMap::new();
        for e in &eff {
            let OriginRef::Literal(o) = e.value else {
                continue;
            };
            let literal = |f| origin::diagnostic(f, o.canonical.len(), e.span);
            if let Some(f) = guestlist_origins::public_suffix_wildcard(o) {
                let mut d = literal(f);
                if credentials {
                    if let Some(s) = cred_span {
                        d = d.secondary(s, "with credentials");
                    }
                    d = self.apply_optouts(d, &c.optouts);
                } else {
                    d = d.severity(Severity::Warning);
                }
                self.diags.push(with_via(d, e));
            }
            if let Some(f) = guestlist_origins::insecure_with_credentials(o).filter(|_| credentials)
            {
                let mut d = literal(f);
                if let Some(s) = cred_span {
                    d = d.secondary(s, "with credentials");
                }
                let d = self.apply_optouts(d, &c.optouts);
                self.diags.push(with_via(d, e));
            }
            if let Some(first) = seen.get(o.canonical.as_str()) {
                let d = Diagnostic::new(
                    "GL0216",
                    e.span,
                    format!("`{}` is listed twice", o.canonical),
                )
                .label("duplicate")
                .secondary(*first, "first listed here")
                .help("remove one of them");
                self.diags.push(with_via(d, e));
            } else {
                seen.insert(&o.canonical, e.span);
                if o.is_pattern() {
                    patterns
                        .entry((&o.scheme, &o.host))
                        .or_default()
                        .push((o, e.span));
                }
            }
        }
        for e in &eff {
            let OriginRef::Literal(o) = e.value else {
                continue;
            };
            // Candidate covering patterns: same host, or a wildcard over a suffix of the host.
            let host = o.host.as_str();
            let suffixes = std::iter::once(host).chain(
                host.char_indices()
                    .filter(|(_, c)| *c == '.')
                    .filter_map(|(i, _)| host.get(i + 1..)),
            );
            let cover = suffixes
                .flat_map(|h| patterns.get(&(o.scheme.as_str(), h)).into_iter().flatten())
                .find(|(p, _)| p.covers(o));
            if let Some((p, pspan)) = cover {
                let d = Diagnostic::new(
                    "GL0216",
                    e.span,
                    format!("`{}` is already covered by `{}`", o.canonical, p.canonical),
                )
                .label("redundant")
                .secondary(*pspan, "covered by this pattern")
                .help("remove it");
                self.diags.push(with_via(d, e));
            }
        }
        // Lists.
        let methods: Vec<&Entry<ListValue>> = c
            .methods
            .iter()
            .filter(|e| active(&e.when, profile))
            .collect();
        if credentials {
            if let Some(m) = methods.iter().find(|m| m.value == ListValue::Any) {
                self.diags.push(
                    Diagnostic::new("GL0306", m.span, "`allow-methods *` with credentials")
                        .label("every method is allowed")
                        .note("with credentials `*` is literal to browsers, so the runtime echoes the requested method"),
                );
            }
        }
        let headers: Vec<&Entry<ListValue>> = c
            .headers
            .iter()
            .filter(|e| active(&e.when, profile))
            .collect();
        if let Some(h) = headers.iter().find(|h| h.value == ListValue::Any) {
            let auth = headers
                .iter()
                .any(|h| matches!(&h.value, ListValue::Name(n) if n.eq_ignore_ascii_case("authorization")));
            if !auth {
                self.diags.push(
                    Diagnostic::new(
                        "GL0404",
                        h.span,
                        "`allow-headers *` does not cover Authorization",
                    )
                    .label("every header but Authorization")
                    .help("list `Authorization` by name if pages send it"),
                );
            }
        }
        for e in c.expose.iter().filter(|e| active(&e.when, profile)) {
            if e.value == ListValue::Any && credentials {
                let mut d =
                    Diagnostic::new("GL0405", e.span, "`expose-headers *` with credentials")
                        .label("`*` is literal to browsers with credentials")
                        .help("list the response headers pages may read");
                if let Some(s) = cred_span {
                    d = d.secondary(s, "credentials allowed here");
                }
                self.diags.push(d);
            }
        }
        match ages.first() {
            None => self.diags.push(
                Diagnostic::new(
                    "GL0506",
                    c.name_span,
                    format!("cors policy `{}` has no max-age", c.name),
                )
                .label("browsers will cache its preflights for 5 seconds only")
                .help("add `max-age 2h` (Chromium's cap) to save a preflight per request"),
            ),
            Some(e) => {
                let v = e.value;
                if v < 0 {
                    self.diags.push(
                        Diagnostic::new("GL0502", e.span, "negative max-age")
                            .label("browsers treat it as missing (5 seconds)")
                            .help("write `max-age 0` to disable preflight caching")
                            .fix(e.span, "0"),
                    );
                } else if v > 86_400 {
                    self.diags.push(
                        Diagnostic::new("GL0503", e.span, format!("max-age {v}s is over a day"))
                            .label("no browser caches a preflight longer than 86400 seconds")
                            .help(
                                "write `max-age 2h` (Chromium's cap) or at most `1d` (Firefox's)",
                            ),
                    );
                } else if v > 7_200 {
                    self.diags.push(
                        Diagnostic::new(
                            "GL0504",
                            e.span,
                            format!("max-age {v}s is over Chromium's cap"),
                        )
                        .label("Chromium caches preflights for 7200 seconds at most")
                        .help("write `max-age 2h` unless Firefox users matter most"),
                    );
                } else if v > 600 {
                    self.diags.push(
                        Diagnostic::new(
                            "GL0505",
                            e.span,
                            format!("max-age {v}s is over WebKit's cap"),
                        )
                        .label("Safari caches preflights for 600 seconds at most"),
                    );
                }
            }
        }
    }

    /// Routes defined twice, and each route's cors line.
    pub(super) fn routes_in_profile(&mut self, program: &Program, profile: &str) {
        // Per host block: the same pattern in several host blocks and at top level is normal.
        let mut seen: HashMap<(Option<usize>, &str), Span> = HashMap::new();
        for r in program.routes.iter().filter(|r| active(&r.when, profile)) {
            if let Some(first) = seen.get(&(r.host, r.pattern.as_str())) {
                self.diags.push(
                    Diagnostic::new(
                        "GL0103",
                        r.span,
                        format!("route \"{}\" is defined twice", r.pattern),
                    )
                    .label("second definition")
                    .secondary(*first, "first defined here")
                    .help("merge the two blocks"),
                );
            } else {
                seen.insert((r.host, &r.pattern), r.span);
            }
            let cors: Vec<&Entry<String>> =
                r.cors.iter().filter(|e| active(&e.when, profile)).collect();
            if let [first, rest @ ..] = cors.as_slice() {
                for e in rest {
                    self.diags.push(
                        Diagnostic::new("GL0105", e.span, "a route has one cors policy")
                            .label("second cors policy")
                            .secondary(first.span, "first one here")
                            .help("merge the policies into one cors block; stacked CORS policies produce invalid headers"),
                    );
                }
                if let Some((_, decl)) = program.cors_decl(&first.value) {
                    if !active(&decl.when, profile) {
                        self.diags.push(
                            Diagnostic::new("GL0101", first.span, format!("cors policy `{}` does not exist in this profile", first.value))
                                .label("limited to another profile")
                                .secondary(decl.head_span, "defined here")
                                .help("limit this line with the same `when`, or remove the policy's `when`"),
                        );
                    }
                }
            }
        }
    }

    /// Each route's guard lines: one of each kind, and the conflicts between the blocks they
    /// name.
    pub(super) fn route_guards_in_profile(&mut self, program: &Program, profile: &str) {
        for r in program.routes.iter().filter(|r| active(&r.when, profile)) {
            for (list, what) in [
                (&r.csp, "csp"),
                (&r.headers, "headers"),
                (&r.csrf, "csrf"),
                (&r.websocket, "websocket"),
            ] {
                let l: Vec<&Entry<String>> =
                    list.iter().filter(|e| active(&e.when, profile)).collect();
                if let [first, rest @ ..] = l.as_slice() {
                    for e in rest {
                        self.diags.push(
                            Diagnostic::new(
                                "GL0105",
                                e.span,
                                format!("a route has one {what} policy"),
                            )
                            .label(format!("second {what} policy"))
                            .secondary(first.span, "first one here")
                            .help(format!("merge them into one {what} block")),
                        );
                    }
                }
            }
            self.route_conflicts(program, r, profile);
        }
    }

    fn route_conflicts(&mut self, program: &Program, r: &RouteDecl, profile: &str) {
        let first = |l: &[Entry<String>]| l.iter().find(|e| active(&e.when, profile)).cloned();
        let headers =
            first(&r.headers).map(|e| (resolved_header_set(program, &e.value, profile).0, e.span));
        let cors =
            first(&r.cors).and_then(|e| program.cors_decl(&e.value).map(|(_, c)| (c, e.span)));
        let csp = first(&r.csp).and_then(|e| {
            program
                .csp
                .iter()
                .find(|c| c.name == e.value)
                .map(|c| (c, e.span))
        });
        let csrf = first(&r.csrf).and_then(|e| {
            program
                .csrf
                .iter()
                .find(|c| c.name == e.value)
                .map(|c| (c, e.span))
        });
        if let (Some((h, hspan)), Some((c, cspan))) = (&headers, &cors) {
            let (eff, _) = program.effective_origins(c, profile);
            if h.iter()
                .any(|(n, v)| n == "cross-origin-resource-policy" && v != "cross-origin")
                && !eff.is_empty()
            {
                self.diags.push(
                    Diagnostic::new("GL0906", *hspan, "Cross-Origin-Resource-Policy blocks what the cors policy allows")
                        .label("this header set sends Cross-Origin-Resource-Policy: same-origin or same-site")
                        .secondary(*cspan, "this cors policy serves other origins")
                        .help("set `cross-origin-resource-policy cross-origin` in the header set for this route"),
                );
            }
        }
        if let (Some((h, hspan)), Some((c, cspan))) = (&headers, &csp) {
            let fa = c
                .directives
                .iter()
                .find(|l| l.name == "frame-ancestors" && active(&l.when, profile));
            let xfo = h
                .iter()
                .find(|(n, _)| n == "x-frame-options")
                .map(|(_, v)| v.as_str());
            if let (Some(fa), Some(xfo)) = (fa, xfo) {
                let fa_none = fa.values.iter().all(|(v, _)| v == "'none'");
                let fa_self = fa.values.iter().all(|(v, _)| v == "'self'");
                let agrees = (xfo == "DENY" && fa_none) || (xfo == "SAMEORIGIN" && fa_self);
                if !agrees {
                    self.diags.push(
                        Diagnostic::new("GL0907", fa.line, "frame-ancestors and X-Frame-Options disagree")
                            .label(format!("browsers with CSP use this; older ones use X-Frame-Options: {xfo}"))
                            .secondary(*hspan, "X-Frame-Options comes from this header set")
                            .secondary(*cspan, "frame-ancestors from this csp policy")
                            .help("make them say the same: `frame-ancestors 'none'` with DENY, `'self'` with SAMEORIGIN"),
                    );
                }
            }
        }
        if let (Some((c, cspan)), Some((cors_decl, _))) = (&csrf, &cors) {
            let (eff, _) = program.effective_origins(cors_decl, profile);
            if eff.iter().any(|e| matches!(e.value, OriginRef::Any)) {
                self.diags.push(
                    Diagnostic::new("GL0955", *cspan, format!("csrf policy `{}` does not trust `*`", c.name))
                        .label("the route's cors policy allows every origin")
                        .help("only origins a cors policy lists by name or pattern are trusted by the csrf check; add partners to `trusted-origins`")
                        .severity(Severity::Note),
                );
            }
        }
    }
}
