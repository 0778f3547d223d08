//! Checking: syntax tree -> typed [`Program`] + diagnostics.
//!
//! Three passes: (1) every block becomes a typed declaration, with per-entry checks
//! (`origin.rs`, `lists.rs`); (2) names are collected and references resolved; (3) the checks
//! that depend on how settings combine (credentials with `*`, public suffixes, insecure
//! origins, duplicates) run once per profile, because `when` changes what combines. A finding
//! that only occurs in some profiles says which.
//!
//! This file runs the passes. Its parts, bottom up: `checker` (the state every pass shares,
//! and how a block's lines read), `origin` and `lists` (one entry's checks), `optouts`
//! (`dangerously-allow`), `csp` (the CSP lints), `resolve` (pass 2), `blocks` (pass 1 for
//! origins, cors, route, paths and test blocks), `profile` (pass 3), and `guards` (passes 1
//! and 3 for the csp, headers, csrf and websocket blocks, one file per kind).

mod blocks;
mod checker;
pub mod csp;
pub mod guards;
mod hosts;
pub mod lists;
mod optouts;
pub mod origin;
mod profile;
mod resolve;
pub(crate) mod supplied;

use std::collections::BTreeMap;

use self::checker::{did_you_mean, when_of, Checker};
use crate::ast::{self, split_when, Block, Item};
use crate::diag::Diagnostic;
use crate::ir::{active, Program, DEFAULT_PROFILE};
use crate::source::Span;

/// Checks parsed files.
pub fn check(files: &[ast::File]) -> (Program, Vec<Diagnostic>) {
    let mut cx = Checker::default();
    for f in files {
        for item in &f.items {
            match item {
                Item::Block(b) => cx.block(b),
                Item::Declaration(b) => cx.declaration(b),
                Item::Import { .. } => {}
            }
        }
    }
    cx.resolve();
    cx.resolve_guards();
    cx.combinations();
    cx.unused_optouts();
    let mut diags = cx.diags;
    crate::diag::normalize(&mut diags);
    (cx.program, diags)
}

/// The settings a block of `kind` takes, as the checker reads them (completion and hover in
/// the language server list and explain them): a csp block's are its directives, plus
/// `report-only` and `dangerously-allow`.
#[cfg(feature = "cli")]
pub(crate) fn settings_of(kind: &str) -> Vec<&'static str> {
    match kind {
        "cors" => blocks::CORS_SETTINGS.to_vec(),
        "route" => blocks::ROUTE_SETTINGS.to_vec(),
        "test" => blocks::TEST_SETTINGS.to_vec(),
        "paths" => vec!["non-normal"],
        "host" => vec!["route"],
        "csp" => {
            let mut v = csp::directives().0;
            v.extend(["report-only", "dangerously-allow"]);
            v
        }
        other => guards::settings_of(other),
    }
}

/// The kinds of top-level blocks and declarations.
pub(crate) const BLOCKS: [&str; 10] = [
    "origins",
    "host",
    "cors",
    "route",
    "test",
    "csp",
    "headers",
    "csrf",
    "websocket",
    "paths",
];

