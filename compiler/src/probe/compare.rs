//! What a server sent, compared with the runtime's answer to the same request: the status only
//! where the runtime answers itself, every `Access-Control-*` header, `Vary: Origin`, the
//! route's security headers and CSP (a fresh nonce on two fetches), the CSRF and WebSocket
//! refusals. Each difference is looser, stricter, or (the CORS headers of a route without a
//! cors policy) unmanaged.

use super::{expect, Probe};
use crate::Lowered;

/// A server's answer: the status and the head's header lines (lowercase names, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    /// The status.
    pub status: u16,
    /// The header lines.
    pub headers: Vec<(String, String)>,
}

impl Got {
    /// The lines of `name` (lowercase), joined with `, `; `None` without one.
    pub fn value(&self, name: &str) -> Option<String> {
        joined(&self.headers, name)
    }
}

fn joined(headers: &[(String, String)], name: &str) -> Option<String> {
    let v: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect();
    (!v.is_empty()).then(|| v.join(", "))
}

/// How a difference weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The server grants what the policy refuses (an origin, method, header or credential),
    /// omits `Vary: Origin`, or does not enforce a guard.
    Looser,
    /// The server refuses what the policy grants.
    Stricter,
    /// CORS headers on a route without a cors policy: the application's own.
    Unmanaged,
}

impl Severity {
    /// `looser`, `stricter`, `unmanaged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Looser => "looser",
            Severity::Stricter => "stricter",
            Severity::Unmanaged => "unmanaged",
        }
    }
}

/// One difference, about one request of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// How it weighs.
    pub severity: Severity,
    /// The index of the request in the plan.
    pub probe: usize,
    /// What differs, naming the request's origin.
    pub message: String,
}

/// The comma-separated items of a header value, trimmed, empty ones left out.
fn items(v: &str) -> Vec<&str> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether a list holds `item` (case-insensitive: method lists compare exactly).
fn holds(list: &[&str], item: &str, exact: bool) -> bool {
    list.iter().any(|x| {
        if exact {
            *x == item
        } else {
            x.eq_ignore_ascii_case(item)
        }
    })
}

