//! `guestlist explain`: one request, decided by the runtime's evaluator, explained step by
//! step with the policy lines that made each step, and the headers the tower layer answers it
//! with ([`crate::response`]).

use guestlist::{Kind, OriginMatch, Reason};

use crate::response::AnswerError;
use crate::source::Span;
use crate::{Compilation, Lowered};

/// One step of an explanation.
#[derive(Debug, Clone)]
pub struct Step {
    /// What happened.
    pub text: String,
    /// The policy text responsible, if any.
    pub span: Option<Span>,
}

/// The decision for one request, with its reasons.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The matched route's pattern.
    pub route: Option<String>,
    /// The applied CORS policy's name.
    pub cors: Option<String>,
    /// The route's csp, headers, csrf and websocket policy names.
    pub guards: [Option<String>; 4],
    /// The decision kind.
    pub kind: Kind,
    /// The status when the runtime answers by itself.
    pub status: Option<u16>,
    /// The headers of the layer's response (lowercase names; lines of one name in order;
    /// `{nonce}` and `{token}` for the per-response values).
    pub headers: Vec<(String, String)>,
    /// Human reason.
    pub reason: String,
    /// Stable reason code.
    pub reason_code: &'static str,
    /// Step by step.
    pub steps: Vec<Step>,
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn method_ok(acrm: &str, cprov: Option<&crate::lower::CorsProv>) -> Step {
    Step {
        text: if ["GET", "HEAD", "POST"].contains(&acrm) {
            format!("requested method {acrm} is CORS-safelisted")
        } else {
            format!("requested method {acrm} is allowed")
        },
        span: cprov.and_then(|p| p.method_lines.first().copied()),
    }
}

