//! Checking: syntax tree -> typed [`Program`] + diagnostics.
//!
//! Three passes: (1) every block becomes a typed declaration, with per-entry checks
//! (`origin.rs`, `lists.rs`); (2) names are collected and references resolved; (3) the checks
//! that depend on how settings combine (credentials with `*`, public suffixes, insecure
//! origins, duplicates) run once per profile, because `when` changes what combines. A finding
//! that only occurs in some profiles says which.

pub mod csp;
pub mod guards;
pub mod lists;
pub mod origin;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::ast::{self, split_when, Block, Item, Value};
use crate::diag::{codes, Diagnostic, Severity};
use crate::ir::{
    active, Cond, CorsDecl, EffectiveOrigin, Entry, ListValue, OptOut, Origin, OriginRef,
    OriginSet, Program, RouteDecl, TestDecl, When, DEFAULT_PROFILE,
};
use crate::source::Span;

/// Checks parsed files.
pub fn check(files: &[ast::File]) -> (Program, Vec<Diagnostic>) {
    let mut cx = Checker::default();
    for f in files {
        for item in &f.items {
            if let Item::Block(b) = item {
                cx.block(b);
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

#[derive(Default)]
struct Checker {
    program: Program,
    diags: Vec<Diagnostic>,
    /// Opt-outs that lowered something, by span.
    used_optouts: BTreeSet<Span>,
    /// `profile NAME` lines of tests, checked once every `when` is known.
    pending_profiles: Vec<(String, Span)>,
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

const BLOCKS: [&str; 9] = [
    "origins",
    "cors",
    "route",
    "test",
    "csp",
    "headers",
    "csrf",
    "websocket",
    "paths",
];
const CORS_SETTINGS: [&str; 7] = [
    "allow-origins",
    "allow-methods",
    "allow-headers",
    "expose-headers",
    "allow-credentials",
    "max-age",
    "dangerously-allow",
];
const ROUTE_SETTINGS: [&str; 5] = ["cors", "csp", "headers", "csrf", "websocket"];
const TEST_SETTINGS: [&str; 7] = [
    "request",
    "header",
    "profile",
    "expect",
    "expect-header",
    "expect-no-header",
    "csrf-token",
];

/// The values of a test block's `csrf-token` line.
pub const TEST_TOKENS: [&str; 6] = [
    "valid",
    "other-session",
    "tampered",
    "malformed",
    "cookie-only",
    "header-only",
];

fn unknown_setting(key: &Value, block: &str, known: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::new(
        "GL0104",
        key.span,
        format!("unknown setting `{}` in a {block} block", key.text),
    )
    .label("unknown setting");
    d = match did_you_mean(&key.text, known.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("a {block} block takes: {}", known.join(", "))),
    };
    d
}

/// One setting line of a block body, split the way every block reads it.
struct Setting<'b> {
    /// The setting's name (the line's first value).
    key: &'b Value,
    /// The values after the name, without a trailing `when NAME`.
    vals: &'b [Value],
    /// The whole line.
    lspan: Span,
    /// The line's `when`.
    cond: Cond,
}

/// The non-empty lines of a block body as settings.
fn settings(lines: &[ast::Line]) -> impl Iterator<Item = Setting<'_>> {
    lines.iter().filter_map(|line| {
        let key = line.values.first()?;
        let (vals, lw) = split_when(line.values.get(1..).unwrap_or(&[]));
        Some(Setting {
            key,
            vals,
            lspan: line_span(&line.values, line.span),
            cond: when_of(lw),
        })
    })
}

fn line_span(values: &[Value], fallback: Span) -> Span {
    match (values.first(), values.last()) {
        (Some(a), Some(b)) => a.span.to(b.span),
        _ => fallback,
    }
}

fn when_of(w: Option<&Value>) -> Cond {
    w.map(|v| When {
        profile: v.text.clone(),
        span: v.span,
    })
}

impl Checker {
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
                [p] if p.quoted => self.route_block(b, p, when_of(when)),
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
                    None => d.help("blocks are `origins`, `cors`, `csp`, `headers`, `csrf`, `websocket`, `route`, `paths` and `test`"),
                };
                self.diags.push(d);
            }
        }
    }

    /// Parses the `dangerously-allow` lines of a block.
    fn optouts(&mut self, b: &Block) -> Vec<OptOut> {
        let mut out = Vec::new();
        for line in &b.lines {
            let Some(key) = line.values.first() else {
                continue;
            };
            if !key.is_word("dangerously-allow") {
                continue;
            }
            let span = line_span(&line.values, line.span);
            match line.values.get(1..) {
                Some([code, reason]) if !code.quoted && reason.quoted => {
                    let info = codes::info(&code.text);
                    if reason.text.trim().is_empty() {
                        self.diags.push(
                            Diagnostic::new("GL0701", reason.span, "an opt-out needs a reason")
                                .label("empty reason")
                                .help("say why this is safe, and who decided: the reason is what reviewers grep for"),
                        );
                    } else if code.text == "GL0213" {
                        self.diags.push(
                            Diagnostic::new("GL0701", code.span, "GL0213 cannot be lowered")
                                .label("`*` with credentials is never allowed")
                                .help("browsers refuse `Access-Control-Allow-Origin: *` with credentials; list the origins instead"),
                        );
                    } else if !info.is_some_and(|i| i.lowerable) {
                        let lowerable: Vec<&str> = codes::ALL
                            .iter()
                            .filter(|c| c.lowerable)
                            .map(|c| c.code)
                            .collect();
                        self.diags.push(
                            Diagnostic::new(
                                "GL0701",
                                code.span,
                                format!("`{}` cannot be lowered", code.text),
                            )
                            .label(if info.is_some() {
                                "not a security error that can be opted out of"
                            } else {
                                "unknown code"
                            })
                            .help(format!(
                                "only these codes can be opted out of: {}",
                                lowerable.join(", ")
                            )),
                        );
                    } else {
                        out.push(OptOut {
                            code: code.text.clone(),
                            reason: reason.text.clone(),
                            span,
                        });
                    }
                }
                _ => self.diags.push(
                    Diagnostic::new("GL0701", span, "malformed opt-out")
                        .label("expected a code and a quoted reason")
                        .help("write `dangerously-allow GL0214 \"why this is safe\"`"),
                ),
            }
        }
        out
    }

    /// Lowers `d` to a warning when one of `optouts` names its code.
    fn apply_optouts(&mut self, mut d: Diagnostic, optouts: &[OptOut]) -> Diagnostic {
        if d.severity != Severity::Error || !codes::info(d.code).is_some_and(|i| i.lowerable) {
            return d;
        }
        if let Some(o) = optouts.iter().find(|o| o.code == d.code) {
            self.used_optouts.insert(o.span);
            d.severity = Severity::Warning;
            d.fix = None;
            d = d.secondary(o.span, "allowed here").note(format!(
                "lowered to a warning by dangerously-allow: {}",
                o.reason
            ));
        }
        d
    }

    fn origin_value(
        &mut self,
        v: &Value,
        optouts: &[OptOut],
        allow_sets: bool,
    ) -> Option<OriginRef> {
        if v.is_word("*") {
            return Some(OriginRef::Any);
        }
        if v.quoted {
            let a = origin::analyze(&v.text, v.inner_span());
            let mut ok = true;
            for d in a.diags {
                let d = self.apply_optouts(d, optouts);
                ok &= d.severity != Severity::Error;
                self.diags.push(d);
            }
            return if ok {
                a.origin.map(OriginRef::Literal)
            } else {
                None
            };
        }
        if allow_sets {
            return Some(OriginRef::Set(v.text.clone()));
        }
        let d = Diagnostic::new("GL0104", v.span, format!("`{}` in an origins set", v.text))
            .label("expected a quoted origin or `*`");
        self.diags
            .push(if v.text.contains("://") || v.text.contains('.') {
                d.help(format!("origins are quoted: write \"{}\"", v.text))
            } else {
                d.help("sets hold quoted origins; name other sets in a cors block's allow-origins")
            });
        None
    }

    fn origins_block(&mut self, b: &Block, name: &Value, when: Cond) {
        let optouts = self.optouts(b);
        let mut items = Vec::new();
        let mut invalid = 0;
        for line in &b.lines {
            if line
                .values
                .first()
                .is_some_and(|k| k.is_word("dangerously-allow"))
            {
                continue;
            }
            let (vals, lw) = split_when(&line.values);
            let lspan = line_span(&line.values, line.span);
            for v in vals {
                if let Some(r) = self.origin_value(v, &optouts, false) {
                    items.push(Entry {
                        value: r,
                        span: v.inner_span(),
                        line: lspan,
                        when: when_of(lw),
                    });
                } else {
                    invalid += 1;
                }
            }
        }
        self.program.sets.push(OriginSet {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            items,
            invalid,
            optouts,
        });
    }

    fn cors_block(&mut self, b: &Block, name: &Value, when: Cond) {
        let optouts = self.optouts(b);
        let mut c = CorsDecl {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            origins: Vec::new(),
            invalid: 0,
            credentials: Vec::new(),
            methods: Vec::new(),
            headers: Vec::new(),
            expose: Vec::new(),
            max_age: Vec::new(),
            optouts: optouts.clone(),
        };
        for Setting {
            key,
            vals,
            lspan,
            cond,
        } in settings(&b.lines)
        {
            if key.quoted {
                self.diags.push(
                    Diagnostic::new("GL0104", key.span, "a setting starts with its name")
                        .label("expected a setting name")
                        .help("origins go in `allow-origins \"https://...\"`"),
                );
                continue;
            }
            fn mk<T>(value: T, span: Span, line: Span, when: &Cond) -> Entry<T> {
                Entry {
                    value,
                    span,
                    line,
                    when: when.clone(),
                }
            }
            let needs_values = |me: &mut Self| {
                me.diags.push(
                    Diagnostic::new("GL0104", key.span, format!("`{}` needs a value", key.text))
                        .label("no value given")
                        .help(format!("write `{} VALUE`", key.text)),
                );
            };
            match key.text.as_str() {
                "dangerously-allow" => {}
                "allow-origins" => {
                    if vals.is_empty() {
                        needs_values(self);
                    }
                    for v in vals {
                        match self.origin_value(v, &optouts, true) {
                            Some(r) => c.origins.push(mk(r, v.inner_span(), lspan, &cond)),
                            None => c.invalid += 1,
                        }
                    }
                }
                "allow-methods" | "allow-headers" | "expose-headers" => {
                    if vals.is_empty() {
                        needs_values(self);
                    }
                    let mut seen: BTreeMap<String, Span> = BTreeMap::new();
                    for v in vals {
                        let value = if v.is_word("*") {
                            Some(ListValue::Any)
                        } else {
                            match key.text.as_str() {
                                "allow-methods" => lists::method(v, &mut self.diags).map(ListValue::Name),
                                "allow-headers" => lists::request_header(v, &mut self.diags)
                                    .then(|| ListValue::Name(v.text.clone())),
                                _ => lists::exposed_header(v, &mut self.diags)
                                    .then(|| ListValue::Name(v.text.clone())),
                            }
                        };
                        let Some(value) = value else { continue };
                        let dedup_key = match (&value, key.text.as_str()) {
                            (ListValue::Any, _) => "*".to_string(),
                            (ListValue::Name(n), "allow-methods") => n.clone(),
                            (ListValue::Name(n), _) => n.to_ascii_lowercase(),
                        };
                        if let Some(first) = seen.get(&dedup_key) {
                            self.diags.push(
                                Diagnostic::new("GL0120", v.span, format!("`{}` is listed twice", v.text))
                                    .label("duplicate")
                                    .secondary(*first, "first listed here")
                                    .help("remove one of them"),
                            );
                            continue;
                        }
                        seen.insert(dedup_key, v.span);
                        let list = match key.text.as_str() {
                            "allow-methods" => &mut c.methods,
                            "allow-headers" => &mut c.headers,
                            _ => &mut c.expose,
                        };
                        list.push(mk(value, v.span, lspan, &cond));
                    }
                }
                "allow-credentials" => match vals {
                    [v] if v.is_word("true") || v.is_word("false") => {
                        c.credentials.push(mk(v.text == "true", v.span, lspan, &cond));
                    }
                    _ => self.diags.push(
                        Diagnostic::new("GL0104", lspan, "`allow-credentials` takes `true` or `false`")
                            .label("expected `true` or `false`")
                            .help("write `allow-credentials true` (cookies and HTTP auth) or leave it out (false)"),
                    ),
                },
                "max-age" => match vals {
                    [v] => {
                        if let Some(secs) = lists::duration(v, &mut self.diags) {
                            c.max_age.push(mk(secs, v.span, lspan, &cond));
                        }
                    }
                    _ => self.diags.push(
                        Diagnostic::new("GL0501", lspan, "`max-age` takes one duration")
                            .label("expected one value")
                            .help("write a duration such as `7200`, `30m` or `2h`"),
                    ),
                },
                _ => self.diags.push(unknown_setting(key, "cors", &CORS_SETTINGS)),
            }
        }
        self.program.cors.push(c);
    }

    /// `paths { non-normal reject | two-readings }`: what a path with dot segments gets
    /// (spec/language.md, "Path forms"). One per program (GL1001).
    fn paths_block(&mut self, b: &Block) {
        if let Some(first) = &self.program.paths {
            self.diags.push(
                Diagnostic::new("GL1001", b.head_span, "a second `paths` block")
                    .label("the path rules are set again here")
                    .secondary(first.span, "first set here")
                    .help("keep one `paths` block for the whole policy (imports included)"),
            );
            return;
        }
        let mut decl = crate::ir::PathsDecl {
            non_normal: guestlist::NonNormalPaths::Reject,
            span: b.head_span,
            line: None,
        };
        for Setting {
            key,
            vals,
            lspan,
            cond,
        } in settings(&b.lines)
        {
            if key.text != "non-normal" || key.quoted {
                self.diags
                    .push(unknown_setting(key, "paths", &["non-normal"]));
                continue;
            }
            if let Some(w) = cond {
                self.diags.push(
                    Diagnostic::new("GL0104", w.span, "`paths` settings hold in every profile")
                        .label("no `when` here")
                        .help("remove `when`: a path is read the same way in every profile"),
                );
                continue;
            }
            if decl.line.is_some() {
                self.diags.push(
                    Diagnostic::new("GL0105", lspan, "`non-normal` is set twice")
                        .label("set again here")
                        .help("keep one `non-normal` line"),
                );
                continue;
            }
            decl.non_normal = match vals {
                [v] if v.is_word("reject") => guestlist::NonNormalPaths::Reject,
                [v] if v.is_word("two-readings") => guestlist::NonNormalPaths::TwoReadings,
                _ => {
                    self.diags.push(
                        Diagnostic::new("GL0104", lspan, "`non-normal` takes `reject` or `two-readings`")
                            .label("expected one of the two words")
                            .help("write `non-normal reject` (paths with dot segments get 400, the default) or `non-normal two-readings`"),
                    );
                    continue;
                }
            };
            decl.line = Some(lspan);
        }
        self.program.paths = Some(decl);
    }

    /// The route-pattern rules (GL0106); `false` when the pattern was reported.
    fn check_route_pattern(&mut self, pattern: &Value) -> bool {
        let p = pattern.text.as_str();
        let span = pattern.inner_span();
        let body = p
            .strip_suffix("/*")
            .map(|s| format!("{s}/"))
            .unwrap_or_else(|| p.to_string());
        let problem = if !p.starts_with('/') {
            Some((
                "a route pattern starts with `/`",
                format!("write \"/{}\"", p.trim_start_matches('/')),
            ))
        } else if p.contains(['?', '#']) {
            Some((
                "a route pattern has no query or fragment",
                "the query never selects a route: remove it".to_string(),
            ))
        } else if body.contains('*') {
            Some((
                "`*` may only end a pattern, as `/*`",
                "write \"/prefix/*\" for everything below /prefix/".to_string(),
            ))
        } else if p.contains('%') {
            Some((
                "a route pattern is written decoded",
                "request paths are matched with their escapes decoded: write the decoded character"
                    .to_string(),
            ))
        } else if body.contains("//")
            || body.contains('\\')
            || body.split('/').any(|s| s == "." || s == "..")
        {
            Some(("a route pattern is written normalised", "a path with `//`, a dot segment or a backslash is refused or read twice, never matched as written (spec/language.md, \"Path forms\"): write the normalised path".to_string()))
        } else if !p.bytes().all(|b| b.is_ascii_graphic()) {
            Some((
                "a route pattern is printable ASCII",
                "remove spaces and control characters".to_string(),
            ))
        } else {
            None
        };
        if let Some((msg, help)) = problem {
            self.diags.push(
                Diagnostic::new("GL0106", span, msg)
                    .label("invalid route pattern")
                    .help(help)
                    .note("\"/x\" matches exactly /x; \"/x/*\" matches everything below /x/"),
            );
            return false;
        }
        true
    }

    fn route_block(&mut self, b: &Block, pattern: &Value, when: Cond) {
        if !self.check_route_pattern(pattern) {
            return;
        }
        let mut route = RouteDecl {
            pattern: pattern.text.clone(),
            span: pattern.inner_span(),
            head_span: b.head_span,
            when,
            cors: Vec::new(),
            csp: Vec::new(),
            headers: Vec::new(),
            csrf: Vec::new(),
            websocket: Vec::new(),
        };
        for Setting {
            key,
            vals,
            lspan,
            cond,
        } in settings(&b.lines)
        {
            if !self.route_line(key, vals, lspan, cond, &mut route) {
                self.diags
                    .push(unknown_setting(key, "route", &ROUTE_SETTINGS));
            }
        }
        self.program.routes.push(route);
    }

    fn test_block(&mut self, b: &Block, name: &Value) {
        let mut request: Option<(String, String)> = None;
        let mut headers = Vec::new();
        let mut profile = None;
        let mut expect: Option<(guestlist::Kind, Span)> = None;
        let mut expect_headers = Vec::new();
        let mut expect_absent = Vec::new();
        let mut csrf_token = None;
        let mut ok = true;
        for line in &b.lines {
            let Some(key) = line.values.first() else {
                continue;
            };
            let vals = line.values.get(1..).unwrap_or(&[]);
            let lspan = line_span(&line.values, line.span);
            let mut bad = |me: &mut Self, what: &str| {
                me.diags.push(
                    Diagnostic::new("GL0601", lspan, format!("malformed `{}` line", key.text))
                        .label(format!("expected {what}"))
                        .help(format!("write `{} {what}`", key.text)),
                );
                ok = false;
            };
            match (key.text.as_str(), vals) {
                ("request", [m, p]) if !m.quoted && p.quoted => {
                    request = Some((m.text.clone(), p.text.clone()));
                }
                ("request", _) => bad(self, "METHOD \"/path\""),
                ("header", [n, v]) if !n.quoted => headers.push((n.text.clone(), v.text.clone())),
                ("header", _) => bad(self, "NAME \"value\""),
                ("profile", [p]) if !p.quoted => profile = Some((p.text.clone(), p.span)),
                ("profile", _) => bad(self, "NAME"),
                ("expect", [k]) => match guestlist::Kind::from_name(&k.text) {
                    Some(kind) => expect = Some((kind, k.span)),
                    None => {
                        let kinds: Vec<&str> =
                            guestlist::Kind::ALL.iter().map(|k| k.as_str()).collect();
                        self.diags.push(
                            Diagnostic::new(
                                "GL0601",
                                k.span,
                                format!("unknown outcome `{}`", k.text),
                            )
                            .label("unknown outcome")
                            .help(format!("expect one of: {}", kinds.join(", "))),
                        );
                        ok = false;
                    }
                },
                ("expect", _) => bad(self, "KIND"),
                ("expect-header", [n, v]) if !n.quoted => {
                    expect_headers.push((n.text.to_ascii_lowercase(), v.text.clone(), lspan));
                }
                ("expect-header", _) => bad(self, "NAME \"value\""),
                ("expect-no-header", [n]) if !n.quoted => {
                    expect_absent.push((n.text.to_ascii_lowercase(), lspan));
                }
                ("expect-no-header", _) => bad(self, "NAME"),
                ("csrf-token", [k]) if !k.quoted && TEST_TOKENS.contains(&k.text.as_str()) => {
                    csrf_token = Some(k.text.clone());
                }
                ("csrf-token", _) => bad(self, &TEST_TOKENS.join("|")),
                _ => {
                    self.diags
                        .push(unknown_setting(key, "test", &TEST_SETTINGS));
                    ok = false;
                }
            }
        }
        if !ok {
            return;
        }
        let Some((method, path)) = request else {
            self.diags.push(
                Diagnostic::new("GL0601", b.head_span, "test has no request")
                    .label("no `request` line")
                    .help("add `request METHOD \"/path\"`"),
            );
            return;
        };
        let Some((expect, expect_span)) = expect else {
            self.diags.push(
                Diagnostic::new("GL0601", b.head_span, "test has no expected outcome")
                    .label("no `expect` line")
                    .help("add `expect KIND`, such as `expect preflight-ok`"),
            );
            return;
        };
        if !ok {
            return;
        }
        self.program.tests.push(TestDecl {
            name: name.text.clone(),
            head_span: b.head_span,
            method,
            path,
            headers,
            profile: profile.map(|(p, s)| {
                self.pending_profiles.push((p.clone(), s));
                p
            }),
            expect,
            expect_span,
            expect_headers,
            expect_absent,
            csrf_token,
        });
    }
}

