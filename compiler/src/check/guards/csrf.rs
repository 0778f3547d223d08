//! The `csrf` block: trusted and own origins (exact ones only), the same-site and
//! missing-header rules, exemptions and the signed-token line, as a typed declaration
//! (pass 1), and its per-profile checks (pass 3).

use crate::ast::{Block, Value};
use crate::check::checker::{choice, mk, settings, unknown_setting, Checker, Setting};
use crate::check::origin;
use crate::diag::{Diagnostic, Severity};
use crate::ir::{active, CsrfDecl, Program};
use crate::source::Span;

pub(super) const CSRF_SETTINGS: [&str; 7] = [
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

impl Checker {
    pub(super) fn csrf_block(&mut self, b: &Block, name: &Value, when: crate::ir::Cond) {
        let optouts = self.optouts(b);
        let mut c = CsrfDecl {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            trusted: Vec::new(),
            trusted_sets: Vec::new(),
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
                        if key.text == "trusted-origins"
                            && !v.quoted
                            && v.text != "*"
                            && !v.text.contains("://")
                            && !v.text.contains('.')
                        {
                            c.trusted_sets.push(mk(
                                crate::ir::OriginRef::Set(v.text.clone()),
                                v.span,
                                lspan,
                                &cond,
                            ));
                            continue;
                        }
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
                        if guestlist::is_csrf_safe_method(&method) {
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
                        "write the origin in quotes: \"https://partner.example.com\", or name an origins set"
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

    /// A csrf block active in `profile`: its single settings, its trusted origins.
    pub(super) fn csrf_in_profile(&mut self, program: &Program, profile: &str) {
        for c in program.csrf.iter().filter(|c| active(&c.when, profile)) {
            self.singular(&c.token, profile, "token");
            for (list, what) in [(&c.same_site, "same-site"), (&c.missing, "missing-headers")] {
                self.singular(list, profile, what);
            }
            // A static set named in trusted-origins: its entries must be exact origins.
            let (eff, _) = program.expand_origins(&c.trusted_sets, profile);
            for e in eff {
                let bad = match e.value {
                    crate::ir::OriginRef::Any => Some("`*`".to_string()),
                    crate::ir::OriginRef::Literal(o) if o.null => Some("`null`".to_string()),
                    crate::ir::OriginRef::Literal(o) if o.is_pattern() => {
                        Some(format!("pattern `{}`", o.canonical))
                    }
                    _ => None,
                };
                if let Some(what) = bad {
                    let mut d = Diagnostic::new("GL0951", e.span, format!("{what} in trusted-origins"))
                        .label("csrf origins are exact")
                        .help("list each origin in the set; a pattern would trust every host anyone can create under it");
                    if let Some(v) = e.via {
                        d = d.secondary(v, "trusted through this set");
                    }
                    self.diags.push(d);
                }
            }
            // A tenant-bound set: the tenant's key never reaches the application on a
            // trusted write, so a tenant's page could post to any user's session.
            for (set, span) in program.provided_in(&c.trusted_sets, profile) {
                if set.provided.is_some_and(|f| f.tenant_bound) {
                    self.diags.push(
                        Diagnostic::new(
                            "GL1410",
                            span,
                            format!("tenant-bound set `{}` in trusted-origins", set.name),
                        )
                        .label("a trusted write carries no tenant's key to the application")
                        .secondary(set.name_span, "declared tenant-bound here")
                        .help("trust a set that is not tenant-bound, or leave these origins to the cors policy, whose requests carry the matched key (`guestlist::MatchedOrigin`)"),
                    );
                }
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
    }
}

fn secret_in_file(span: Span) -> Diagnostic {
    Diagnostic::new("GL0957", span, "a CSRF secret in a policy file")
        .label("policy files are committed: a secret here is public")
        .help("hand the secret to the layer at start-up: `Layer::new(&POLICY).csrf_secret(CsrfSecret::from_env(\"CSRF_SECRET\")?)` (32+ bytes, hex; `CSRF_SECRET_PREVIOUS` during a rotation)")
}
