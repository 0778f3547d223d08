//! A path's form never loosens a decision (spec/language.md, "Path forms"): for a generated
//! policy, a path `p` under one of its routes and a mutation `m` (the forms an attacker would
//! try: `./`, `x/../`, `%2e%2e/`, `%2E`, `//`, `%2F..%2F`, `%2f`, `%zz`, `%00`, `%5C` inserted
//! at random places), the decision for `m(p)` is no looser than the decision for a plain path
//! of either reading's route, nor than `decide(p)` when `m(p)` normalises back to `p`'s route.
//!
//! "No looser" (spec): a refusal, or allowed origins, methods, request headers and exposed
//! headers that are subsets, credentials only where the other sends them, a max-age at most
//! the other's, and the other's guard refusals and CSPs included. It is judged on what a
//! browser sees: status and headers. The generated routes carry cors policies, CSPs, header
//! sets, CSRF origin checks with an exemption, signed-token CSRF (decided with a secret; some
//! requests carry a valid token, some a forged one) and WebSocket origin checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests fail by panicking; an allow, not an expect: some feature sets compile parts of this file out"
)]

use std::collections::BTreeSet;

use guestlist::{
    CorsSpec, CspSpec, CsrfSecret, CsrfSpec, Decision, GuardValue, HeaderSetSpec, Kind,
    NonNormalPaths, Policy, PolicySpec, RouteSpec, TokenSpec, WebSocketSpec,
};
use proptest::prelude::*;

const PATTERNS: [&str; 9] = [
    "/*", "/a/*", "/a/b/*", "/ab/*", "/a/b", "/x/*", "/x/.y/*", "/a-b/*", "/hooks/*",
];
const ORIGINS: [&str; 4] = [
    "https://app.test",
    "https://b.test",
    "https://c.test",
    "https://evil.test",
];
/// Text inserted into a path; `ESCAPE` instead writes the byte there as its escape (`/%61pi`).
const MUTATIONS: [&str; 14] = [
    "./", "x/../", "%2e%2e/", "%2E", "//", "%2F..%2F", "%2f", "%zz", "%00", "%5C", "\\", ESCAPE,
    ESCAPE, "%2F%2F",
];
const ESCAPE: &str = "(escape)";
const HEADER_NAMES: [&str; 3] = ["X-A", "X-B", "Content-Type"];

fn cors_spec() -> impl Strategy<Value = CorsSpec> {
    (
        proptest::sample::subsequence(ORIGINS[..3].to_vec(), 0..=3),
        any::<bool>(),
        any::<bool>(),
        proptest::sample::subsequence(vec!["PUT", "DELETE"], 0..=2),
        proptest::sample::subsequence(HEADER_NAMES.to_vec(), 0..=3),
        proptest::sample::subsequence(vec!["X-One", "X-Two", "X-Three"], 0..=3),
        proptest::option::of(prop_oneof![Just(0u32), Just(5), Just(60), Just(600)]),
    )
        .prop_map(
            |(origins, star, credentials, methods, headers, expose, max_age)| {
                // `*` with credentials is never built; `*` stands for "any origin" otherwise.
                let any_origin = star && !credentials;
                CorsSpec {
                    name: String::new(),
                    any_origin,
                    origins: if any_origin {
                        Vec::new()
                    } else {
                        origins.into_iter().map(String::from).collect()
                    },
                    credentials,
                    methods: methods.into_iter().map(String::from).collect(),
                    headers: headers.into_iter().map(String::from).collect(),
                    expose: expose.into_iter().map(String::from).collect(),
                    max_age,
                    ..CorsSpec::default()
                }
            },
        )
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        proptest::collection::vec(cors_spec(), 1..=3),
        proptest::sample::subsequence(PATTERNS.to_vec(), 1..=PATTERNS.len()),
        proptest::collection::vec(
            (0..5usize, 0..3usize, 0..3usize, 0..3usize, 0..2usize),
            PATTERNS.len(),
        ),
        any::<bool>(),
    )
        .prop_map(|(cors, patterns, picks, two_readings)| {
            let n = cors.len();
            let cors = cors
                .into_iter()
                .enumerate()
                .map(|(i, c)| CorsSpec {
                    name: format!("c{i}"),
                    ..c
                })
                .collect();
            let routes = patterns
                .iter()
                .zip(&picks)
                .map(|(p, &(c, csp, headers, csrf, ws))| RouteSpec {
                    pattern: (*p).to_string(),
                    cors: (c < n).then_some(c),
                    csp: (csp < 2).then_some(csp),
                    headers: (headers < 2).then_some(headers),
                    // 0: none, 1: origin checks with an exemption, 2: signed tokens.
                    csrf: csrf.checked_sub(1),
                    websocket: (ws == 1).then_some(0),
                    host: None,
                })
                .collect();
            Policy::from_spec(PolicySpec {
                routes,
                cors,
                csp: ["default-src 'self'", "script-src 'none'"]
                    .iter()
                    .enumerate()
                    .map(|(i, v)| CspSpec {
                        name: format!("p{i}"),
                        parts: vec![(*v).to_string()],
                        ..CspSpec::default()
                    })
                    .collect(),
                headers: vec![
                    HeaderSetSpec {
                        name: "soft".into(),
                        set: vec![("x-frame-options".into(), "SAMEORIGIN".into())],
                        remove: Vec::new(),
                    },
                    HeaderSetSpec {
                        name: "hard".into(),
                        set: vec![("x-frame-options".into(), "DENY".into())],
                        remove: Vec::new(),
                    },
                ],
                csrf: vec![
                    CsrfSpec {
                        name: "forms".into(),
                        trusted: vec!["https://b.test".into()],
                        exempt: vec![("POST".into(), "/hooks/*".into())],
                        ..CsrfSpec::default()
                    },
                    CsrfSpec {
                        name: "tokens".into(),
                        token: Some(token_spec()),
                        ..CsrfSpec::default()
                    },
                ],
                websocket: vec![WebSocketSpec {
                    name: "ws".into(),
                    origins: vec!["https://b.test".into()],
                    ..WebSocketSpec::default()
                }],
                non_normal: if two_readings {
                    NonNormalPaths::TwoReadings
                } else {
                    NonNormalPaths::Reject
                },
                provided: Vec::new(),
                hosts: Vec::new(),
                hosts_dispatched: false,
            })
            .expect("generated policies build")
        })
}