/// Decides `method path headers` against `lowered` and explains it; `Err` for a request HTTP
/// cannot carry.
pub fn explain(
    lowered: &Lowered,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> Result<Explanation, AnswerError> {
    explain_with(lowered, method, path, headers, None)
}

/// [`explain`] with a CSRF secret for token checks (`--csrf-secret-hex`).
pub fn explain_with(
    lowered: &Lowered,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    secret: Option<&guestlist::CsrfSecret>,
) -> Result<Explanation, AnswerError> {
    let policy = &lowered.policy;
    let prov = &lowered.provenance;
    let mut layer = guestlist::Layer::shared(std::sync::Arc::new(policy.clone()));
    if let Some(s) = secret {
        layer = layer.csrf_secret(s.clone());
    }
    let answer = crate::response::answer(&layer, method, path, headers)?;
    let d = policy.decide_full(method, path, None, headers, secret);
    let mut steps = Vec::new();
    let route = d.route.and_then(|i| policy.routes().get(i as usize));
    let cors = d.cors.and_then(|i| policy.cors_policies().get(i as usize));
    let cprov = d.cors.and_then(|i| prov.cors.get(i as usize));
    match (route, d.route) {
        (Some(r), Some(i)) => steps.push(Step {
            text: format!(
                "route \"{}\" matches {path} ({})",
                r.pattern(),
                if r.is_prefix() {
                    "longest matching prefix"
                } else {
                    "exact match"
                }
            ),
            span: prov.routes.get(i as usize).map(|p| p.span),
        }),
        _ => steps.push(Step {
            text: format!("no route matches {path}: {}", d.reason.describe()),
            span: None,
        }),
    }
    let g = d.guards;
    let csp = g.csp.and_then(|i| policy.csp_policies().get(i as usize));
    let hset = g.headers.and_then(|i| policy.header_sets().get(i as usize));
    let csrf = g.csrf.and_then(|i| policy.csrf_policies().get(i as usize));
    let ws = g
        .websocket
        .and_then(|i| policy.websocket_policies().get(i as usize));
    if let Some(c) = csp {
        steps.push(Step {
            text: format!(
                "the route uses csp policy `{}`{}",
                c.name(),
                if c.has_nonce() {
                    " (a fresh nonce per response, handed to the application)"
                } else {
                    ""
                }
            ),
            span: g.csp.and_then(|i| prov.csp.get(i as usize).copied()),
        });
    }
    if let Some(h) = hset {
        steps.push(Step {
            text: format!("the route uses header set `{}`", h.name()),
            span: g
                .headers
                .and_then(|i| prov.headers.get(i as usize).copied().flatten()),
        });
    }
    if let Some(w) = ws {
        if matches!(d.kind, Kind::WebsocketAllowed | Kind::WebsocketRejected) {
            steps.push(Step {
                text: format!("GET with `Upgrade: websocket`: a WebSocket handshake, checked by websocket policy `{}`: {}", w.name(), d.reason.describe()),
                span: g.websocket.and_then(|i| prov.websocket.get(i as usize).copied()),
            });
        }
    }
    if let Some(c) = csrf {
        let why = match (d.kind, d.csrf_reason) {
            (Kind::CsrfRejected, _) => Some(format!("refused with 403: {}", d.reason.describe())),
            (_, Some(r)) => Some(format!("passes: {}", r.describe())),
            _ => None,
        };
        if let Some(why) = why {
            steps.push(Step {
                text: format!("csrf policy `{}` (origins the route's cors policy allows are trusted too) {why}", c.name()),
                span: g.csrf.and_then(|i| prov.csrf.get(i as usize).copied()),
            });
        }
        if let (Some(t), Some(tp)) = (d.token, c.token()) {
            steps.push(Step {
                text: format!(
                    "csrf token (header {}, cookie {}, bound to cookie {}): {}",
                    tp.header(),
                    tp.cookie(),
                    tp.bind_cookie(),
                    t.reason.describe()
                ),
                span: g.csrf.and_then(|i| prov.csrf.get(i as usize).copied()),
            });
        }
    }
    if matches!(
        d.kind,
        Kind::CsrfRejected | Kind::WebsocketRejected | Kind::WebsocketAllowed
    ) {
        // Decided before CORS.
    } else if let (Some(c), Some(r)) = (cors, d.route) {
        steps.push(Step {
            text: format!("the route uses cors policy `{}`", c.name()),
            span: prov.routes.get(r as usize).and_then(|p| p.cors_line),
        });
    } else if d.reason == Reason::NoCorsPolicy {
        steps.push(Step {
            text: "the route has no cors policy: no CORS headers are added".into(),
            span: None,
        });
    }
    let origin = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("origin"))
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>();
    let cors = cors.filter(|_| {
        !matches!(
            d.kind,
            Kind::CsrfRejected | Kind::WebsocketRejected | Kind::WebsocketAllowed
        )
    });
    if let Some(c) = cors {
        match (origin.as_slice(), d.origin_match) {
            ([], _) => steps.push(Step {
                text: "the request has no Origin header: not a CORS request, it reaches the application".into(),
                span: None,
            }),
            (_, Some(OriginMatch::Any)) => steps.push(Step {
                text: "`*` allows every origin (sent as `Access-Control-Allow-Origin: *`)".into(),
                span: cprov.and_then(|p| p.any),
            }),
            ([o, ..], Some(OriginMatch::Exact(i))) => steps.push(Step {
                text: format!("origin {o} is listed"),
                span: cprov.and_then(|p| p.exact.get(i as usize).copied()),
            }),
            ([o, ..], Some(OriginMatch::Pattern(i))) => steps.push(Step {
                text: format!(
                    "origin {o} matches the pattern {}",
                    c.patterns().keys().get(i as usize).map_or("", |k| k.as_ref())
                ),
                span: cprov.and_then(|p| p.patterns.get(i as usize).copied()),
            }),
            ([o], None) => steps.push(Step {
                text: format!("origin {o} is not allowed: no entry of `{}` matches it byte for byte", c.name()),
                span: cprov.and_then(|p| p.head),
            }),
            (_, None) => steps.push(Step {
                text: "the request has more than one Origin header: treated as not allowed".into(),
                span: None,
            }),
        }
    }
    if matches!(d.kind, Kind::PreflightOk | Kind::PreflightRejected) {
        steps.push(Step {
            text: "OPTIONS with Origin and Access-Control-Request-Method: a preflight, answered by the runtime (the application never sees it)".into(),
            span: None,
        });
        let acrm = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("access-control-request-method"))
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        match d.reason {
            Reason::MethodNotAllowed | Reason::RequestMethodInvalid => steps.push(Step {
                text: format!(
                    "requested method {acrm} is not allowed (methods are compared byte-exactly)"
                ),
                span: cprov
                    .and_then(|p| p.method_lines.first().copied())
                    .or(cprov.and_then(|p| p.head)),
            }),
            Reason::HeaderNotAllowed
            | Reason::AuthorizationNotListed
            | Reason::RequestHeadersInvalid => {
                steps.push(method_ok(acrm, cprov));
                let name = d.offending.map(show).unwrap_or_default();
                steps.push(Step {
                    text: match d.reason {
                        Reason::HeaderNotAllowed => format!("requested header {name} is not in allow-headers"),
                        Reason::AuthorizationNotListed => format!("requested header {name} is only allowed when listed by name (`*` never covers it)"),
                        _ => "Access-Control-Request-Headers is malformed or over the limits (4096 bytes, 8 lines, 64 names)".to_string(),
                    },
                    span: cprov.and_then(|p| p.header_lines.first().copied()).or(cprov.and_then(|p| p.head)),
                });
            }
            Reason::PreflightAllowed => {
                steps.push(method_ok(acrm, cprov));
                steps.push(Step {
                    text: "every requested header is allowed".into(),
                    span: cprov.and_then(|p| p.header_lines.first().copied()),
                });
            }
            _ => {}
        }
    }
    if let Some(c) = cors {
        if c.credentials() && matches!(d.kind, Kind::PreflightOk | Kind::ActualAllowed) {
            steps.push(Step {
                text: "credentials are allowed (`Access-Control-Allow-Credentials: true`)".into(),
                span: cprov.and_then(|p| p.credentials_line),
            });
        }
    }
    let reason = match d.offending {
        Some(o) => format!("{}: {}", d.reason.describe(), show(o)),
        None => d.reason.describe().to_string(),
    };
    Ok(Explanation {
        route: route.map(|r| r.pattern().to_string()),
        cors: d
            .cors
            .and_then(|i| policy.cors_policies().get(i as usize))
            .map(|c| c.name().to_string()),
        guards: [
            csp.map(|c| c.name().to_string()),
            hset.map(|c| c.name().to_string()),
            csrf.map(|c| c.name().to_string()),
            ws.map(|c| c.name().to_string()),
        ],
        kind: d.kind,
        status: d.status(),
        headers: answer.headers,
        reason,
        reason_code: d.reason.code(),
        steps,
    })
}

