//! Lowering: a checked [`Program`] and one profile -> the runtime's [`guestlist::Policy`], plus
//! a side table of where each table entry came from ([`Provenance`], for `explain` and docs).
//!
//! The runtime tables are built with the runtime's own [`guestlist::Policy::from_spec`], so the
//! CLI, `explain`, `test` blocks and generated code all evaluate through the same types.

use crate::ir::headers::{resolved_header_set, DEFAULT_HEADERS};
use crate::ir::{active, CspDecl, Entry, ListValue, OriginRef, Program, NONCE};
use crate::source::Span;

/// Where one route of the lowered policy came from.
#[derive(Debug, Clone)]
pub struct RouteProv {
    /// The pattern string.
    pub span: Span,
    /// The `cors NAME` line, if any.
    pub cors_line: Option<Span>,
    /// The `csrf NAME` line, if any.
    pub csrf_line: Option<Span>,
    /// The `websocket NAME` line, if any.
    pub websocket_line: Option<Span>,
    /// The `csp NAME` line, if any.
    pub csp_line: Option<Span>,
    /// The `headers NAME` line, if any.
    pub headers_line: Option<Span>,
}

/// Where the parts of one lowered CORS policy came from.
#[derive(Debug, Clone, Default)]
pub struct CorsProv {
    /// The block head.
    pub head: Option<Span>,
    /// Exact origin `i` (first mention).
    pub exact: Vec<Span>,
    /// Exact origin `i`'s `allow-origins` entry naming the static set it came through.
    pub exact_via: Vec<Option<Span>>,
    /// Pattern `i` (first mention).
    pub patterns: Vec<Span>,
    /// Pattern `i`'s `allow-origins` entry naming the static set it came through.
    pub patterns_via: Vec<Option<Span>>,
    /// The `*` entry.
    pub any: Option<Span>,
    /// `allow-methods` lines.
    pub method_lines: Vec<Span>,
    /// `allow-headers` lines.
    pub header_lines: Vec<Span>,
    /// `allow-credentials` line.
    pub credentials_line: Option<Span>,
    /// Method `i` (first mention).
    pub methods: Vec<Span>,
    /// The `allow-methods *` entry.
    pub any_method: Option<Span>,
    /// Request header `i` (first mention).
    pub headers: Vec<Span>,
    /// The `allow-headers *` entry.
    pub any_header: Option<Span>,
    /// Exposed header `i` (first mention).
    pub expose: Vec<Span>,
    /// The `expose-headers *` entry.
    pub expose_any: Option<Span>,
    /// Supplied set `i` of the policy: the entry naming it.
    pub provided: Vec<Span>,
    /// The `max-age` line in force.
    pub max_age_line: Option<Span>,
}

/// Provenance of a lowered policy.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Per route index.
    pub routes: Vec<RouteProv>,
    /// Per CORS policy index.
    pub cors: Vec<CorsProv>,
    /// Per CSP policy index: the block head.
    pub csp: Vec<Span>,
    /// Per header set index: the block head (`None` for the built-in `default`).
    pub headers: Vec<Option<Span>>,
    /// Per CSRF policy index: the block head.
    pub csrf: Vec<Span>,
    /// Per WebSocket policy index: the block head.
    pub websocket: Vec<Span>,
    /// Per host block index: the block head.
    pub hosts: Vec<Span>,
}

/// A policy lowered for one profile: the runtime's tables, which decide requests, and what the
/// compiler's outputs need besides ([`Compilation::lower`](crate::Compilation::lower) makes one).
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The profile.
    pub(crate) profile: String,
    /// The runtime tables.
    pub policy: guestlist::Policy,
    /// The plain data the tables were built from.
    pub(crate) spec: guestlist::PolicySpec,
    /// Where each entry came from.
    pub(crate) provenance: Provenance,
}

