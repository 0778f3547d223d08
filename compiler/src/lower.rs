//! Lowering: a checked [`Program`] and one profile -> the runtime's [`guestlist::Policy`], plus
//! a side table of where each table entry came from ([`Provenance`], for `explain` and docs).
//!
//! The runtime tables are built with the runtime's own [`guestlist::Policy::build`], so the
//! CLI, tests and (later) generated code all evaluate through the same types.

use crate::ir::{active, ListValue, OriginRef, Program};
use crate::source::Span;

/// Where one route of the lowered policy came from.
#[derive(Debug, Clone)]
pub struct RouteProv {
    /// The pattern string.
    pub span: Span,
    /// The `cors NAME` line, if any.
    pub cors_line: Option<Span>,
}

/// Where the parts of one lowered CORS policy came from.
#[derive(Debug, Clone, Default)]
pub struct CorsProv {
    /// The block head.
    pub head: Option<Span>,
    /// Exact origin `i` (first mention).
    pub exact: Vec<Span>,
    /// Pattern `i` (first mention).
    pub patterns: Vec<Span>,
    /// The `*` entry.
    pub any: Option<Span>,
    /// `allow-methods` lines.
    pub method_lines: Vec<Span>,
    /// `allow-headers` lines.
    pub header_lines: Vec<Span>,
    /// `allow-credentials` line.
    pub credentials_line: Option<Span>,
}

/// Provenance of a lowered policy.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Per route index.
    pub routes: Vec<RouteProv>,
    /// Per CORS policy index.
    pub cors: Vec<CorsProv>,
}

/// A policy lowered for one profile.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// The profile.
    pub profile: String,
    /// The runtime tables.
    pub policy: guestlist::Policy,
    /// The plain data the tables were built from (code generation writes these out).
    pub specs: (Vec<guestlist::RouteSpec>, Vec<guestlist::CorsSpec>),
    /// Where each entry came from.
    pub provenance: Provenance,
}

/// Lowers `program` for `profile`. The program must have passed the checker without errors;
/// the runtime's build error is returned if it did not.
pub fn lower(program: &Program, profile: &str) -> Result<Lowered, guestlist::BuildError> {
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
                        span: Span,
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
                }
            }
            OriginRef::Literal(o) => {
                if seen.insert(o.canonical.clone()) {
                    spec.origins.push(o.canonical.clone());
                    prov.exact.push(span);
                }
            }
            OriginRef::Set(_) => {}
        };
        for e in program.effective_origins(c, profile).0 {
            push(e.value, e.span, &mut spec, &mut prov);
        }
        if let Some(e) = c.credentials.iter().find(|e| active(&e.when, profile)) {
            spec.credentials = e.value;
            prov.credentials_line = Some(e.line);
        }
        for e in c.methods.iter().filter(|e| active(&e.when, profile)) {
            match &e.value {
                ListValue::Any => spec.any_method = true,
                ListValue::Name(n) if !spec.methods.contains(n) => spec.methods.push(n.clone()),
                ListValue::Name(_) => {}
            }
            if !prov.method_lines.contains(&e.line) {
                prov.method_lines.push(e.line);
            }
        }
        for e in c.headers.iter().filter(|e| active(&e.when, profile)) {
            match &e.value {
                ListValue::Any => spec.any_header = true,
                ListValue::Name(n) => {
                    if !spec.headers.iter().any(|h| h.eq_ignore_ascii_case(n)) {
                        spec.headers.push(n.clone());
                    }
                }
            }
            if !prov.header_lines.contains(&e.line) {
                prov.header_lines.push(e.line);
            }
        }
        for e in c.expose.iter().filter(|e| active(&e.when, profile)) {
            match &e.value {
                ListValue::Any => spec.expose_any = true,
                ListValue::Name(n) => {
                    if !spec.expose.iter().any(|h| h.eq_ignore_ascii_case(n)) {
                        spec.expose.push(n.clone());
                    }
                }
            }
        }
        spec.max_age = c
            .max_age
            .iter()
            .find(|e| active(&e.when, profile))
            .map(|e| u32::try_from(e.value.max(0)).unwrap_or(u32::MAX));
        cors_index.insert(c.name.clone(), cors_specs.len());
        cors_specs.push(spec);
        cors_prov.push(prov);
    }
    let mut route_specs = Vec::new();
    let mut route_prov = Vec::new();
    for r in program.routes.iter().filter(|r| active(&r.when, profile)) {
        let line = r.cors.iter().find(|e| active(&e.when, profile));
        route_specs.push(guestlist::RouteSpec {
            pattern: r.pattern.clone(),
            cors: line.and_then(|l| cors_index.get(&l.value).copied()),
            ..Default::default()
        });
        route_prov.push(RouteProv {
            span: r.span,
            cors_line: line.map(|l| l.line),
        });
    }
    let policy = guestlist::Policy::build(route_specs.clone(), cors_specs.clone())?;
    Ok(Lowered {
        profile: profile.to_string(),
        policy,
        specs: (route_specs, cors_specs),
        provenance: Provenance {
            routes: route_prov,
            cors: cors_prov,
        },
    })
}
