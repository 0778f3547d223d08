//! The `csp`, `headers`, `csrf` and `websocket` blocks: typed declarations, name resolution of
//! the route lines that attach them, and their per-profile checks (CSP lints live in `csp.rs`).

use std::collections::HashMap;

use super::{did_you_mean, line_span, settings, unknown_setting, when_of, Checker, Setting};
use crate::ast::{Block, Value};
use crate::check::origin;
use crate::diag::{Diagnostic, Severity};
use crate::ir::headers::{resolved_header_set, DEFAULT_HEADERS};
use crate::ir::{
    active, CspDecl, CspLine, CsrfDecl, Entry, HeaderLine, HeadersDecl, OriginRef, Program,
    RouteDecl, WebSocketDecl,
};
use crate::source::Span;

const CSRF_SETTINGS: [&str; 7] = [
    "trusted-origins",
    "self-origins",
    "same-site",
    "missing-headers",
    "exempt",
    "token",
    "dangerously-allow",
];

/// Whether `name` may name the urlencoded form field carrying a CSRF token: what HTML forms
/// use for such fields (`csrf_token`, `_token`, `authenticity_token`, `form[_token]`), and
/// nothing that would need escaping to be written or read.
fn form_field_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:[]".contains(&b))
}

/// Request headers a token may not travel in (they mean something else to browsers or
/// servers, or browsers set them themselves).
const TOKEN_HEADER_RESERVED: &[&str] = &[
    "cookie",
    "origin",
    "host",
    "referer",
    "content-type",
    "content-length",
    "authorization",
    "accept",
    "accept-language",
    "content-language",
    "range",
    "connection",
    "upgrade",
];
const WS_SETTINGS: [&str; 2] = ["allow-origins", "missing-origin"];

/// The headers a `headers` block can set, and their values (`None`: checked by hand).
const HEADER_VALUES: &[(&str, Option<&[&str]>)] = &[
    ("strict-transport-security", None),
    ("x-content-type-options", Some(&["nosniff"])),
    (
        "referrer-policy",
        Some(&[
            "no-referrer",
            "no-referrer-when-downgrade",
            "same-origin",
            "origin",
            "strict-origin",
            "origin-when-cross-origin",
            "strict-origin-when-cross-origin",
            "unsafe-url",
        ]),
    ),
    ("permissions-policy", None),
    (
        "cross-origin-opener-policy",
        Some(&[
            "same-origin",
            "same-origin-allow-popups",
            "noopener-allow-popups",
            "unsafe-none",
        ]),
    ),
    (
        "cross-origin-embedder-policy",
        Some(&["require-corp", "credentialless", "unsafe-none"]),
    ),
    (
        "cross-origin-resource-policy",
        Some(&["same-origin", "same-site", "cross-origin"]),
    ),
    ("x-frame-options", Some(&["DENY", "SAMEORIGIN"])),
    ("origin-agent-cluster", Some(&["?1", "?0"])),
    ("x-dns-prefetch-control", Some(&["on", "off"])),
    (
        "x-permitted-cross-domain-policies",
        Some(&["none", "master-only", "by-content-type", "all"]),
    ),
    ("x-xss-protection", None),
];

fn malformed_head(b: &Block, kind: &str) -> Diagnostic {
    Diagnostic::new("GL0104", b.head_span, format!("malformed `{kind}` block"))
        .label("expected one name")
        .help(format!(
            "write `{kind} NAME {{` (optionally `{kind} NAME when PROFILE {{`)"
        ))
}