fn token_spec() -> TokenSpec {
    TokenSpec {
        header: "x-csrf-token".into(),
        cookie: "__Host-csrf".into(),
        bind_cookie: "session".into(),
        same_site: "Lax".into(),
        field: "csrf_token".into(),
        defer_forms: false,
    }
}

fn secret() -> &'static CsrfSecret {
    static SECRET: std::sync::OnceLock<CsrfSecret> = std::sync::OnceLock::new();
    SECRET.get_or_init(|| CsrfSecret::new(vec![7u8; 32]).unwrap())
}

/// A token for the session `s1`, minted once. Without the `csrf-token` feature no token can
/// be minted and none verifies: a well-formed stand-in keeps the requests' shapes, and the
/// property still holds (every token policy refuses).
fn token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| {
        if cfg!(feature = "csrf-token") {
            guestlist::mint_csrf_token(secret(), b"s1").expect("the CSPRNG is readable")
        } else {
            format!("{}.{}", "a".repeat(64), "b".repeat(32))
        }
    })
}

/// A request: method and headers (the path is generated apart). Some carry a WebSocket
/// upgrade; some the session's token in its cookie and header, or a cookie and a header that
/// disagree.
fn request() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (
        prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("OPTIONS")],
        proptest::option::of(proptest::sample::select(ORIGINS.to_vec())),
        proptest::option::of(prop_oneof![Just("GET"), Just("PUT"), Just("DELETE")]),
        proptest::sample::subsequence(HEADER_NAMES.to_vec(), 0..=2),
        proptest::option::of(prop_oneof![Just("cross-site"), Just("same-origin")]),
        (any::<bool>(), 0..3usize),
    )
        .prop_map(|(method, origin, acrm, acrh, sfs, (upgrade, tok))| {
            let mut h = Vec::new();
            if let Some(o) = origin {
                h.push(("origin".to_string(), o.to_string()));
            }
            if method == "OPTIONS" {
                if let Some(m) = acrm {
                    h.push(("access-control-request-method".into(), m.into()));
                }
                if !acrh.is_empty() {
                    h.push(("access-control-request-headers".into(), acrh.join(",")));
                }
            }
            if let Some(s) = sfs {
                h.push(("sec-fetch-site".into(), s.into()));
            }
            if upgrade && method == "GET" {
                h.push(("upgrade".into(), "websocket".into()));
                h.push(("connection".into(), "Upgrade".into()));
            }
            match tok {
                1 => {
                    h.push((
                        "cookie".into(),
                        format!("__Host-csrf={}; session=s1", token()),
                    ));
                    h.push(("x-csrf-token".into(), token().to_string()));
                }
                2 => {
                    h.push((
                        "cookie".into(),
                        format!("__Host-csrf={}; session=s1", token()),
                    ));
                    h.push(("x-csrf-token".into(), "0".repeat(token().len())));
                }
                _ => {}
            }
            h.push(("host".into(), "site.test".into()));
            (method.to_string(), h)
        })
}