impl Checker {
    fn resolve(&mut self) {
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
            .chain(self.program.websocket.iter().map(|w| &w.origins));
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
                    .help("name it in a cors or websocket block's `allow-origins`, or remove it"),
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

    fn cors_in_profile(&mut self, program: &Program, c: &CorsDecl, profile: &str) {
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
        if eff.is_empty() && !broken {
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
            if o.wildcard_host && origin::is_public_suffix(&o.host) {
                let mut d = Diagnostic::new(
                    "GL0212",
                    e.span,
                    format!("wildcard over the public suffix `{}`", o.host),
                )
                .label("anyone can register a name under it")
                .help(
                    "name your own hosts instead (public suffix list, ICANN and private sections)",
                );
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
            if credentials && (o.scheme == "http" || o.scheme == "ws") && !o.is_loopback() {
                let mut d = Diagnostic::new("GL0214", e.span, "insecure origin with credentials")
                    .label("plain-http pages can be rewritten by anyone on the network")
                    .help(format!(
                        "use \"https://{}\" (loopback hosts such as localhost are fine)",
                        o.canonical.split_once("://").map_or("", |x| x.1)
                    ));
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

    /// The entries of a setting that may be given once, active in `profile`; a second one is
    /// GL0105.
    fn singular<'e, T>(
        &mut self,
        entries: &'e [Entry<T>],
        profile: &str,
        what: &str,
    ) -> Vec<&'e Entry<T>> {
        let active: Vec<&Entry<T>> = entries
            .iter()
            .filter(|e| active(&e.when, profile))
            .collect();
        if let [first, rest @ ..] = active.as_slice() {
            for e in rest {
                self.diags.push(
                    Diagnostic::new("GL0105", e.span, format!("`{what}` is set twice"))
                        .label("second setting")
                        .secondary(first.span, "first set here")
                        .help("keep one; to vary it by profile, give each a different `when`"),
                );
            }
        }
        active
    }

    fn routes_in_profile(&mut self, program: &Program, profile: &str) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for r in program.routes.iter().filter(|r| active(&r.when, profile)) {
            if let Some(first) = seen.get(r.pattern.as_str()) {
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
                seen.insert(&r.pattern, r.span);
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

    fn unused_optouts(&mut self) {
        let all: Vec<OptOut> = self
            .program
            .sets
            .iter()
            .flat_map(|s| s.optouts.iter())
            .chain(self.program.cors.iter().flat_map(|c| c.optouts.iter()))
            .chain(self.program.csp.iter().flat_map(|c| c.optouts.iter()))
            .chain(self.program.csrf.iter().flat_map(|c| c.optouts.iter()))
            .chain(self.program.websocket.iter().flat_map(|c| c.optouts.iter()))
            .cloned()
            .collect();
        for o in all {
            if !self.used_optouts.contains(&o.span) {
                self.diags.push(
                    Diagnostic::new(
                        "GL0702",
                        o.span,
                        format!("opt-out for {} matches nothing", o.code),
                    )
                    .label("nothing here raises this error")
                    .help("remove it, so that a future dangerous change is not silently allowed"),
                );
            }
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