/// GL0839 for a string that goes into a header value but is not one by the runtime's
/// definition ([`guestlist::is_header_value`]: visible ASCII, spaces and tabs, none at either
/// end); `None` when it is one. Words always are: only strings can hold anything else.
pub(super) fn not_a_header_value(v: &Value) -> Option<Diagnostic> {
    let text = v.text.as_str();
    if guestlist::is_header_value(text.as_bytes()) {
        return None;
    }
    let (message, label, help) = if text.is_empty() {
        (
            "an empty CSP value".to_string(),
            "nothing to send",
            "remove the empty string".to_string(),
        )
    } else if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
        let encoded: String = c.to_string().bytes().map(|b| format!("%{b:02X}")).collect();
        (
            format!("`{text}` holds non-ASCII text"),
            "HTTP header values are ASCII",
            format!("write a non-ASCII host in punycode (`xn--...`, as browsers send it) and percent-encode other non-ASCII characters (`{c}` is `{encoded}`)"),
        )
    } else if let Some(c) = text.chars().find(|c| c.is_ascii_control() && *c != '\t') {
        (
            format!("`{}` holds a control character", text.escape_debug()),
            "a header value cannot carry control characters",
            format!(
                "remove it, or percent-encode it (`%{:02X}`) where a URL needs it",
                u32::from(c)
            ),
        )
    } else {
        (
            format!("`{text}` starts or ends with white space"),
            "receivers strip it: the value would not arrive as written",
            "remove the white space inside the quotes".to_string(),
        )
    };
    let span = if text.is_empty() {
        v.span
    } else {
        v.inner_span()
    };
    Some(
        Diagnostic::new("GL0839", span, message)
            .label(label)
            .help(help),
    )
}

fn mk<T>(value: T, span: Span, line: Span, when: &crate::ir::Cond) -> Entry<T> {
    Entry {
        value,
        span,
        line,
        when: when.clone(),
    }
}