/// A plain path under `pattern`.
fn under(pattern: &str, tail: &str) -> String {
    match pattern.strip_suffix('*') {
        Some(prefix) => format!("{prefix}{tail}"),
        None => pattern.to_string(),
    }
}

/// `path` with `m` inserted at byte `at` (clamped to the path, after its first byte).
fn insert(path: &str, at: usize, m: &str) -> String {
    let at = 1 + at % path.len().max(1);
    let at = at.min(path.len());
    if m == ESCAPE {
        // The byte at `at` (or the last one) as `%XX`, upper or lower case by position.
        let i = at.min(path.len() - 1);
        let b = path.as_bytes()[i];
        let esc = if i % 2 == 0 {
            format!("%{b:02X}")
        } else {
            format!("%{b:02x}")
        };
        return format!("{}{esc}{}", &path[..i], &path[i + 1..]);
    }
    format!("{}{m}{}", &path[..at], &path[at..])
}

/// What a browser sees of a decision: the status (None: it reaches the application), the
/// headers the runtime sets, and the CSPs of its route(s).
struct Seen {
    status: Option<u16>,
    kind: Kind,
    headers: Vec<(String, String)>,
    csps: BTreeSet<String>,
}

fn seen(policy: &Policy, d: &Decision<'_>) -> Seen {
    let mut csps = BTreeSet::new();
    policy.for_each_guard_header(d.guards, d.readings.map(|r| r.guards), |h| {
        if let GuardValue::Csp(c) = h.value {
            csps.insert(c.display_value());
        }
    });
    Seen {
        status: d.status(),
        kind: d.kind,
        headers: d
            .headers()
            .iter()
            .map(|h| {
                (
                    h.name.as_str().to_string(),
                    String::from_utf8_lossy(h.value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        csps,
    }
}

fn get<'h>(s: &'h Seen, name: &str) -> Vec<&'h str> {
    s.headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn names(values: &[&str]) -> BTreeSet<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

/// `Ok` when `a` is no looser than `b` (the spec's definition, on what a browser sees).
fn no_looser(a: &Seen, b: &Seen) -> Result<(), String> {
    let refused = |s: &Seen| matches!(s.status, Some(400 | 403));
    if refused(a) {
        return Ok(());
    }
    // B's guards refuse: A's include them.
    if matches!(
        b.kind,
        Kind::CsrfRejected | Kind::WebsocketRejected | Kind::PathRejected
    ) {
        return Err(format!(
            "b refuses ({:?}), a does not ({:?})",
            b.kind, a.kind
        ));
    }
    // Origins.
    let (acao_a, acao_b) = (
        get(a, "access-control-allow-origin"),
        get(b, "access-control-allow-origin"),
    );
    if let Some(o) = acao_a.first() {
        match acao_b.first() {
            Some(&"*") => {}
            Some(ob) if ob == o && *o != "*" => {}
            other => return Err(format!("a allows origin {o}, b {other:?}")),
        }
    }
    if a.status == Some(204) && b.status != Some(204) {
        return Err("a answers a preflight b does not allow".into());
    }
    // Credentials.
    if !get(a, "access-control-allow-credentials").is_empty()
        && get(b, "access-control-allow-credentials").is_empty()
    {
        return Err("a sends credentials, b does not".into());
    }
    // Methods, request headers, exposed headers: subsets (`*` covers every name).
    for h in [
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
    ] {
        let (na, nb) = (names(&get(a, h)), names(&get(b, h)));
        if !nb.contains("*") && !na.is_subset(&nb) {
            return Err(format!("{h}: a {na:?} is not within b {nb:?}"));
        }
    }
    // Max-age: at most b's (no header: a browser's five seconds).
    let age = |s: &Seen| {
        get(s, "access-control-max-age")
            .first()
            .map_or(5, |v| v.parse::<u64>().unwrap())
    };
    if a.status == Some(204) && age(a) > age(b) {
        return Err(format!("max-age {} over {}", age(a), age(b)));
    }
    // CSPs: b's are all sent.
    if !b.csps.is_subset(&a.csps) {
        return Err(format!("csp {:?} not within {:?}", b.csps, a.csps));
    }
    Ok(())
}

/// A plain path whose one reading selects `route` (or no route).
/// The spec's normalised reading of a raw path (cut at `?`), written apart from the runtime:
/// every escape decoded (`None` for an invalid one or `%00`), runs of `/` merged, `.` removed,
/// `..` resolved (`None` above the root); with whether the decoded path has a `.` or `..`
/// segment or a backslash.
fn model_normalise(raw: &str) -> Option<(String, bool)> {
    let b = raw.as_bytes();
    if b.first() != Some(&b'/') || b.len() > guestlist::MAX_PATH {
        return None;
    }
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            let v = u8::from_str_radix(hex, 16).ok()?;
            if v == 0 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            decoded.push(v);
            i += 3;
        } else {
            decoded.push(b[i]);
            i += 1;
        }
    }
    let segments: Vec<&[u8]> = decoded.split(|&c| c == b'/').skip(1).collect();
    // An escaped slash next to a slash: `%2F` decoded and `//` kept read as a third path.
    let marked = raw.to_ascii_lowercase().replace("%2f", "\u{1}");
    let slash_pair = ["/\u{1}", "\u{1}/", "\u{1}\u{1}"]
        .iter()
        .any(|p| marked.contains(p));
    let dots = slash_pair
        || decoded.contains(&b'\\')
        || segments.iter().any(|s| *s == b"." || *s == b"..");
    let mut out: Vec<&[u8]> = Vec::new();
    let last = segments.len().saturating_sub(1);
    let mut trailing = false;
    for (k, s) in segments.iter().enumerate() {
        match *s {
            b"" => trailing = k == last,
            b"." => trailing = true,
            b".." => {
                out.pop()?;
                trailing = true;
            }
            seg => {
                out.push(seg);
                trailing = false;
            }
        }
    }
    let mut n = Vec::new();
    for s in &out {
        n.push(b'/');
        n.extend_from_slice(s);
    }
    if trailing || n.is_empty() {
        n.push(b'/');
    }
    Some((String::from_utf8_lossy(&n).into_owned(), dots))
}

/// Structurally normal (spec): no escape, no backslash, no empty, `.` or `..` segment (a
/// trailing `/` is not an empty segment).
fn model_normal(raw: &str) -> bool {
    let inner = raw.strip_suffix('/').unwrap_or(raw);
    !raw.contains(['%', '\\'])
        && (raw == "/"
            || inner
                .split('/')
                .skip(1)
                .all(|s| !s.is_empty() && s != "." && s != ".."))
}

/// The route a path selects, by the spec's rule read literally: an exact pattern equal to the
/// path, else the longest prefix pattern (`/a/*`) the path starts with.
fn model_route(policy: &Policy, path: &str) -> Option<u32> {
    let routes = policy.routes();
    if let Some(i) = routes
        .iter()
        .position(|r| !r.pattern().ends_with('*') && r.pattern() == path)
    {
        return u32::try_from(i).ok();
    }
    routes
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.pattern().strip_suffix('*').map(|pre| (i, pre)))
        .filter(|(_, pre)| path.starts_with(pre))
        .max_by_key(|(_, pre)| pre.len())
        .and_then(|(i, _)| u32::try_from(i).ok())
}