/// Lowers `program` for `profile`. The program must have passed the checker without errors;
/// the runtime's build error is returned if it did not.
pub fn lower(program: &Program, profile: &str) -> Result<Lowered, guestlist::TableError> {
    // Sets supplied at run time, active in the profile: empty here (nothing supplies them at
    // build time), filled through `Policy::replace_provided` (feature `provided`).
    let provided: Vec<guestlist::ProvidedSpec> = program
        .sets
        .iter()
        .filter(|s| active(&s.when, profile))
        .filter_map(|s| {
            s.provided.map(|p| guestlist::ProvidedSpec {
                name: s.name.clone(),
                tenant_bound: p.tenant_bound,
                patterns: p.patterns,
            })
        })
        .collect();
    let mut cors_specs = Vec::new();
    let mut cors_prov = Vec::new();
    let mut cors_index = std::collections::HashMap::new();
    for c in program.cors.iter().filter(|c| active(&c.when, profile)) {
        let mut spec = guestlist::CorsSpec {
            name: c.name.clone(),
            ..Default::default()
        };
        let mut prov = CorsProv {
            head: Some(c.head_span),
            ..Default::default()
        };
        let mut seen = std::collections::HashSet::new();
        let mut push = |value: &OriginRef,
                        (span, via): (Span, Option<Span>),
                        spec: &mut guestlist::CorsSpec,
                        prov: &mut CorsProv| match value {
            OriginRef::Any => {
                spec.any_origin = true;
                prov.any.get_or_insert(span);
            }
            OriginRef::Literal(o) if o.is_pattern() => {
                if seen.insert(o.canonical.clone()) {
                    spec.patterns.push(o.canonical.clone());
                    prov.patterns.push(span);
                    prov.patterns_via.push(via);
                }
            }
            OriginRef::Literal(o) => {
                if seen.insert(o.canonical.clone()) {
                    spec.origins.push(o.canonical.clone());
                    prov.exact.push(span);
                    prov.exact_via.push(via);
                }
            }
            OriginRef::Set(_) => {}
        };
        for e in program.effective_origins(c, profile).0 {
            push(e.value, (e.span, e.via), &mut spec, &mut prov);
        }
        for (set, span) in program.provided_in(&c.origins, profile) {
            if let Some(i) = provided.iter().position(|p| p.name == set.name) {
                spec.provided.push(i);
                prov.provided.push(span);
            }
        }
        if let Some(e) = c.credentials.iter().find(|e| active(&e.when, profile)) {
            spec.credentials = e.value;
            prov.credentials_line = Some(e.line);
        }
        for e in c.methods.iter().filter(|e| active(&e.when, profile)) {
            match &e.value {
                ListValue::Any => {
                    spec.any_method = true;
                    prov.any_method.get_or_insert(e.span);
                }
                ListValue::Name(n) if !spec.methods.contains(n) => {
                    spec.methods.push(n.clone());
                    prov.methods.push(e.span);
                }
                ListValue::Name(_) => {}
            }
            if !prov.method_lines.contains(&e.line) {
                prov.method_lines.push(e.line);
            }
        }
        for e in c.headers.iter().filter(|e| active(&e.when, profile)) {
            match &e.value {
                ListValue::Any => {
                    spec.any_header = true;
                    prov.any_header.get_or_insert(e.span);
                }
                ListValue::Name(n) => {
                    if !spec.headers.iter().any(|h| h.eq_ignore_ascii_case(n)) {
                        spec.headers.push(n.clone());
                        prov.headers.push(e.span);
                    }
                }
            }
            if !prov.header_lines.contains(&e.line) {
                prov.header_lines.push(e.line);
            }
        }
        for e in c.expose.iter().filter(|e| active(&e.when, profile)) {
            match &e.value {
                ListValue::Any => {
                    spec.expose_any = true;
                    prov.expose_any.get_or_insert(e.span);
                }
                ListValue::Name(n) => {
                    if !spec.expose.iter().any(|h| h.eq_ignore_ascii_case(n)) {
                        spec.expose.push(n.clone());
                        prov.expose.push(e.span);
                    }
                }
            }
        }
        let max_age = c.max_age.iter().find(|e| active(&e.when, profile));
        spec.max_age = max_age.map(|e| u32::try_from(e.value.max(0)).unwrap_or(u32::MAX));
        prov.max_age_line = max_age.map(|e| e.line);
        cors_index.insert(c.name.clone(), cors_specs.len());
        cors_specs.push(spec);
        cors_prov.push(prov);
    }
    let guards = lower_guards(program, profile, &provided);
    let mut route_specs = Vec::new();
    let mut route_prov = Vec::new();
    // Grouped as the runtime's tables want them: top-level routes first, then each host
    // block's, in block order (a stable sort keeps declaration order within each).
    let mut routes: Vec<&crate::ir::RouteDecl> = program
        .routes
        .iter()
        .filter(|r| active(&r.when, profile))
        .collect();
    routes.sort_by_key(|r| r.host.map_or(0, |h| h + 1));
    for r in routes {
        let line = r.cors.iter().find(|e| active(&e.when, profile));
        let pick = |list: &[Entry<String>], names: &[String]| {
            list.iter()
                .find(|e| active(&e.when, profile))
                .and_then(|e| names.iter().position(|n| *n == e.value))
        };
        route_specs.push(guestlist::RouteSpec {
            pattern: r.pattern.clone(),
            cors: line.and_then(|l| cors_index.get(&l.value).copied()),
            csp: pick(&r.csp, &guards.csp_names),
            headers: pick(&r.headers, &guards.header_names),
            csrf: pick(&r.csrf, &guards.csrf_names),
            websocket: pick(&r.websocket, &guards.ws_names),
            host: r.host,
        });
        let line_of = |list: &[Entry<String>]| {
            list.iter()
                .find(|e| active(&e.when, profile))
                .map(|e| e.line)
        };
        route_prov.push(RouteProv {
            span: r.span,
            cors_line: line.map(|l| l.line),
            csrf_line: line_of(&r.csrf),
            websocket_line: line_of(&r.websocket),
            csp_line: line_of(&r.csp),
            headers_line: line_of(&r.headers),
        });
    }
    let spec = guestlist::PolicySpec {
        routes: route_specs,
        cors: cors_specs,
        csp: guards.csp,
        headers: guards.headers,
        csrf: guards.csrf,
        websocket: guards.websocket,
        non_normal: program
            .paths
            .as_ref()
            .map_or_else(Default::default, |p| p.non_normal),
        provided,
        hosts: program
            .hosts
            .iter()
            .map(|h| guestlist::HostSpec {
                patterns: h
                    .patterns
                    .iter()
                    .map(crate::ir::HostPattern::text)
                    .collect(),
            })
            .collect(),
        hosts_dispatched: program.hosts_dispatched.is_some(),
    };
    let policy = guestlist::Policy::from_spec(spec.clone())?;
    Ok(Lowered {
        profile: profile.to_string(),
        policy,
        spec,
        provenance: Provenance {
            routes: route_prov,
            cors: cors_prov,
            csp: guards.csp_prov,
            headers: guards.header_prov,
            csrf: guards.csrf_prov,
            websocket: guards.ws_prov,
            hosts: program.hosts.iter().map(|h| h.head_span).collect(),
        },
    })
}

