//! The `headers` block: the security headers a route sends, each value checked by its own
//! grammar (HSTS, Permissions-Policy, the fixed words of the others), and the names it
//! removes, as a typed declaration (pass 1).

use crate::ast::{Block, Value};
use crate::check::checker::{line_span, mk, settings, unknown_setting, Checker, Setting};
use crate::check::origin;
use crate::diag::{Diagnostic, Severity};
use crate::ir::headers::DEFAULT_HEADERS;
use crate::ir::{HeaderLine, HeadersDecl};
use crate::source::Span;

/// The headers a `headers` block can set, and their values (`None`: checked by hand).
pub(super) const HEADER_VALUES: &[(&str, Option<&[&str]>)] = &[
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

impl Checker {
    pub(super) fn headers_block(&mut self, b: &Block, name: &Value, when: crate::ir::Cond) {
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
