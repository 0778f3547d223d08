//! Pass 2: names. The profiles the `when`s name (and the tests' `profile` lines), one
//! namespace for origins sets and cors policies and one for each guard kind, and every
//! reference to them: unknown (GL0101, with "did you mean"), defined twice (GL0102), never
//! used (GL0107). Built on `checker`.

use std::collections::{BTreeSet, HashMap};

use super::checker::{did_you_mean, Checker};
use crate::diag::Diagnostic;
use crate::ir::headers::DEFAULT_HEADERS;
use crate::ir::{Entry, OriginRef, DEFAULT_PROFILE};
use crate::source::Span;

impl Checker {
    /// The profiles, then the names of origins sets and cors policies.
    pub(super) fn resolve(&mut self) {
        // Profiles.
        let mut profiles = BTreeSet::new();
        let whens = self
            .program
            .sets
            .iter()
            .flat_map(|s| std::iter::once(&s.when).chain(s.items.iter().map(|e| &e.when)))
            .chain(self.program.cors.iter().flat_map(|c| {
                std::iter::once(&c.when)
                    .chain(c.origins.iter().map(|e| &e.when))
                    .chain(c.credentials.iter().map(|e| &e.when))
                    .chain(c.methods.iter().map(|e| &e.when))
                    .chain(c.headers.iter().map(|e| &e.when))
                    .chain(c.expose.iter().map(|e| &e.when))
                    .chain(c.max_age.iter().map(|e| &e.when))
            }))
            .chain(self.program.routes.iter().flat_map(|r| {
                std::iter::once(&r.when)
                    .chain(r.cors.iter().map(|e| &e.when))
                    .chain(r.csp.iter().map(|e| &e.when))
                    .chain(r.headers.iter().map(|e| &e.when))
                    .chain(r.csrf.iter().map(|e| &e.when))
                    .chain(r.websocket.iter().map(|e| &e.when))
            }))
            .chain(self.program.csp.iter().flat_map(|c| {
                std::iter::once(&c.when)
                    .chain(c.directives.iter().map(|e| &e.when))
                    .chain(c.report_only.iter().map(|e| &e.when))
                    .chain(c.endpoints.iter().map(|e| &e.when))
            }))
            .chain(self.program.headers.iter().flat_map(|h| {
                std::iter::once(&h.when)
                    .chain(h.include_default.iter().map(|e| &e.when))
                    .chain(h.set.iter().map(|e| &e.when))
                    .chain(h.remove.iter().map(|e| &e.when))
            }))
            .chain(self.program.csrf.iter().flat_map(|c| {
                std::iter::once(&c.when)
                    .chain(c.trusted.iter().map(|e| &e.when))
                    .chain(c.self_origins.iter().map(|e| &e.when))
                    .chain(c.same_site.iter().map(|e| &e.when))
                    .chain(c.missing.iter().map(|e| &e.when))
                    .chain(c.exempt.iter().map(|e| &e.when))
                    .chain(c.token.iter().map(|e| &e.when))
            }))
            .chain(self.program.websocket.iter().flat_map(|w| {
                std::iter::once(&w.when)
                    .chain(w.origins.iter().map(|e| &e.when))
                    .chain(w.same_origin.iter().map(|e| &e.when))
                    .chain(w.missing.iter().map(|e| &e.when))
            }));
        for w in whens.flatten() {
            if w.profile != DEFAULT_PROFILE {
                profiles.insert(w.profile.clone());
            }
        }
        self.program.profiles = profiles.into_iter().collect();
        for (p, span) in std::mem::take(&mut self.pending_profiles) {
            if !self.program.has_profile(&p) {
                let known = self.program.all_profiles();
                self.diags.push(
                    Diagnostic::new("GL0601", span, format!("unknown profile `{p}`"))
                        .label("no setting is limited to this profile")
                        .help(format!("the policy's profiles are: {}", known.join(", "))),
                );
            }
        }

        // Names: one namespace for sets and cors policies.
        let mut names: HashMap<String, (Span, &'static str)> = HashMap::new();
        let defs = self
            .program
            .sets
            .iter()
            .map(|s| (&s.name, s.name_span, "origins set"))
            .chain(
                self.program
                    .cors
                    .iter()
                    .map(|c| (&c.name, c.name_span, "cors policy")),
            )
            .map(|(n, s, k)| (n.clone(), s, k))
            .collect::<Vec<_>>();
        for (name, span, kind) in defs {
            if let Some((first, _)) = names.get(&name) {
                self.diags.push(
                    Diagnostic::new("GL0102", span, format!("`{name}` is defined twice"))
                        .label("second definition")
                        .secondary(*first, "first defined here")
                        .help("rename one of them; names are shared by origins sets and cors policies"),
                );
            } else {
                names.insert(name, (span, kind));
            }
        }
        let known_sets: Vec<String> = self.program.sets.iter().map(|s| s.name.clone()).collect();
        let known_cors: Vec<String> = self.program.cors.iter().map(|c| c.name.clone()).collect();
        let mut used: BTreeSet<String> = BTreeSet::new();
        let mut used_cors: BTreeSet<String> = BTreeSet::new();
        let mut unknown = Vec::new();
        let origin_lists = self
            .program
            .cors
            .iter()
            .map(|c| &c.origins)
            .chain(self.program.websocket.iter().map(|w| &w.origins))
            .chain(self.program.csrf.iter().map(|c| &c.trusted_sets));
        for list in origin_lists {
            for e in list {
                if let OriginRef::Set(n) = &e.value {
                    used.insert(n.clone());
                    if !known_sets.contains(n) {
                        unknown.push((n.clone(), e.span, "origins set", names.get(n).map(|x| x.1)));
                    }
                }
            }
        }
        for r in &self.program.routes {
            for e in &r.cors {
                used_cors.insert(e.value.clone());
                if !known_cors.contains(&e.value) {
                    unknown.push((
                        e.value.clone(),
                        e.span,
                        "cors policy",
                        names.get(&e.value).map(|x| x.1),
                    ));
                }
            }
        }
        for (name, span, wanted, actual) in unknown {
            let candidates = if wanted == "origins set" {
                &known_sets
            } else {
                &known_cors
            };
            let mut d = Diagnostic::new("GL0101", span, format!("unknown {wanted} `{name}`"))
                .label(format!("no {wanted} has this name"));
            d = if let Some(actual) = actual {
                d.help(format!("`{name}` is an {actual}, not an {wanted}"))
            } else if wanted == "origins set" && (name.contains('.') || name.contains("://")) {
                d.help(format!("origins are quoted: write \"{name}\""))
            } else {
                match did_you_mean(&name, candidates.iter().map(String::as_str)) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!(
                        "define it with `{} {name} {{ ... }}`",
                        if wanted == "origins set" {
                            "origins"
                        } else {
                            "cors"
                        }
                    )),
                }
            };
            self.diags.push(d);
        }
        for s in &self.program.sets {
            if !used.contains(&s.name) {
                self.diags.push(
                    Diagnostic::new(
                        "GL0107",
                        s.name_span,
                        format!("origins set `{}` is never used", s.name),
                    )
                    .label("unused")
                    .help("name it in a cors or websocket block's `allow-origins` or a csrf block's `trusted-origins`, or remove it"),
                );
            }
        }
        for c in &self.program.cors {
            if !used_cors.contains(&c.name) {
                self.diags.push(
                    Diagnostic::new(
                        "GL0107",
                        c.name_span,
                        format!("cors policy `{}` is never used", c.name),
                    )
                    .label("unused")
                    .help(format!(
                        "attach it to a route: `route \"/path/*\" {{ cors {} }}`",
                        c.name
                    )),
                );
            }
        }
    }

    /// Duplicate names, unknown and unused references for the guard kinds.
    pub(super) fn resolve_guards(&mut self) {
        let kinds: [(&str, Vec<(String, Span)>); 4] = [
            (
                "csp",
                self.program
                    .csp
                    .iter()
                    .map(|c| (c.name.clone(), c.name_span))
                    .collect(),
            ),
            (
                "headers",
                self.program
                    .headers
                    .iter()
                    .map(|c| (c.name.clone(), c.name_span))
                    .collect(),
            ),
            (
                "csrf",
                self.program
                    .csrf
                    .iter()
                    .map(|c| (c.name.clone(), c.name_span))
                    .collect(),
            ),
            (
                "websocket",
                self.program
                    .websocket
                    .iter()
                    .map(|c| (c.name.clone(), c.name_span))
                    .collect(),
            ),
        ];
        for (kind, defs) in &kinds {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            for (n, s) in defs {
                if let Some(first) = seen.get(n.as_str()) {
                    self.diags.push(
                        Diagnostic::new(
                            "GL0102",
                            *s,
                            format!("{kind} policy `{n}` is defined twice"),
                        )
                        .label("second definition")
                        .secondary(*first, "first defined here")
                        .help("rename one of them"),
                    );
                } else {
                    seen.insert(n, *s);
                }
            }
            let refs: Vec<Entry<String>> = self
                .program
                .routes
                .iter()
                .flat_map(|r| match *kind {
                    "csp" => r.csp.clone(),
                    "headers" => r.headers.clone(),
                    "csrf" => r.csrf.clone(),
                    _ => r.websocket.clone(),
                })
                .collect();
            for e in &refs {
                if *kind == "headers" && e.value == DEFAULT_HEADERS {
                    continue;
                }
                if !defs.iter().any(|(n, _)| *n == e.value) {
                    let d = Diagnostic::new(
                        "GL0101",
                        e.span,
                        format!("unknown {kind} policy `{}`", e.value),
                    )
                    .label(format!("no {kind} block has this name"));
                    let d = match did_you_mean(&e.value, defs.iter().map(|(n, _)| n.as_str())) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None if *kind == "headers" => d.help(format!("define it with `headers {} {{ ... }}`, or use the built-in `headers default`", e.value)),
                        None => d.help(format!("define it with `{kind} {} {{ ... }}`", e.value)),
                    };
                    self.diags.push(d);
                }
            }
            for (n, s) in defs {
                if !refs.iter().any(|e| e.value == *n) {
                    self.diags.push(
                        Diagnostic::new("GL0107", *s, format!("{kind} policy `{n}` is never used"))
                            .label("unused")
                            .help(format!(
                                "attach it to a route: `route \"/path/*\" {{ {kind} {n} }}`"
                            )),
                    );
                }
            }
        }
    }
}