#[derive(Default)]
struct GuardSpecs {
    csp: Vec<guestlist::CspSpec>,
    csp_names: Vec<String>,
    csp_prov: Vec<Span>,
    headers: Vec<guestlist::HeaderSetSpec>,
    header_names: Vec<String>,
    header_prov: Vec<Option<Span>>,
    csrf: Vec<guestlist::CsrfSpec>,
    csrf_names: Vec<String>,
    csrf_prov: Vec<Span>,
    websocket: Vec<guestlist::WebSocketSpec>,
    ws_names: Vec<String>,
    ws_prov: Vec<Span>,
}

/// The serialized CSP of one block in one profile, split at each `'nonce'`, and its
/// `Reporting-Endpoints` value.
pub fn csp_parts(c: &CspDecl, profile: &str) -> (Vec<String>, Option<String>) {
    let mut text = String::new();
    for l in c.directives.iter().filter(|l| active(&l.when, profile)) {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&l.name);
        for (v, _) in &l.values {
            text.push(' ');
            if v.eq_ignore_ascii_case(NONCE) {
                text.push_str("'nonce-\u{0}'");
            } else {
                text.push_str(v);
            }
        }
    }
    let parts = text.split('\u{0}').map(str::to_string).collect();
    let endpoints: Vec<String> = c
        .endpoints
        .iter()
        .filter(|e| active(&e.when, profile))
        .map(|e| format!("{}=\"{}\"", e.value.0, e.value.1))
        .collect();
    (parts, (!endpoints.is_empty()).then(|| endpoints.join(", ")))
}