fn plain_path(policy: &Policy, route: Option<u32>) -> String {
    match route.and_then(|r| policy.routes().get(r as usize)) {
        Some(r) => under(r.pattern(), "q/r"),
        None => "/zz-no-route".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn a_paths_form_never_loosens_a_decision(
        policy in policy(),
        (method, headers) in request(),
        route in 0..PATTERNS.len(),
        tail in proptest::sample::select(vec!["", "x", "x/y", "b/z", ".y/k", "ab"]),
        edits in proptest::collection::vec((0..64usize, 0..MUTATIONS.len()), 1..=2),
    ) {
        let routes = policy.routes();
        let r = &routes[route % routes.len()];
        let p = under(r.pattern(), tail);
        let mut m = p.clone();
        for (at, k) in &edits {
            m = insert(&m, *at, MUTATIONS[*k]);
        }
        let h = &headers[..];
        let a = policy.decide_full(&method, &m, None, h, Some(secret()));
        let sa = seen(&policy, &a);
        let reject = policy.non_normal_paths() == NonNormalPaths::Reject;
        let mut against: Vec<(String, String)> = Vec::new();
        // The readings, by the test's own model of the spec (not the runtime's reader).
        let raw = m.split(['?', '#']).next().unwrap_or("");
        match model_normalise(raw) {
            None => prop_assert_eq!(a.kind, Kind::PathRejected, "{} is unreadable", m),
            Some((_, true)) if reject => {
                prop_assert_eq!(a.kind, Kind::PathRejected, "{} has dot segments", m);
            }
            Some((normalised, _)) if model_normal(raw) => {
                prop_assert_eq!(&normalised, raw);
                let own = model_route(&policy, raw);
                against.push(("its route".into(), plain_path(&policy, own)));
                if model_route(&policy, &p) == own {
                    against.push(("p".into(), p.clone()));
                }
            }
            Some((normalised, _)) => {
                prop_assert_ne!(a.csrf_reason, Some(guestlist::Reason::CsrfExempt), "{} is exempt", m);
                let n = model_route(&policy, &normalised);
                against.push(("the as-sent route".into(), plain_path(&policy, model_route(&policy, raw))));
                against.push(("the normalised route".into(), plain_path(&policy, n)));
                if model_route(&policy, &p) == n {
                    against.push(("p".into(), p.clone()));
                }
            }
        }
        for (what, q) in against {
            let b = policy.decide_full(&method, &q, None, h, Some(secret()));
            let sb = seen(&policy, &b);
            if let Err(e) = no_looser(&sa, &sb) {
                prop_assert!(false, "{method} {m} (from {p}) is looser than {what} ({q}): {e}\n a: {:?} {:?}\n b: {:?} {:?}", a.kind, sa.headers, b.kind, sb.headers);
            }
        }
    }
}

/// One case per kind of path form (encoded and plain dot segments, and the others below), on a
/// policy where the exemption and the wider route differ, checked by hand.
#[test]
fn every_named_form() {
    let policy = Policy::from_spec(PolicySpec {
        routes: vec![
            RouteSpec {
                pattern: "/*".into(),
                csrf: Some(0),
                ..RouteSpec::default()
            },
            RouteSpec {
                pattern: "/partner/*".into(),
                cors: Some(0),
                ..RouteSpec::default()
            },
        ],
        cors: vec![CorsSpec {
            name: "partner".into(),
            origins: vec!["https://partner.test".into()],
            credentials: true,
            ..CorsSpec::default()
        }],
        csrf: vec![CsrfSpec {
            name: "c".into(),
            exempt: vec![("POST".into(), "/webhooks/*".into())],
            ..CsrfSpec::default()
        }],
        ..PolicySpec::default()
    })
    .unwrap();
    let post = [("sec-fetch-site", "cross-site"), ("host", "site.test")];
    let get = [("origin", "https://partner.test")];
    // method, path, request headers, kind, reason (or why the csrf check let it through).
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], Kind, &'a str);
    let cases: [Case<'_>; 15] = [
        ("POST", "/webhooks/x", &post, Kind::NotCors, "csrf-exempt"),
        (
            "POST",
            "/account/%2e%2e/webhooks/x",
            &post,
            Kind::PathRejected,
            "path-not-normal",
        ),
        (
            "POST",
            "/account/../webhooks/x",
            &post,
            Kind::PathRejected,
            "path-not-normal",
        ),
        (
            "POST",
            "//webhooks/x",
            &post,
            Kind::CsrfRejected,
            "csrf-cross-site",
        ),
        (
            "POST",
            "/webhooks%2Fx",
            &post,
            Kind::CsrfRejected,
            "csrf-cross-site",
        ),
        (
            "POST",
            "/account/x%zz",
            &post,
            Kind::PathRejected,
            "path-invalid",
        ),
        (
            "POST",
            "/account/a%2F..%2F..%2F..%2Fx",
            &post,
            Kind::PathRejected,
            "path-invalid",
        ),
        (
            "POST",
            "/account/x%00",
            &post,
            Kind::PathRejected,
            "path-invalid",
        ),
        (
            "POST",
            "/account/x%5Cy",
            &post,
            Kind::PathRejected,
            "path-not-normal",
        ),
        // A structurally normal path is exempt only when its bytes as sent match: a router on
        // the raw path (axum) does not read `/%77ebhooks/x` as `/webhooks/x`.
        (
            "POST",
            "/%77ebhooks/x",
            &post,
            Kind::CsrfRejected,
            "csrf-cross-site",
        ),
        // Any escape gives two readings (a router on the raw path reads `/webhooks/a%20b` as
        // sent), and an exemption needs a structurally normal path.
        (
            "POST",
            "/webhooks/a%20b",
            &post,
            Kind::CsrfRejected,
            "csrf-cross-site",
        ),
        (
            "POST",
            "/%77ebhooks/x",
            &post,
            Kind::CsrfRejected,
            "csrf-cross-site",
        ),
        (
            "GET",
            "/api/x%2F..%2F..%2Fpartner/y",
            &get,
            Kind::PathRejected,
            "path-not-normal",
        ),
        (
            "GET",
            "/api%2Fpartner/y",
            &get,
            Kind::NotCors,
            "no-cors-policy",
        ),
        (
            "GET",
            "/partner/group%2Fproject",
            &get,
            Kind::ActualAllowed,
            "origin-allowed",
        ),
    ];
    for (method, path, headers, kind, reason) in cases {
        let d = policy.decide(method, path, headers);
        // Why the csrf check let the request through, or the decision's reason.
        let why = match d.csrf_reason {
            Some(r) if d.kind == Kind::NotCors && reason.starts_with("csrf-") => r,
            _ => d.reason,
        };
        assert_eq!((d.kind, why.code()), (kind, reason), "{method} {path}");
    }
    // The `/api%2Fpartner/y` read: as sent `/*` (no cors), normalised `/partner/*`; the
    // as-sent reading, which the application serves, gives no CORS headers.
    let d = policy.decide("GET", "/api%2Fpartner/y", &get[..]);
    assert!(d
        .headers()
        .iter()
        .all(|h| h.name.as_str() != "access-control-allow-origin"));
}

