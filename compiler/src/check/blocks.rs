//! Pass 1 for the `origins`, `cors`, `route`, `paths` and `test` blocks: each becomes a typed
//! declaration, its entries checked one by one (`origin`, `lists`). The guard blocks are in
//! `guards`, which reuses the origin entry and route pattern checks here. Built on `checker`
//! and `optouts`.

use std::collections::BTreeMap;

use super::checker::{line_span, mk, settings, unknown_setting, when_of, Checker, Setting};
use super::{lists, origin};
use crate::ast::{split_when, Block, Value};
use crate::diag::{Diagnostic, Severity};
use crate::ir::{
    Cond, CorsDecl, Entry, ListValue, OptOut, OriginRef, OriginSet, Provided, RouteDecl, TestDecl,
};
use crate::source::Span;

pub(super) const CORS_SETTINGS: [&str; 7] = [
    "allow-origins",
    "allow-methods",
    "allow-headers",
    "expose-headers",
    "allow-credentials",
    "max-age",
    "dangerously-allow",
];
pub(super) const ROUTE_SETTINGS: [&str; 5] = ["cors", "csp", "headers", "csrf", "websocket"];
pub(super) const TEST_SETTINGS: [&str; 9] = [
    "request",
    "origins",
    "header",
    "host",
    "profile",
    "expect",
    "expect-header",
    "expect-no-header",
    "csrf-token",
];

/// The values of a test block's `csrf-token` line.
const TEST_TOKENS: [&str; 6] = [
    "valid",
    "other-session",
    "tampered",
    "malformed",
    "cookie-only",
    "header-only",
];

impl Checker {
    /// One origin entry: `*`, a quoted origin (checked, opt-outs applied) or, with
    /// `allow_sets`, the name of an origins set; `None` when it was reported.
    pub(super) fn origin_value(
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

    pub(super) fn origins_block(&mut self, b: &Block, name: &Value, when: Cond) {
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
            provided: None,
        });
    }

    /// `origins NAME provided [tenant-bound] [patterns]`: a set whose entries are supplied at
    /// run time. Each flag at most once.
    pub(super) fn provided_set(&mut self, b: &Block, name: &Value, flags: &[Value], when: Cond) {
        let mut p = Provided {
            tenant_bound: false,
            patterns: false,
        };
        let mut seen: Vec<&str> = Vec::new();
        for f in flags {
            let known = ["tenant-bound", "patterns"];
            if f.quoted || !known.contains(&f.text.as_str()) {
                self.diags.push(
                    Diagnostic::new(
                        "GL1401",
                        f.span,
                        format!("unknown flag `{}` of a provided set", f.text),
                    )
                    .label("a provided set takes `tenant-bound` and `patterns`")
                    .help("write `origins NAME provided [tenant-bound] [patterns]`"),
                );
                continue;
            }
            if seen.contains(&f.text.as_str()) {
                self.diags.push(
                    Diagnostic::new("GL1401", f.span, format!("`{}` is written twice", f.text))
                        .label("written again here")
                        .help("write each flag once"),
                );
                continue;
            }
            seen.push(&f.text);
            match f.text.as_str() {
                "tenant-bound" => p.tenant_bound = true,
                _ => p.patterns = true,
            }
        }
        self.diags.push(
            Diagnostic::new(
                "GL1403",
                name.span,
                format!("origins set `{}` is supplied at run time", name.text),
            )
            .label("empty here: nothing supplies its entries, so it allows no origin"),
        );
        self.program.sets.push(OriginSet {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            items: Vec::new(),
            invalid: 0,
            optouts: Vec::new(),
            provided: Some(p),
        });
    }

    pub(super) fn cors_block(&mut self, b: &Block, name: &Value, when: Cond) {
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
    pub(super) fn paths_block(&mut self, b: &Block) {
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
    pub(super) fn check_route_pattern(&mut self, pattern: &Value) -> bool {
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
                "a path with escapes is decided under its decoded reading and as sent: write the decoded character"
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
        } else if p.contains(['<', '>', '^', '`', '{', '}']) {
            Some((
                "a route pattern never holds what browsers send escaped",
                "browsers send `<`, `>`, `^`, `` ` ``, `{` and `}` in a path as escapes (the URL standard's path percent-encode set), so a path with one never matches as written: remove it".to_string(),
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

    /// `route "PATTERN" { ... }`, at top level or inside the host block `host`.
    pub(super) fn route_block(
        &mut self,
        b: &Block,
        pattern: &Value,
        when: Cond,
        host: Option<usize>,
    ) {
        if !self.check_route_pattern(pattern) {
            return;
        }
        let mut route = RouteDecl {
            pattern: pattern.text.clone(),
            span: pattern.inner_span(),
            head_span: b.head_span,
            when,
            host,
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

    /// A policy line in a route block (`cors NAME`, `csp NAME`, ...); `false` if `key` names
    /// no policy kind.
    fn route_line(
        &mut self,
        key: &Value,
        vals: &[Value],
        lspan: Span,
        when: crate::ir::Cond,
        r: &mut RouteDecl,
    ) -> bool {
        let list = match key.text.as_str() {
            _ if key.quoted => return false,
            "cors" => &mut r.cors,
            "csp" => &mut r.csp,
            "headers" => &mut r.headers,
            "csrf" => &mut r.csrf,
            "websocket" => &mut r.websocket,
            _ => return false,
        };
        match vals {
            [n] if !n.quoted => list.push(Entry {
                value: n.text.clone(),
                span: n.span,
                line: lspan,
                when,
            }),
            _ => self.diags.push(
                Diagnostic::new(
                    "GL0104",
                    lspan,
                    format!("`{}` takes one policy name", key.text),
                )
                .label("expected one name")
                .help(format!("write `{} NAME`", key.text)),
            ),
        }
        true
    }

    pub(super) fn test_block(&mut self, b: &Block, name: &Value) {
        let mut request: Option<(String, String)> = None;
        let mut headers = Vec::new();
        let mut profile = None;
        let mut expect: Option<(guestlist::Kind, Span)> = None;
        let mut expect_headers = Vec::new();
        let mut expect_absent = Vec::new();
        let mut csrf_token = None;
        let mut origins = Vec::new();
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
                // The request's `Host` field line (spec/language.md, section 8).
                ("host", [h]) => headers.push(("Host".to_string(), h.text.clone())),
                ("host", _) => bad(self, "\"authority\""),
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
                ("origins", [n, entries @ ..])
                    if !n.quoted && !entries.is_empty() && entries.iter().all(|e| e.quoted) =>
                {
                    origins.push((
                        n.text.clone(),
                        entries.iter().map(|e| e.text.clone()).collect(),
                        lspan,
                    ));
                }
                ("origins", _) => bad(self, "NAME \"https://...\"..."),
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
            origins,
        });
    }
}