/// `'nonce-…'` sources as `'nonce-{nonce}'`, and the nonces found.
fn masked(csp: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(csp.len());
    let mut found = Vec::new();
    let mut rest = csp;
    while let Some((before, after)) = rest.split_once("'nonce-") {
        out.push_str(before);
        match after.split_once('\'') {
            Some((n, tail)) if !n.is_empty() => {
                found.push(n.to_string());
                out.push_str("'nonce-{nonce}'");
                rest = tail;
            }
            _ => {
                out.push_str("'nonce-");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, found)
}

/// Headers the comparison of security headers leaves out: the CORS ones (compared apart), the
/// refusal's reason, and the CSRF token cookie (a per-response value).
fn is_guard_header(name: &str) -> bool {
    !(name.starts_with("access-control-")
        || matches!(name, "vary" | "guestlist-reason" | "set-cookie"))
}

/// Whether the runtime allows the preflight `probe` with `name: value` instead of its own.
fn runtime_allows(lowered: &Lowered, probe: &Probe, name: &str, value: &str) -> bool {
    let mut headers: Vec<(String, String)> = probe
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .cloned()
        .collect();
    headers.push((name.to_string(), value.to_string()));
    expect(lowered, "OPTIONS", &probe.target(), &headers)
        .is_ok_and(|e| e.kind == guestlist::Kind::PreflightOk)
}

/// The differences between `got` and the runtime's answer to `probe` (index `index` of the
/// plan).
pub fn compare(lowered: &Lowered, index: usize, probe: &Probe, got: &Got) -> Vec<Mismatch> {
    let e = &probe.expected;
    let from = match probe.header("origin") {
        Some(o) => format!("from `{o}`"),
        None => "without Origin".to_string(),
    };
    let what = format!("{} {} {from}", probe.method, probe.path);
    let mut out = Vec::new();
    let mut push = |severity, message: String| {
        out.push(Mismatch {
            severity,
            probe: index,
            message: format!("{what}: {message}"),
        })
    };
    // A redirect is reported, not followed. Where the policy refuses a write as cross-site
    // (csrf), a redirect means the write went past the refusal (a form POST answered 303
    // was processed): looser. (A redirected preflight or WebSocket handshake fails in the
    // browser as a refusal would.) Browsers run the CORS check on a redirect too, so an
    // allow-origin on it granting an origin the policy refuses is looser as well.
    if (300..400).contains(&got.status) {
        let mut looser = false;
        if let Some(s) = e.status.filter(|_| e.kind == guestlist::Kind::CsrfRejected) {
            looser = true;
            push(
                Severity::Looser,
                format!(
                    "answered {} (a redirect) where the policy refuses with {s} ({})",
                    got.status,
                    e.kind.as_str()
                ),
            );
        }
        let origin = probe.header("origin").unwrap_or("");
        let expected_acao = e
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("access-control-allow-origin"))
            .map(|(_, v)| v.as_str());
        if let Some(g) = got.value("access-control-allow-origin") {
            let granted = g == "*" || (!origin.is_empty() && g == origin);
            let allowed = expected_acao.is_some_and(|x| x == "*" || x == origin);
            if granted && !allowed {
                looser = true;
                push(
                    Severity::Looser,
                    format!(
                        "the redirect's `access-control-allow-origin: {g}` grants an origin the policy refuses"
                    ),
                );
            }
        }
        // Where the redirect is looser, that is what it is; else the expected answer never
        // came.
        if looser {
            return out;
        }
        push(
            Severity::Stricter,
            format!(
                "redirected ({}{}); redirects are not followed",
                got.status,
                got.value("location")
                    .map(|l| format!(" to {l}"))
                    .unwrap_or_default()
            ),
        );
        return out;
    }
    // The status, where the runtime answers itself. A refused preflight the server answers
    // 2xx grants nothing unless its allow-origin lets the origin pass (the browser fails the
    // preflight otherwise); a refused write or handshake the server lets through is looser
    // whatever it answers.
    let origin = probe.header("origin").unwrap_or("");
    let passes = got
        .value("access-control-allow-origin")
        .is_some_and(|g| g == "*" || (!origin.is_empty() && g == origin));
    if let Some(s) = e.status {
        let kind = e.kind.as_str();
        let grants = e.kind != guestlist::Kind::PreflightRejected || passes;
        if s >= 400 && got.status < 400 && grants {
            push(
                Severity::Looser,
                format!(
                    "answered {} where the policy refuses with {s} ({kind})",
                    got.status
                ),
            );
        } else if s < 400 && got.status >= 400 {
            push(
                Severity::Stricter,
                format!(
                    "answered {} where the policy answers {s} ({kind})",
                    got.status
                ),
            );
        }
    }
    // CORS.
    let names = |hs: &[(String, String)]| -> Vec<String> {
        hs.iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .filter(|n| n.starts_with("access-control-"))
            .collect()
    };
    let mut cors_names = names(&e.headers);
    cors_names.extend(names(&got.headers));
    cors_names.sort();
    cors_names.dedup();
    if !e.governed {
        let sent: Vec<String> = cors_names
            .iter()
            .filter_map(|n| got.value(n).map(|v| format!("{n}: {v}")))
            .collect();
        if !sent.is_empty() {
            push(
                Severity::Unmanaged,
                format!(
                    "the route has no cors policy; the server sends {}",
                    sent.join("; ")
                ),
            );
        }
    } else {
        for n in &cors_names {
            let ev = joined(&e.headers, n);
            let gv = got.value(n);
            let origin = probe.header("origin").unwrap_or("");
            // What the server's answer lets this origin's page read: its allow-origin must
            // name the origin (or be `*`, which a credentialed request never passes).
            let readable = got
                .value("access-control-allow-origin")
                .is_some_and(|g| g == "*" || (!origin.is_empty() && g == origin));
            for (severity, m) in
                cors_header(lowered, probe, n, ev.as_deref(), gv.as_deref(), readable)
            {
                push(severity, m);
            }
        }
    }
    // Vary: Origin.
    let varies = |v: Option<String>| {
        v.is_some_and(|v| {
            items(&v)
                .iter()
                .any(|i| i.eq_ignore_ascii_case("origin") || *i == "*")
        })
    };
    // (A refusal the server makes itself grants nothing a cache could hand on.)
    if got.status < 400 && varies(joined(&e.headers, "vary")) && !varies(got.value("vary")) {
        push(
            Severity::Looser,
            "no `Vary: Origin`: a shared cache may hand this answer to another origin".into(),
        );
    }
    // The route's security headers and CSP.
    let mut guard_names: Vec<&str> = e
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| is_guard_header(n))
        .collect();
    guard_names.dedup();
    for n in guard_names {
        let want = joined(&e.headers, n).unwrap_or_default();
        match got.value(n) {
            None => push(
                Severity::Looser,
                format!("no `{n}` (the policy sends `{want}`)"),
            ),
            Some(g) => {
                let shown = if n.starts_with("content-security-policy") {
                    masked(&g).0
                } else {
                    g.clone()
                };
                if shown != want {
                    push(
                        Severity::Looser,
                        format!("`{n}: {g}` where the policy sends `{want}`"),
                    );
                }
            }
        }
    }
    for n in &e.removed {
        if let Some(g) = got.value(n) {
            push(
                Severity::Looser,
                format!("`{n}: {g}`, which the route's header set removes"),
            );
        }
    }
    out
}