fn lower_guards(
    program: &Program,
    profile: &str,
    provided: &[guestlist::ProvidedSpec],
) -> GuardSpecs {
    // The indexes into `provided` of the supplied sets `list` names.
    let provided_in = |list: &[crate::ir::Entry<OriginRef>]| -> Vec<usize> {
        program
            .provided_in(list, profile)
            .iter()
            .filter_map(|(set, _)| provided.iter().position(|p| p.name == set.name))
            .collect()
    };
    let mut g = GuardSpecs::default();
    for c in program.csp.iter().filter(|c| active(&c.when, profile)) {
        let (parts, reporting_endpoints) = csp_parts(c, profile);
        g.csp.push(guestlist::CspSpec {
            name: c.name.clone(),
            report_only: c.report_only.iter().any(|e| active(&e.when, profile)),
            parts,
            reporting_endpoints,
        });
        g.csp_names.push(c.name.clone());
        g.csp_prov.push(c.head_span);
    }
    // The built-in set first, when a route uses it.
    let uses_default = program
        .routes
        .iter()
        .filter(|r| active(&r.when, profile))
        .any(|r| {
            r.headers
                .iter()
                .any(|e| active(&e.when, profile) && e.value == DEFAULT_HEADERS)
        });
    let names = uses_default
        .then(|| (DEFAULT_HEADERS.to_string(), None))
        .into_iter()
        .chain(
            program
                .headers
                .iter()
                .filter(|h| active(&h.when, profile))
                .map(|h| (h.name.clone(), Some(h.head_span))),
        );
    for (name, head) in names {
        let (set, remove) = resolved_header_set(program, &name, profile);
        g.headers.push(guestlist::HeaderSetSpec {
            name: name.clone(),
            set,
            remove,
        });
        g.header_names.push(name);
        g.header_prov.push(head);
    }
    for c in program.csrf.iter().filter(|c| active(&c.when, profile)) {
        let on = |l: &[Entry<String>]| {
            let mut v: Vec<String> = Vec::new();
            for e in l.iter().filter(|e| active(&e.when, profile)) {
                if !v.contains(&e.value) {
                    v.push(e.value.clone());
                }
            }
            v
        };
        g.csrf.push(guestlist::CsrfSpec {
            name: c.name.clone(),
            trusted: {
                let mut t = on(&c.trusted);
                // Static sets named in trusted-origins: their exact entries (the checker
                // refuses patterns, `*` and `null` there). A provided set's entries are
                // supplied at run time.
                for e in program.expand_origins(&c.trusted_sets, profile).0 {
                    if let OriginRef::Literal(o) = e.value {
                        if !o.is_pattern() && !o.null && !t.contains(&o.canonical) {
                            t.push(o.canonical.clone());
                        }
                    }
                }
                t
            },
            self_origins: on(&c.self_origins),
            allow_same_site: c
                .same_site
                .iter()
                .find(|e| active(&e.when, profile))
                .is_some_and(|e| e.value),
            reject_missing: c
                .missing
                .iter()
                .find(|e| active(&e.when, profile))
                .is_some_and(|e| e.value),
            exempt: c
                .exempt
                .iter()
                .filter(|e| active(&e.when, profile))
                .map(|e| e.value.clone())
                .collect(),
            token: c
                .token
                .iter()
                .find(|e| active(&e.when, profile))
                .map(|e| e.value.clone()),
            trusted_provided: provided_in(&c.trusted_sets),
        });
        g.csrf_names.push(c.name.clone());
        g.csrf_prov.push(c.head_span);
    }
    for w in program
        .websocket
        .iter()
        .filter(|w| active(&w.when, profile))
    {
        let mut spec = guestlist::WebSocketSpec {
            name: w.name.clone(),
            same_origin: w.same_origin.iter().any(|e| active(&e.when, profile)),
            allow_missing: w
                .missing
                .iter()
                .find(|e| active(&e.when, profile))
                .is_some_and(|e| e.value),
            provided: provided_in(&w.origins),
            ..Default::default()
        };
        for e in program.expand_origins(&w.origins, profile).0 {
            if let OriginRef::Literal(o) = e.value {
                let list = if o.is_pattern() {
                    &mut spec.patterns
                } else {
                    &mut spec.origins
                };
                if !list.contains(&o.canonical) {
                    list.push(o.canonical.clone());
                }
            }
        }
        g.websocket.push(spec);
        g.ws_names.push(w.name.clone());
        g.ws_prov.push(w.head_span);
    }
    g
}

#[cfg(test)]
mod tests {
    #[test]
    fn provided_sets_are_lowered_empty_and_named_by_their_cors_policies() {
        let c = crate::Compilation::from_str(
            "p.policy",
            "origins tenants provided tenant-bound\norigins ops provided patterns when dev\ncors api {\n    allow-origins \"https://a.example.com\" tenants\n    allow-origins ops when dev\n    max-age 2h\n}\nroute \"/api/*\" { cors api }\n",
        );
        assert!(!c.has_errors(), "{}", c.render());
        for (profile, sets) in [
            ("default", vec!["tenants"]),
            ("dev", vec!["tenants", "ops"]),
        ] {
            let l = c.lower(profile).expect("lowers");
            let names: Vec<&str> = l.spec.provided.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, sets, "{profile}");
            assert!(l.spec.provided[0].tenant_bound);
            let cors = &l.spec.cors[0];
            assert_eq!(cors.origins, ["https://a.example.com"]);
            assert_eq!(
                cors.provided,
                (0..sets.len()).collect::<Vec<_>>(),
                "{profile}"
            );
        }
    }
}