fn choice(
    vals: &[Value],
    key: &Value,
    lspan: Span,
    yes: &str,
    no: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<(bool, Span)> {
    match vals {
        [v] if v.is_word(yes) => Some((true, v.span)),
        [v] if v.is_word(no) => Some((false, v.span)),
        _ => {
            diags.push(
                Diagnostic::new(
                    "GL0104",
                    lspan,
                    format!("`{}` takes `{yes}` or `{no}`", key.text),
                )
                .label(format!("expected `{yes}` or `{no}`"))
                .help(format!("write `{} {yes}` or `{} {no}`", key.text, key.text)),
            );
            None
        }
    }
}

impl Checker {
    /// Dispatches the four guard block kinds; `false` when `kind` is not one of them.
    pub(super) fn guard_block(
        &mut self,
        kind: &str,
        b: &Block,
        args: &[Value],
        when: Option<&Value>,
    ) -> bool {
        if !matches!(kind, "csp" | "headers" | "csrf" | "websocket") {
            return false;
        }
        let name = match args {
            [n] if !n.quoted && n.text != "*" => n,
            _ => {
                self.diags.push(malformed_head(b, kind));
                return true;
            }
        };
        let when = when_of(when);
        match kind {
            "csp" => self.csp_block(b, name, when),
            "headers" => self.headers_block(b, name, when),
            "csrf" => self.csrf_block(b, name, when),
            _ => self.websocket_block(b, name, when),
        }
        true
    }

    fn csp_block(&mut self, b: &Block, name: &Value, when: crate::ir::Cond) {
        let optouts = self.optouts(b);
        let mut c = CspDecl {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            directives: Vec::new(),
            report_only: Vec::new(),
            endpoints: Vec::new(),
            optouts,
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
                        .label("expected a directive name")
                        .help("write `script-src 'self'`"),
                );
                continue;
            }
            match key.text.as_str() {
                "dangerously-allow" => {}
                "report-only" => {
                    if vals.is_empty() {
                        c.report_only.push(mk((), key.span, lspan, &cond));
                    } else {
                        self.diags.push(
                            Diagnostic::new("GL0104", lspan, "`report-only` takes no value")
                                .label("unexpected value")
                                .help("write `report-only` on its own line"),
                        );
                    }
                }
                "report-to" => match vals {
                    [n, url] if !n.quoted => {
                        self.diags.extend(not_a_header_value(url));
                        c.endpoints.push(mk((n.text.clone(), url.text.clone()), url.inner_span(), lspan, &cond));
                        c.directives.push(CspLine {
                            name: "report-to".into(),
                            name_span: key.span,
                            values: vec![(n.text.clone(), n.span)],
                            line: lspan,
                            when: cond,
                        });
                    }
                    _ => self.diags.push(
                        Diagnostic::new("GL0834", lspan, "`report-to` takes an endpoint name and its URL")
                            .label("expected NAME \"https://...\"")
                            .help("write `report-to csp-endpoint \"https://reports.example.com/csp\"`; guestlist sends the Reporting-Endpoints header for it"),
                    ),
                },
                other => {
                    let lower = other.to_ascii_lowercase();
                    self.diags.extend(vals.iter().filter_map(not_a_header_value));
                    c.directives.push(CspLine {
                        name: lower,
                        name_span: key.span,
                        values: vals.iter().map(|v| (v.text.clone(), v.inner_span())).collect(),
                        line: lspan,
                        when: cond,
                    });
                }
            }
        }
        self.program.csp.push(c);
    }

    fn headers_block(&mut self, b: &Block, name: &Value, when: crate::ir::Cond) {
        if name.text == DEFAULT_HEADERS {
            self.diags.push(
                Diagnostic::new("GL0102", name.span, "`default` is the built-in header set")
                    .label("reserved name")
                    .help("give your set another name; start it from the built-in one with `include default`"),
            );
            return;
        }
        let mut h = HeadersDecl {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            include_default: Vec::new(),
            set: Vec::new(),
            remove: Vec::new(),
        };
        let known: Vec<&str> = HEADER_VALUES
            .iter()
            .map(|(n, _)| *n)
            .chain(["include", "remove"])
            .collect();
        for Setting {
            key,
            vals,
            lspan,
            cond,
        } in settings(&b.lines)
        {
            let lname = key.text.to_ascii_lowercase();
            if vals.is_empty() && !key.quoted {
                self.diags.push(
                    Diagnostic::new("GL0104", key.span, format!("`{}` needs a value", key.text))
                        .label("no value given")
                        .help(format!("write `{} VALUE`", key.text)),
                );
                continue;
            }
            match lname.as_str() {
                "include" => match vals {
                    [v] if v.is_word(DEFAULT_HEADERS) => h.include_default.push(mk((), v.span, lspan, &cond)),
                    _ => self.diags.push(
                        Diagnostic::new("GL0104", lspan, "`include` takes `default`")
                            .label("expected `default`")
                            .help("write `include default` to start from the built-in set"),
                    ),
                },
                "remove" => {
                    for v in vals {
                        if guestlist::is_token(v.text.as_bytes()) && !v.quoted {
                            h.remove.push(mk(v.text.to_ascii_lowercase(), v.span, lspan, &cond));
                        } else {
                            self.diags.push(
                                Diagnostic::new("GL0902", v.span, format!("`{}` is not a header name", v.text))
                                    .label("expected a header name")
                                    .help("write `remove x-powered-by server`"),
                            );
                        }
                    }
                }
                "content-security-policy" | "content-security-policy-report-only" => self.diags.push(
                    Diagnostic::new("GL0908", key.span, "a CSP is declared in a `csp` block")
                        .label("not a `headers` setting")
                        .help("write `csp NAME { default-src 'self' ... }` and attach it with `csp NAME` in the route; guestlist checks it there"),
                ),
                _ => match HEADER_VALUES.iter().find(|(n, _)| *n == lname) {
                    None => self.diags.push(unknown_setting(key, "headers", &known)),
                    Some((hname, allowed)) => {
                        if let Some(value) = self.header_value(hname, *allowed, vals, lspan) {
                            h.set.push(mk(
                                HeaderLine {
                                    name: hname.to_string(),
                                    value,
                                },
                                line_span(vals, lspan),
                                lspan,
                                &cond,
                            ));
                        }
                    }
                },
            }
        }
        self.program.headers.push(h);
    }

    /// Checks one header's values and serializes them.
    fn header_value(
        &mut self,
        name: &str,
        allowed: Option<&[&str]>,
        vals: &[Value],
        lspan: Span,
    ) -> Option<String> {
        let span = line_span(vals, lspan);
        let bad = |me: &mut Self, v: &Value, help: String| {
            me.diags.push(
                Diagnostic::new(
                    "GL0902",
                    v.span,
                    format!("`{}` is not a valid {name} value", v.text),
                )
                .label("invalid value")
                .help(help),
            );
        };
        match name {
            "strict-transport-security" => {
                let mut max_age = None;
                let mut sub = false;
                let mut preload = false;
                for v in vals {
                    if let Some(n) = v.text.strip_prefix("max-age=") {
                        match n.parse::<u64>() {
                            Ok(n) => max_age = Some((n, v.span)),
                            Err(_) => bad(self, v, "write `max-age=63072000` (seconds)".into()),
                        }
                    } else if v.text.eq_ignore_ascii_case("includesubdomains") {
                        sub = true;
                    } else if v.text.eq_ignore_ascii_case("preload") {
                        preload = true;
                    } else {
                        bad(self, v, "strict-transport-security takes `max-age=SECONDS`, `includeSubDomains` and `preload`".into());
                        return None;
                    }
                }
                let Some((age, age_span)) = max_age else {
                    self.diags.push(
                        Diagnostic::new(
                            "GL0902",
                            span,
                            "strict-transport-security needs `max-age=SECONDS`",
                        )
                        .label("no max-age")
                        .help(
                            "write `strict-transport-security max-age=63072000 includeSubDomains`",
                        ),
                    );
                    return None;
                };
                if preload && (age < 31_536_000 || !sub) {
                    self.diags.push(
                        Diagnostic::new("GL0903", span, "`preload` without what the preload list requires")
                            .label("hstspreload.org refuses this")
                            .help("preloading needs `max-age` of at least 31536000 and `includeSubDomains`"),
                    );
                } else if age < 86_400 * 180 && age > 0 {
                    self.diags.push(
                        Diagnostic::new(
                            "GL0904",
                            age_span,
                            format!("HSTS max-age {age}s is short"),
                        )
                        .label("browsers forget HTTPS-only after this")
                        .help(
                            "use at least `max-age=31536000` (a year) once HTTPS works everywhere",
                        ),
                    );
                }
                let mut s = format!("max-age={age}");
                if sub {
                    s.push_str("; includeSubDomains");
                }
                if preload {
                    s.push_str("; preload");
                }
                Some(s)
            }
            "permissions-policy" => match permissions_policy(vals) {
                Ok(v) => Some(v),
                Err(msg) => {
                    self.diags.push(
                        Diagnostic::new("GL0902", span, format!("not a Permissions-Policy: {msg}"))
                            .label("expected members such as `camera=()`")
                            .help("write `permissions-policy camera=() geolocation=(self https://maps.example.com)`; guestlist quotes the origins, and `self` is not quoted as in CSP"),
                    );
                    None
                }
            },
            "x-xss-protection" => match vals {
                [v] if v.text == "0" => Some("0".into()),
                _ => {
                    self.diags.push(
                        Diagnostic::new("GL0909", span, "X-XSS-Protection other than `0`")
                            .label("the XSS auditor it enables caused leaks; no current browser has it")
                            .help("write `x-xss-protection 0`, or leave it out and rely on the csp block"),
                    );
                    None
                }
            },
            _ => {
                let allowed = allowed.unwrap_or(&[]);
                let mut out = Vec::new();
                let many = name == "referrer-policy";
                if let Some(v) = vals.iter().find(|v| {
                    name == "x-frame-options"
                        && v.text.to_ascii_uppercase().starts_with("ALLOW-FROM")
                }) {
                    self.diags.push(
                        Diagnostic::new(
                            "GL0905",
                            v.span,
                            "X-Frame-Options ALLOW-FROM is not supported by browsers",
                        )
                        .label("ignored: the page can be framed by anyone")
                        .help("use `frame-ancestors https://allowed.example` in a csp block"),
                    );
                    return None;
                }
                if !many && vals.len() > 1 {
                    self.diags.push(
                        Diagnostic::new("GL0902", span, format!("{name} takes one value"))
                            .label("more than one value")
                            .help(format!("choose one of: {}", allowed.join(", "))),
                    );
                    return None;
                }
                for v in vals {
                    match allowed.iter().find(|a| a.eq_ignore_ascii_case(&v.text)) {
                        Some(a) => out.push(*a),
                        None => {
                            bad(self, v, format!("choose one of: {}", allowed.join(", ")));
                            return None;
                        }
                    }
                }
                Some(out.join(", "))
            }
        }
    }

    fn csrf_block(&mut self, b: &Block, name: &Value, when: crate::ir::Cond) {
        let optouts = self.optouts(b);
        let mut c = CsrfDecl {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            trusted: Vec::new(),
            self_origins: Vec::new(),
            same_site: Vec::new(),
            missing: Vec::new(),
            exempt: Vec::new(),
            token: Vec::new(),
            optouts: optouts.clone(),
        };
        for Setting {
            key,
            vals,
            lspan,
            cond,
        } in settings(&b.lines)
        {
            match key.text.as_str() {
                "dangerously-allow" => {}
                "secret" | "secret-hex" | "key" => self.diags.push(secret_in_file(key.span)),
                "token" => {
                    if let Some(t) = self.token_line(vals, key, lspan) {
                        c.token.push(mk(t, key.span, lspan, &cond));
                    }
                }
                "trusted-origins" | "self-origins" => {
                    for v in vals {
                        if let Some(o) = self.exact_origin(v, &key.text) {
                            let list = if key.text == "trusted-origins" {
                                &mut c.trusted
                            } else {
                                &mut c.self_origins
                            };
                            list.push(mk(o, v.inner_span(), lspan, &cond));
                        }
                    }
                }
                "same-site" => {
                    if let Some((allow, s)) =
                        choice(vals, key, lspan, "allow", "reject", &mut self.diags)
                    {
                        c.same_site.push(mk(allow, s, lspan, &cond));
                    }
                }
                "missing-headers" => {
                    if let Some((allow, s)) =
                        choice(vals, key, lspan, "allow", "reject", &mut self.diags)
                    {
                        c.missing.push(mk(!allow, s, lspan, &cond));
                    }
                }
                "exempt" => match vals {
                    [m, p] if !m.quoted && p.quoted => {
                        if !guestlist::is_token(m.text.as_bytes()) {
                            self.diags.push(
                                Diagnostic::new(
                                    "GL0301",
                                    m.span,
                                    format!("`{}` is not a method", m.text),
                                )
                                .label("a method is an HTTP token such as POST")
                                .help("write `exempt POST \"/webhooks/*\"`"),
                            );
                            continue;
                        }
                        // Methods are matched byte-exactly, as sent.
                        let method = m.text.clone();
                        if !self.check_route_pattern(p) {
                            continue;
                        }
                        if matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
                            self.diags.push(
                                Diagnostic::new(
                                    "GL0953",
                                    m.span,
                                    format!("{method} is never checked"),
                                )
                                .label("safe methods always pass the csrf check")
                                .help("remove this exemption"),
                            );
                        }
                        if p.text == "/*" || p.text == "/" {
                            let d = Diagnostic::new("GL0952", p.inner_span(), "exemption covers the whole site")
                                .label("every path")
                                .help("exempt only the endpoints that must accept cross-site requests, such as \"/webhooks/*\"")
                                .severity(Severity::Error);
                            let d = self.apply_optouts(d, &optouts);
                            self.diags.push(d);
                        }
                        c.exempt
                            .push(mk((method, p.text.clone()), p.inner_span(), lspan, &cond));
                    }
                    _ => self.diags.push(
                        Diagnostic::new(
                            "GL0104",
                            lspan,
                            "`exempt` takes a method and a quoted path pattern",
                        )
                        .label("expected METHOD \"/path\"")
                        .help("write `exempt POST \"/webhooks/*\"`"),
                    ),
                },
                _ => self
                    .diags
                    .push(unknown_setting(key, "csrf", &CSRF_SETTINGS)),
            }
        }
        self.program.csrf.push(c);
    }

    /// `token header "H" cookie "__Host-C" bind-to cookie "S" [same-site lax|strict]
    /// [field "F"] [defer-forms]`; header, cookie and field have defaults, the session binding
    /// does not.
    fn token_line(
        &mut self,
        vals: &[Value],
        key: &Value,
        lspan: Span,
    ) -> Option<guestlist::TokenSpec> {
        let mut t = guestlist::TokenSpec {
            header: "x-csrf-token".into(),
            cookie: "__Host-csrf".into(),
            bind_cookie: String::new(),
            same_site: "Lax".into(),
            field: guestlist::DEFAULT_FORM_FIELD.into(),
            defer_forms: false,
        };
        let mut ok = true;
        let mut bound = false;
        let mut i = 0;
        let malformed = |me: &mut Self, span: Span, what: &str| {
            me.diags.push(
                Diagnostic::new("GL0104", span, format!("malformed `token` line: {what}"))
                    .label("unexpected here")
                    .help("write `token header \"X-CSRF-Token\" cookie \"__Host-csrf\" bind-to cookie \"session\" field \"csrf_token\"` (header, cookie and field have these defaults; `same-site strict` and `defer-forms` are optional)"),
            );
        };
        while let Some(k) = vals.get(i) {
            let next = vals.get(i + 1);
            match (k.text.as_str(), k.quoted, next) {
                ("header", false, Some(v)) if v.quoted => {
                    let n = v.text.to_ascii_lowercase();
                    if !guestlist::is_token(n.as_bytes())
                        || TOKEN_HEADER_RESERVED.contains(&n.as_str())
                        || n.starts_with("sec-")
                        || n.starts_with("access-control-")
                    {
                        self.diags.push(
                            Diagnostic::new("GL0962", v.inner_span(), format!("`{}` cannot carry a CSRF token", v.text))
                                .label("a header browsers set themselves, or that means something else")
                                .help("use a custom header such as \"X-CSRF-Token\" (a page can only send it with fetch(), which is what makes it a proof)"),
                        );
                        ok = false;
                    }
                    t.header = n;
                    i += 2;
                }
                ("cookie", false, Some(v)) if v.quoted => {
                    if !v.text.starts_with("__Host-") || !guestlist::is_token(v.text.as_bytes()) {
                        self.diags.push(
                            Diagnostic::new("GL0959", v.inner_span(), format!("token cookie `{}` has no `__Host-` prefix", v.text))
                                .label("a sibling subdomain or a plain-http page could set it")
                                .help(format!("name it \"__Host-{}\": browsers then only accept it Secure, with Path=/ and no Domain", v.text.trim_start_matches("__Secure-")))
                                .fix(v.inner_span(), format!("__Host-{}", v.text.trim_start_matches("__Secure-"))),
                        );
                        ok = false;
                    }
                    t.cookie = v.text.clone();
                    i += 2;
                }
                ("bind-to", false, Some(c)) if c.is_word("cookie") => match vals.get(i + 2) {
                    Some(v) if v.quoted && guestlist::is_token(v.text.as_bytes()) => {
                        t.bind_cookie = v.text.clone();
                        bound = true;
                        i += 3;
                    }
                    _ => {
                        malformed(
                            self,
                            c.span,
                            "`bind-to cookie` needs the session cookie's quoted name",
                        );
                        return None;
                    }
                },
                ("field", false, Some(v)) if v.quoted => {
                    if !form_field_name(&v.text) {
                        self.diags.push(
                            Diagnostic::new("GL0963", v.inner_span(), format!("`{}` cannot name the token's form field", v.text))
                                .label("the layer finds the field by its decoded name, byte for byte")
                                .help("use 1 to 64 ASCII letters, digits and `_ - . : [ ]`, such as \"csrf_token\" (the default)"),
                        );
                        ok = false;
                    }
                    t.field = v.text.clone();
                    i += 2;
                }
                ("defer-forms", false, _) => {
                    t.defer_forms = true;
                    i += 1;
                }
                ("same-site", false, Some(v)) if v.is_word("lax") || v.is_word("strict") => {
                    t.same_site = if v.text == "lax" {
                        "Lax".into()
                    } else {
                        "Strict".into()
                    };
                    i += 2;
                }
                ("secret" | "secret-hex" | "key", false, _) => {
                    self.diags.push(secret_in_file(k.span));
                    return None;
                }
                _ => {
                    malformed(self, k.span, &format!("`{}`", k.text));
                    return None;
                }
            }
        }
        if !bound {
            self.diags.push(
                Diagnostic::new("GL0958", key.span, "CSRF token not bound to the session")
                    .label("a token that is valid for every session can be replayed across sessions")
                    .help("add `bind-to cookie \"NAME\"` with the name of the session cookie (OWASP: signing without session binding gives minimal protection)"),
            );
            ok = false;
        }
        let _ = lspan;
        ok.then_some(t)
    }

    /// An exact origin for `trusted-origins` / `self-origins`: no `*`, no pattern, no `null`.
    fn exact_origin(&mut self, v: &Value, setting: &str) -> Option<String> {
        if !v.quoted {
            self.diags.push(
                Diagnostic::new("GL0951", v.span, format!("`{}` in {setting}", v.text))
                    .label("expected one quoted origin")
                    .help(if v.text == "*" {
                        "the csrf check trusts origins one by one: list them, quoted"
                    } else {
                        "write the origin in quotes: \"https://partner.example.com\""
                    }),
            );
            return None;
        }
        let a = origin::analyze(&v.text, v.inner_span());
        let mut ok = true;
        for d in a.diags {
            ok &= d.severity != Severity::Error;
            self.diags.push(d);
        }
        let o = a.origin.filter(|_| ok)?;
        if o.is_pattern() {
            self.diags.push(
                Diagnostic::new("GL0951", v.inner_span(), format!("pattern `{}` in {setting}", o.canonical))
                    .label("csrf origins are exact")
                    .help("list each origin; a pattern would trust every host anyone can create under it (Go's CrossOriginProtection refuses patterns too)"),
            );
            return None;
        }
        Some(o.canonical)
    }

    fn websocket_block(&mut self, b: &Block, name: &Value, when: crate::ir::Cond) {
        let optouts = self.optouts(b);
        let mut w = WebSocketDecl {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            origins: Vec::new(),
            same_origin: Vec::new(),
            invalid: 0,
            missing: Vec::new(),
            optouts: optouts.clone(),
        };
        for Setting {
            key,
            vals,
            lspan,
            cond,
        } in settings(&b.lines)
        {
            match key.text.as_str() {
                "allow-origins" => {
                    for v in vals {
                        if v.is_word("same-origin") {
                            w.same_origin.push(mk((), v.span, lspan, &cond));
                            continue;
                        }
                        if v.is_word("*") {
                            self.diags.push(websocket_wildcard(v.span));
                            w.invalid += 1;
                            continue;
                        }
                        match self.origin_value(v, &optouts, true) {
                            Some(r) => w.origins.push(mk(r, v.inner_span(), lspan, &cond)),
                            None => w.invalid += 1,
                        }
                    }
                }
                "missing-origin" => {
                    if let Some((allow, s)) =
                        choice(vals, key, lspan, "allow", "reject", &mut self.diags)
                    {
                        w.missing.push(mk(allow, s, lspan, &cond));
                    }
                }
                _ => self
                    .diags
                    .push(unknown_setting(key, "websocket", &WS_SETTINGS)),
            }
        }
        self.program.websocket.push(w);
    }

    /// A policy line in a route block (`cors NAME`, `csp NAME`, ...); `false` if `key` names
    /// no policy kind.
    pub(super) fn route_line(
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

    /// Per-profile checks of the guard blocks and of how they combine on routes.
    pub(super) fn guards_in_profile(&mut self, program: &Program, profile: &str) {
        for c in program.csp.iter().filter(|c| active(&c.when, profile)) {
            let lines: Vec<&CspLine> = c
                .directives
                .iter()
                .filter(|l| active(&l.when, profile))
                .collect();
            let report_only = c.report_only.iter().any(|e| active(&e.when, profile));
            let endpoints: Vec<&Entry<(String, String)>> = c
                .endpoints
                .iter()
                .filter(|e| active(&e.when, profile))
                .collect();
            let found = super::csp::check(c.name_span, &lines, report_only, &endpoints);
            for d in found {
                let d = self.apply_optouts(d, &c.optouts);
                self.diags.push(d);
            }
        }
        for w in program
            .websocket
            .iter()
            .filter(|w| active(&w.when, profile))
        {
            let (eff, _) = program.expand_origins(&w.origins, profile);
            let same = w.same_origin.iter().any(|e| active(&e.when, profile));
            // `*` through a set (a literal `*` was reported where it was written).
            if let Some(e) = eff.iter().find(|e| matches!(e.value, OriginRef::Any)) {
                self.diags.push(websocket_wildcard(e.span));
            }
            if eff.is_empty() && !same && w.invalid == 0 {
                self.diags.push(
                    Diagnostic::new("GL0973", w.name_span, format!("websocket policy `{}` allows no origin", w.name))
                        .label("every browser handshake would be refused")
                        .help("add `allow-origins same-origin` or the origins of the pages that open the socket"),
                );
            }
            self.singular(&w.missing, profile, "missing-origin");
        }
        for c in program.csrf.iter().filter(|c| active(&c.when, profile)) {
            self.singular(&c.token, profile, "token");
            for (list, what) in [(&c.same_site, "same-site"), (&c.missing, "missing-headers")] {
                self.singular(list, profile, what);
            }
            for e in c.trusted.iter().filter(|e| active(&e.when, profile)) {
                if e.value.starts_with("http://")
                    && !e.value.contains("://localhost")
                    && !e.value.contains("://127.0.0.1")
                {
                    self.diags.push(
                        Diagnostic::new("GL0956", e.span, "insecure trusted origin")
                            .label("plain-http pages can be rewritten by anyone on the network")
                            .help("trust the https origin instead"),
                    );
                }
            }
        }
        // Routes: one of each guard, and conflicts between blocks.
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

fn websocket_wildcard(span: Span) -> Diagnostic {
    Diagnostic::new("GL0971", span, "`*` may open a WebSocket")
        .label("every site could open this socket with the user's cookies")
        .help("list the origins (or write `same-origin`); a WebSocket handshake is not protected by CORS (cross-site WebSocket hijacking)")
}

fn secret_in_file(span: Span) -> Diagnostic {
    Diagnostic::new("GL0957", span, "a CSRF secret in a policy file")
        .label("policy files are committed: a secret here is public")
        .help("hand the secret to the layer at start-up: `Layer::new(&POLICY).csrf_secret(CsrfSecret::from_env(\"CSRF_SECRET\")?)` (32+ bytes, hex; `CSRF_SECRET_PREVIOUS` during a rotation)")
}

/// Parses `permissions-policy` members (`feature=()`, `feature=*`, `feature=self`,
/// `feature=(self https://a.example)`), separated by spaces or commas, into the header's
/// structured-field form with the origins double-quoted.
fn permissions_policy(vals: &[Value]) -> Result<String, String> {
    let span0 = vals.first().map(|v| v.span).ok_or("no member")?;
    let text = vals
        .iter()
        .map(|v| v.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut members = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for ch in text.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err("unbalanced parentheses".into());
        }
        if depth == 0 && (ch == ',' || ch == ' ') {
            if !cur.is_empty() {
                members.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(ch);
        }
    }
    if depth != 0 {
        return Err("unbalanced parentheses".into());
    }
    if !cur.is_empty() {
        members.push(cur);
    }
    if members.is_empty() {
        return Err("no member".into());
    }
    let item = |t: &str| -> Result<String, String> {
        if t == "self" || t == "*" {
            return Ok(t.to_string());
        }
        if t.starts_with('\'') {
            return Err(format!("`{t}`: write self without quotes"));
        }
        let a = origin::analyze(t, span0);
        match a.origin {
            Some(o) if !o.is_pattern() && a.diags.iter().all(|d| d.severity != Severity::Error) => {
                Ok(format!("\"{}\"", o.canonical))
            }
            _ => Err(format!("`{t}` is not self, * or an origin")),
        }
    };
    let mut out = Vec::new();
    for m in members {
        let (feature, value) = m
            .split_once('=')
            .ok_or_else(|| format!("`{m}` has no `=`"))?;
        if feature.is_empty() || !feature.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
            return Err(format!("`{feature}` is not a feature name"));
        }
        let v = match value.strip_prefix('(').and_then(|v| v.strip_suffix(')')) {
            Some(inner) => {
                let items = inner
                    .split_whitespace()
                    .map(item)
                    .collect::<Result<Vec<_>, _>>()?;
                format!("({})", items.join(" "))
            }
            None => item(value)?,
        };
        out.push(format!("{feature}={v}"));
    }
    Ok(out.join(", "))
}