/// One `Access-Control-*` header: the policy's value `ev`, the server's `gv`.
fn cors_header(
    lowered: &Lowered,
    probe: &Probe,
    name: &str,
    ev: Option<&str>,
    gv: Option<&str>,
    readable: bool,
) -> Vec<(Severity, String)> {
    use Severity::{Looser, Stricter};
    let mut out = Vec::new();
    let origin = probe.header("origin").unwrap_or("");
    match (name, ev, gv) {
        (_, None, None) => {}
        (_, Some(e), Some(g)) if e == g => {}
        ("access-control-allow-origin", e, Some(g)) => {
            let granted = g == "*" || g == origin;
            match e {
                Some("*") if g == origin => {}
                Some(e) if !granted => out.push((
                    Stricter,
                    format!("`{name}: {g}` where the policy sends `{e}`"),
                )),
                // Naming another origin grants this one nothing.
                None if !granted => {}
                _ => out.push((
                    Looser,
                    format!(
                        "`{name}: {g}` grants an origin the policy {}",
                        match e {
                            Some(e) => format!("does not (it sends `{e}`)"),
                            None => "refuses".to_string(),
                        }
                    ),
                )),
            }
        }
        // Credentials count only where the answer is readable by this origin at all.
        ("access-control-allow-credentials", _, Some(g))
            if g.eq_ignore_ascii_case("true") && readable =>
        {
            out.push((
                Looser,
                format!("`{name}: {g}`: credentials the policy does not allow"),
            ));
        }
        ("access-control-allow-methods" | "access-control-allow-headers", e, g) => {
            let exact = name == "access-control-allow-methods";
            let ask = if exact {
                "access-control-request-method"
            } else {
                "access-control-request-headers"
            };
            let el = e.map(items).unwrap_or_default();
            let gl = g.map(items).unwrap_or_default();
            for item in &gl {
                if holds(&el, item, exact) {
                    continue;
                }
                if *item != "*" && e.is_some() && runtime_allows(lowered, probe, ask, item) {
                    continue;
                }
                out.push((
                    Looser,
                    format!("`{name}` grants `{item}`, which the policy does not"),
                ));
            }
            for item in &el {
                if !holds(&gl, item, exact) && !holds(&gl, "*", true) {
                    out.push((
                        Stricter,
                        format!("`{name}` lacks `{item}`, which the policy grants"),
                    ));
                }
            }
        }
        ("access-control-expose-headers", e, g) => {
            let el = e.map(items).unwrap_or_default();
            let gl = g.map(items).unwrap_or_default();
            for item in gl.iter().filter(|i| !holds(&el, i, false)) {
                out.push((
                    Looser,
                    format!("`{name}` exposes `{item}`, which the policy does not"),
                ));
            }
            for item in el.iter().filter(|i| !holds(&gl, i, false)) {
                out.push((
                    Stricter,
                    format!("`{name}` lacks `{item}`, which the policy exposes"),
                ));
            }
        }
        ("access-control-max-age", e, g) => {
            let num = |v: Option<&str>| v.and_then(|v| v.trim().parse::<u64>().ok());
            match (num(e), num(g)) {
                (Some(a), Some(b)) if b > a => out.push((
                    Looser,
                    format!("`{name}: {b}`: the preflight is cached longer than the policy's {a}"),
                )),
                (None, Some(b)) => out.push((
                    Looser,
                    format!("`{name}: {b}`: the policy sends no max-age"),
                )),
                (Some(a), _) => out.push((
                    Stricter,
                    format!(
                        "`{name}` is {} where the policy sends {a}",
                        g.unwrap_or("absent")
                    ),
                )),
                _ => {}
            }
        }
        (_, Some(e), None) => {
            out.push((Stricter, format!("no `{name}` (the policy sends `{e}`)")));
        }
        (_, e, Some(g)) => out.push((
            Looser,
            format!(
                "`{name}: {g}`{}",
                e.map(|e| format!(" where the policy sends `{e}`"))
                    .unwrap_or_else(|| " which the policy does not send".into())
            ),
        )),
    }
    // What an answer this origin cannot read grants (methods, headers, credentials) grants
    // it nothing.
    if !readable {
        out.retain(|(severity, _)| *severity != Looser);
    }
    out
}