/// Through the tower layer: on a path whose readings disagree, the application's own
/// `Access-Control-*` headers are replaced (none are sent), its `Vary` kept with `Origin`
/// added, and both readings' CSPs are sent.
#[cfg(feature = "tower")]
mod common;

#[cfg(feature = "tower")]
mod through_the_layer {
    use std::sync::Arc;

    use guestlist::{CorsSpec, CspSpec, Layer, Policy, PolicySpec, RouteSpec};
    use tower_layer::Layer as _;

    use super::common;

    fn app() -> common::App<()> {
        common::App::new(
            |_| (),
            || {
                let mut r = http::Response::new(());
                let h = r.headers_mut();
                h.insert("access-control-allow-origin", "*".parse().unwrap());
                h.insert("access-control-allow-credentials", "true".parse().unwrap());
                h.insert("vary", "Accept".parse().unwrap());
                r
            },
        )
    }

    #[test]
    fn the_applications_cors_headers_are_replaced_on_two_readings() {
        let policy = Policy::from_spec(PolicySpec {
            routes: vec![
                RouteSpec {
                    pattern: "/api/*".into(),
                    cors: Some(0),
                    csp: Some(0),
                    ..RouteSpec::default()
                },
                RouteSpec {
                    pattern: "/*".into(),
                    csp: Some(1),
                    ..RouteSpec::default()
                },
            ],
            cors: vec![CorsSpec {
                name: "api".into(),
                origins: vec!["https://app.test".into()],
                credentials: true,
                ..CorsSpec::default()
            }],
            csp: ["default-src 'self'", "script-src 'none'"]
                .iter()
                .enumerate()
                .map(|(i, v)| CspSpec {
                    name: format!("p{i}"),
                    parts: vec![(*v).to_string()],
                    ..CspSpec::default()
                })
                .collect(),
            ..PolicySpec::default()
        })
        .unwrap();
        let mut svc = Layer::shared(Arc::new(policy)).layer(app());
        let get = |path: &str| {
            http::Request::get(path)
                .header("origin", "https://app.test")
                .body(())
                .unwrap()
        };
        // One reading: the route's own answer.
        let r = common::run(&mut svc, get("/api/x"));
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "https://app.test"
        );
        // `/api%2Fx`: as sent under `/*` (no cors policy), normalised under `/api/*`.
        let r = common::run(&mut svc, get("/api%2Fx"));
        assert_eq!(r.status(), 200);
        for name in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
        ] {
            assert!(r.headers().get(name).is_none(), "{name}: {:?}", r.headers());
        }
        let vary: Vec<_> = r.headers().get_all("vary").iter().collect();
        assert_eq!(vary, ["Accept", "Origin"]);
        let csp: Vec<_> = r
            .headers()
            .get_all("content-security-policy")
            .iter()
            .collect();
        assert_eq!(csp, ["script-src 'none'", "default-src 'self'"]);
    }
}