impl Checker {
    /// Pass 1 for one block: its kind's reader.
    fn block(&mut self, b: &Block) {
        let Some(kind) = b.head.first() else { return };
        if kind.quoted {
            self.diags.push(
                Diagnostic::new("GL0104", kind.span, "a block starts with its kind")
                    .label("expected a word such as `cors`")
                    .help("write `origins NAME {`, `cors NAME {`, `route \"/path/*\" {` or `test \"NAME\" {`"),
            );
            return;
        }
        let rest = b.head.get(1..).unwrap_or(&[]);
        let (args, when) = split_when(rest);
        if kind.is_word("host") {
            self.host_block(b, args, when);
            return;
        }
        match kind.text.as_str() {
            "origins" | "cors" => {
                let name = match args {
                    [n] if !n.quoted && n.text != "*" => n,
                    _ => {
                        self.diags.push(
                            Diagnostic::new("GL0104", b.head_span, format!("malformed `{}` block", kind.text))
                                .label("expected one name")
                                .help(format!("write `{} NAME {{` (optionally `{} NAME when PROFILE {{`)", kind.text, kind.text)),
                        );
                        return;
                    }
                };
                if kind.text == "origins" {
                    self.origins_block(b, name, when_of(when));
                } else {
                    self.cors_block(b, name, when_of(when));
                }
            }
            "route" => match args {
                [p] if p.quoted => self.route_block(b, p, when_of(when), None),
                _ => self.diags.push(
                    Diagnostic::new("GL0104", b.head_span, "malformed `route` block")
                        .label("expected one quoted path pattern")
                        .help("write `route \"/api/*\" {` (everything below /api/) or `route \"/health\" {` (exactly /health)"),
                ),
            },
            "paths" => match (args, when) {
                ([], None) => self.paths_block(b),
                _ => self.diags.push(
                    Diagnostic::new("GL0104", b.head_span, "malformed `paths` block")
                        .label("`paths` takes no name and no `when`")
                        .help("write `paths { non-normal reject }` (the default) or `paths { non-normal two-readings }`"),
                ),
            },
            "test" => match (args, when) {
                ([n], None) if n.quoted => self.test_block(b, n),
                _ => self.diags.push(
                    Diagnostic::new("GL0104", b.head_span, "malformed `test` block")
                        .label("expected one quoted name")
                        .help("write `test \"what it checks\" {` and choose the profile with a `profile NAME` line"),
                ),
            },
            other if self.guard_block(other, b, args, when) => {}
            other => {
                let mut d = Diagnostic::new("GL0104", kind.span, format!("unknown block `{other}`"))
                    .label("unknown block kind");
                d = match did_you_mean(other, BLOCKS) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("blocks are `origins`, `cors`, `csp`, `headers`, `csrf`, `websocket`, `route`, `host`, `paths` and `test`"),
                };
                self.diags.push(d);
            }
        }
    }

    /// Pass 1 for a head alone on its line: `origins NAME provided [tenant-bound] [patterns]
    /// [when P]`, the one item with no body.
    fn declaration(&mut self, b: &Block) {
        let Some(kind) = b.head.first() else { return };
        let rest = b.head.get(1..).unwrap_or(&[]);
        let (args, when) = split_when(rest);
        if kind.is_word("hosts") && when.is_none() {
            self.hosts_declaration(b, args);
            return;
        }
        if kind.is_word("origins") {
            if let [name, provided, flags @ ..] = args {
                if !name.quoted && name.text != "*" && provided.is_word("provided") {
                    self.provided_set(b, name, flags, when_of(when));
                    return;
                }
            }
            self.diags.push(
                Diagnostic::new("GL0104", b.head_span, "malformed `origins` line")
                    .label("an origins set is a block, or a set supplied at run time")
                    .help("write `origins NAME { \"https://...\" }`, or `origins NAME provided` (optionally `tenant-bound`, `patterns`, `when PROFILE`)"),
            );
            return;
        }
        let what = if kind.quoted {
            "a block"
        } else {
            kind.text.as_str()
        };
        self.diags.push(
            Diagnostic::new("GL0104", b.head_span, format!("`{what}` needs a body"))
                .label("expected `{` on this line")
                .help("open the block on its head's line: `cors NAME {`; only `origins NAME provided` and `hosts dispatched-by-application` stand alone"),
        );
    }

    /// The checks that depend on how settings combine, once per profile.
    fn combinations(&mut self) {
        let mut found: BTreeMap<(Span, &'static str, String), (Diagnostic, Vec<String>)> =
            BTreeMap::new();
        let profiles = self.program.all_profiles();
        for profile in &profiles {
            let before = self.diags.len();
            let program = std::mem::take(&mut self.program);
            for c in &program.cors {
                if active(&c.when, profile) {
                    self.cors_in_profile(&program, c, profile);
                }
            }
            self.routes_in_profile(&program, profile);
            self.guards_in_profile(&program, profile);
            self.route_guards_in_profile(&program, profile);
            self.hosts_in_profile(&program, profile);
            self.program = program;
            for d in self.diags.split_off(before) {
                let key = (d.span, d.code, d.message.clone());
                found
                    .entry(key)
                    .or_insert_with(|| (d, Vec::new()))
                    .1
                    .push(profile.clone());
            }
        }
        for (_, (mut d, ps)) in found {
            if ps.len() < profiles.len() && !ps.iter().any(|p| p == DEFAULT_PROFILE) {
                d = d.note(format!(
                    "in profile {}",
                    ps.iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            self.diags.push(d);
        }
    }
}

/// Whether any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

#[cfg(test)]
mod tests {
    use crate::Compilation;

    #[test]
    fn keywords_are_reserved_only_where_expected() {
        let c = Compilation::from_str(
            "k.policy",
            "origins cors { \"https://a.example.com\" }\ncors route {\n    allow-origins cors\n    allow-headers max-age allow-origins cors\n    expose-headers when test\n    max-age 2h\n}\nroute \"/x\" { cors route }\n",
        );
        assert!(!c.has_errors(), "{}", c.render());
        let l = c.lower("default").unwrap();
        let h = [
            ("Origin", "https://a.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "max-age,allow-origins"),
        ];
        let d = l.policy.decide("OPTIONS", "/x", &h[..]);
        assert_eq!(d.kind, guestlist::Kind::PreflightRejected);
        assert_eq!(d.reason, guestlist::Reason::MethodNotAllowed);
        let h = [
            ("Origin", "https://a.example.com"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "max-age,allow-origins"),
        ];
        assert_eq!(
            l.policy.decide("OPTIONS", "/x", &h[..]).kind,
            guestlist::Kind::PreflightOk
        );
    }

    #[test]
    fn profiles_are_all_checked() {
        let c = Compilation::from_str(
            "p.policy",
            "cors api {\n    allow-origins \"https://a.example.com\"\n    allow-origins * when dev\n    allow-credentials true\n    max-age 2h\n}\nroute \"/x/*\" { cors api }\n",
        );
        let d = c
            .diagnostics
            .iter()
            .find(|d| d.code == "GL0213")
            .expect("GL0213 in dev");
        assert!(
            d.notes.iter().any(|n| n == "in profile `dev`"),
            "{:?}",
            d.notes
        );
    }
}