/// The two fetches of a nonce route: their CSP nonces must differ (`None`: they do, or one
/// has none, which [`compare`] reports).
pub fn compare_nonces(index: usize, probe: &Probe, a: &Got, b: &Got) -> Option<Mismatch> {
    let nonces = |g: &Got| {
        g.headers
            .iter()
            .filter(|(n, _)| n.starts_with("content-security-policy"))
            .flat_map(|(_, v)| masked(v).1)
            .collect::<Vec<_>>()
    };
    let (na, nb) = (nonces(a), nonces(b));
    let same = na.iter().find(|n| nb.contains(n))?;
    Some(Mismatch {
        severity: Severity::Looser,
        probe: index,
        message: format!(
            "GET {}: the same CSP nonce `{same}` on two responses: a nonce must be fresh per response",
            probe.path
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{plan, PlanOptions, Purpose};
    use crate::Compilation;

    const POLICY: &str = r#"
origins web { "https://app.example.com" }
cors api {
    allow-origins web
    allow-methods GET PUT DELETE
    allow-headers Content-Type
    expose-headers X-Total
    allow-credentials true
    max-age 600
}
csp page {
    default-src 'self'
    script-src 'nonce' 'strict-dynamic'
    object-src 'none'
    base-uri 'none'
}
headers hard { x-frame-options DENY }
route "/api/*" { cors api }
route "/page" { csp page; headers hard }
route "/open" { }
"#;

    fn setup() -> (Lowered, Vec<Probe>) {
        setup_with(POLICY, false)
    }

    fn setup_with(policy: &str, unsafe_methods: bool) -> (Lowered, Vec<Probe>) {
        let c = Compilation::from_str("p.policy", policy);
        assert!(!c.has_errors(), "{}", c.render());
        let l = c.lower("default").unwrap();
        let p = plan(
            &l,
            &PlanOptions {
                host: "s.example".into(),
                paths: Vec::new(),
                extra_headers: Vec::new(),
                unsafe_methods,
                max_requests: 10_000,
                supplied: Vec::new(),
            },
        )
        .unwrap();
        (l, p.probes)
    }

    /// The runtime's own answer, as a server would send it.
    fn faithful(p: &Probe) -> Got {
        Got {
            status: p.expected.status.unwrap_or(200),
            headers: p
                .expected
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.replace("{nonce}", &format!("n{}", p.n))))
                .collect(),
        }
    }

    fn find(ps: &[Probe], f: impl Fn(&Probe) -> bool) -> (usize, &Probe) {
        ps.iter().enumerate().find(|(_, p)| f(p)).unwrap()
    }

    #[test]
    fn the_runtimes_own_answers_match() {
        let (l, ps) = setup();
        for (i, p) in ps.iter().enumerate() {
            assert_eq!(compare(&l, i, p, &faithful(p)), vec![], "{p:?}");
        }
    }

    #[test]
    fn a_reflected_look_alike_with_credentials_is_looser() {
        let (l, ps) = setup();
        let (i, p) = find(&ps, |p| {
            p.method == "GET" && p.header("origin") == Some("http://app.example.com")
        });
        let mut got = faithful(p);
        got.headers.push((
            "access-control-allow-origin".into(),
            "http://app.example.com".into(),
        ));
        got.headers
            .push(("access-control-allow-credentials".into(), "true".into()));
        let m = compare(&l, i, p, &got);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m
            .iter()
            .all(|m| m.severity == Severity::Looser && m.probe == i));
        assert!(
            m[0].message.contains("from `http://app.example.com`"),
            "{}",
            m[0].message
        );
    }

    #[test]
    fn missing_vary_and_headers_and_permissive_preflights() {
        let (l, ps) = setup();
        let (i, p) = find(&ps, |p| {
            p.method == "GET"
                && p.purpose == Purpose::Allowed
                && p.header("origin") == Some("https://app.example.com")
        });
        let mut got = faithful(p);
        got.headers.retain(|(n, _)| n != "vary");
        let m = compare(&l, i, p, &got);
        assert_eq!(m.len(), 1);
        assert!(m[0].message.contains("Vary: Origin") && m[0].severity == Severity::Looser);
        // An allowed preflight answered 403: stricter.
        let (i, p) = find(&ps, |p| {
            p.method == "OPTIONS"
                && p.purpose == Purpose::Allowed
                && p.expected.kind == guestlist::Kind::PreflightOk
        });
        let got = Got {
            status: 403,
            headers: Vec::new(),
        };
        let m = compare(&l, i, p, &got);
        assert!(
            !m.is_empty() && m.iter().all(|m| m.severity == Severity::Stricter),
            "{m:?}"
        );
        // A refused method granted with `*`: looser, and the status too.
        let (i, p) = find(&ps, |p| {
            p.method == "OPTIONS"
                && p.expected.kind == guestlist::Kind::PreflightRejected
                && p.header("access-control-request-method") == Some("PATCH")
        });
        let got = Got {
            status: 204,
            headers: vec![
                (
                    "access-control-allow-origin".into(),
                    p.header("origin").unwrap().into(),
                ),
                ("access-control-allow-methods".into(), "*".into()),
            ],
        };
        let m = compare(&l, i, p, &got);
        assert!(
            m.iter().filter(|m| m.severity == Severity::Looser).count() >= 3,
            "{m:?}"
        );
        // Methods the policy allows, listed beyond the echoed one: not looser.
        let (i, p) = find(&ps, |p| {
            p.method == "OPTIONS" && p.expected.kind == guestlist::Kind::PreflightOk
        });
        let mut got = faithful(p);
        for (n, v) in &mut got.headers {
            if n == "access-control-allow-methods" {
                *v = format!("GET, PUT, DELETE, {v}");
            }
        }
        assert_eq!(compare(&l, i, p, &got), vec![]);
    }

    #[test]
    fn security_headers_nonces_and_unmanaged_cors() {
        let (l, ps) = setup();
        let (i, p) = find(&ps, |p| {
            p.route == "\"/page\"" && p.purpose == Purpose::Nonce
        });
        let mut got = faithful(p);
        got.headers.retain(|(n, _)| n != "x-frame-options");
        let m = compare(&l, i, p, &got);
        assert_eq!(m.len(), 1);
        assert!(m[0].message.contains("x-frame-options"));
        let other = faithful(&ps[p.pair.unwrap()]);
        assert_eq!(compare_nonces(i, p, &faithful(p), &other), None);
        let m = compare_nonces(i, p, &faithful(p), &faithful(p)).unwrap();
        assert_eq!(m.severity, Severity::Looser);
        let (i, p) = find(&ps, |p| {
            p.route == "\"/open\"" && p.header("origin").is_some()
        });
        let mut got = faithful(p);
        got.headers
            .push(("access-control-allow-origin".into(), "*".into()));
        let m = compare(&l, i, p, &got);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].severity, Severity::Unmanaged);
        // A refused path form served: a guard not enforced; a redirect: reported.
        let (i, p) = find(&ps, |p| {
            p.purpose == Purpose::PathForm && p.expected.refuses()
        });
        let m = compare(
            &l,
            i,
            p,
            &Got {
                status: 200,
                headers: Vec::new(),
            },
        );
        assert!(m
            .iter()
            .any(|m| m.severity == Severity::Looser && m.message.contains("answered 200")));
        let got = Got {
            status: 301,
            headers: vec![("location".into(), "https://x/".into())],
        };
        let m = compare(&l, i, p, &got);
        assert!(m
            .iter()
            .any(|m| m.message.contains("redirected (301 to https://x/)")));
    }

    #[test]
    fn a_redirect_past_a_refusal_is_looser_and_an_allowed_one_stricter() {
        let (l, ps) = setup();
        let redirect = |extra: &[(&str, &str)]| {
            let mut g = Got {
                status: 303,
                headers: vec![("location".into(), "/done".into())],
            };
            for (n, v) in extra {
                g.headers.push(((*n).into(), (*v).into()));
            }
            g
        };
        let forms = format!("{POLICY}csrf forms {{ }}\nroute \"/form\" {{ csrf forms }}\n");
        let (lf, pf) = setup_with(&forms, true);
        let (i, refused) = find(&pf, |p| p.expected.kind == guestlist::Kind::CsrfRejected);
        let m = compare(&lf, i, refused, &redirect(&[]));
        assert!(m.iter().any(|m| m.severity == Severity::Looser), "{m:?}");
        // Looser, and nothing else: the write went through.
        assert!(m.iter().all(|m| m.severity == Severity::Looser), "{m:?}");
        let (i, look_alike) = find(&ps, |p| {
            p.method == "GET" && p.header("origin") == Some("http://app.example.com")
        });
        let m = compare(
            &l,
            i,
            look_alike,
            &redirect(&[("access-control-allow-origin", "http://app.example.com")]),
        );
        assert!(
            m.iter()
                .any(|m| m.severity == Severity::Looser && m.message.contains("redirect")),
            "{m:?}"
        );
        let (i, plain) = find(&ps, |p| {
            p.method == "GET" && p.expected.status.is_none() && p.header("origin").is_none()
        });
        let m = compare(&l, i, plain, &redirect(&[]));
        assert!(
            !m.is_empty() && m.iter().all(|m| m.severity == Severity::Stricter),
            "{m:?}"
        );
    }

    #[test]
    fn a_refused_preflight_answered_200_is_looser_only_when_it_passes() {
        let (l, ps) = setup();
        let (i, p) = find(&ps, |p| {
            p.expected.kind == guestlist::Kind::PreflightRejected && p.header("origin").is_some()
        });
        let origin = p.header("origin").unwrap_or_default().to_string();
        let answered = |acao: &str| Got {
            status: 200,
            headers: vec![("access-control-allow-origin".into(), acao.into())],
        };
        let m = compare(&l, i, p, &answered("https://someone-else.example"));
        assert!(
            !m.iter()
                .any(|m| m.severity == Severity::Looser && m.message.contains("answered 200")),
            "{m:?}"
        );
        let m = compare(&l, i, p, &answered(&origin));
        assert!(
            m.iter()
                .any(|m| m.severity == Severity::Looser && m.message.contains("answered 200")),
            "{m:?}"
        );
    }

    #[test]
    fn an_allow_origin_naming_another_origin_grants_nothing() {
        let (l, ps) = setup();
        let (i, p) = find(&ps, |p| {
            p.method == "GET" && p.header("origin") == Some("http://app.example.com")
        });
        let mut got = faithful(p);
        got.headers.push((
            "access-control-allow-origin".into(),
            "https://app.example.com".into(),
        ));
        got.headers
            .push(("access-control-allow-credentials".into(), "true".into()));
        let m = compare(&l, i, p, &got);
        assert!(m.iter().all(|m| m.severity != Severity::Looser), "{m:?}");
    }
}