/// The human format: numbered steps, each quoting its policy line.
pub fn render_human(
    c: &Compilation,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    e: &Explanation,
) -> String {
    let mut out = format!("request: {method} {path}\n");
    for (n, v) in headers {
        out.push_str(&format!("  {n}: {v}\n"));
    }
    out.push('\n');
    for (i, s) in e.steps.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, s.text));
        if let Some(span) = s.span {
            let (file, line, col) = c.sources.location(span);
            let text = c
                .sources
                .get(span.file)
                .map(|f| f.line_text(line).to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "   --> {file}:{line}:{col}\n   | {}\n",
                text.trim_end()
            ));
        }
    }
    out.push('\n');
    match e.status {
        Some(s) => out.push_str(&format!(
            "result: {} ({s}, answered by the runtime)\n",
            e.kind.as_str()
        )),
        None => out.push_str(&format!(
            "result: {} (the request reaches the application)\n",
            e.kind.as_str()
        )),
    }
    out.push_str(&format!("reason: {} [{}]\n", e.reason, e.reason_code));
    if e.headers.is_empty() {
        out.push_str("headers: none\n");
    } else {
        out.push_str("headers:\n");
        for (n, v) in &e.headers {
            out.push_str(&format!("  {n}: {v}\n"));
        }
    }
    out
}
