//! Host blocks (spec/language.md, section 6a): the request's one authority selects a host
//! block's routes (an exact pattern, then the longest `*.` suffix), the top-level routes serve
//! every other authority, and an ambiguous authority is refused with 400.

#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

use guestlist::{CorsSpec, HostSpec, Kind, Policy, PolicySpec, Reason, RouteSpec};

/// `/api/*` at top level (cors `top`), in `api.example.com` (cors `api`), in
/// `*.tenants.example.com` (cors `tenants`); each allows only its own origin.
fn policy() -> Policy {
    let cors = |name: &str, origin: &str| CorsSpec {
        name: name.into(),
        origins: vec![origin.into()],
        ..CorsSpec::default()
    };
    let route = |cors: usize, host: Option<usize>| RouteSpec {
        pattern: "/api/*".into(),
        cors: Some(cors),
        host,
        ..RouteSpec::default()
    };
    Policy::from_spec(PolicySpec {
        routes: vec![route(0, None), route(1, Some(0)), route(2, Some(1))],
        cors: vec![
            cors("top", "https://top.example"),
            cors("api", "https://api.example"),
            cors("tenants", "https://tenants.example"),
        ],
        hosts: vec![
            HostSpec {
                patterns: vec!["api.example.com".into(), "api.example.net:8443".into()],
            },
            HostSpec {
                patterns: vec!["*.tenants.example.com".into()],
            },
        ],
        ..PolicySpec::default()
    })
    .unwrap()
}

#[test]
fn the_authority_selects_the_host_blocks_routes() {
    let p = policy();
    for (target, host, want) in [
        (None, Some("api.example.com"), "https://api.example"),
        (None, Some("API.Example.com."), "https://api.example"),
        (None, Some("api.example.net:8443"), "https://api.example"),
        (None, Some("api.example.net"), "https://top.example"),
        (None, Some("api.example.com:443"), "https://top.example"),
        (
            None,
            Some("x.tenants.example.com"),
            "https://tenants.example",
        ),
        (
            None,
            Some("a.b.tenants.example.com"),
            "https://tenants.example",
        ),
        (None, Some("tenants.example.com"), "https://top.example"),
        (None, None, "https://top.example"),
        (
            Some("x.tenants.example.com"),
            None,
            "https://tenants.example",
        ),
        (
            Some("api.example.com"),
            Some("API.example.com"),
            "https://api.example",
        ),
    ] {
        let mut h: Vec<(&str, &str)> = Vec::new();
        if let Some(host) = host {
            h.push(("host", host));
        }
        for origin in [
            "https://top.example",
            "https://api.example",
            "https://tenants.example",
        ] {
            let mut headers = h.clone();
            headers.push(("origin", origin));
            let d = p.decide_with_authority("GET", "/api/x", target, &headers[..]);
            let allowed = d.kind == Kind::ActualAllowed;
            assert_eq!(
                allowed,
                origin == want,
                "{target:?} {host:?} {origin}: {d:?}"
            );
        }
    }
}

#[test]
fn an_ambiguous_authority_is_refused_with_400() {
    let p = policy();
    for (target, hosts) in [
        (None, vec!["api.example.com", "api.example.com"]),
        (Some("api.example.com"), vec!["x.tenants.example.com"]),
        (Some("api.example.net:8443"), vec!["api.example.net"]),
    ] {
        let headers: Vec<(&str, &str)> = hosts.iter().map(|h| ("host", *h)).collect();
        let d = p.decide_with_authority("GET", "/api/x", target, &headers[..]);
        assert_eq!(
            (d.kind, d.reason, d.status()),
            (Kind::HostRejected, Reason::HostAmbiguous, Some(400)),
            "{target:?} {hosts:?}"
        );
    }
    // A policy without host blocks selects nothing by host and refuses nothing for it.
    let plain = Policy::build(
        vec![RouteSpec {
            pattern: "/api/*".into(),
            cors: Some(0),
            ..RouteSpec::default()
        }],
        vec![CorsSpec {
            name: "c".into(),
            origins: vec!["https://a.example".into()],
            ..CorsSpec::default()
        }],
    )
    .unwrap();
    let h = [
        ("host", "a"),
        ("host", "b"),
        ("origin", "https://a.example"),
    ];
    assert_eq!(
        plain.decide("GET", "/api/x", &h[..]).kind,
        Kind::ActualAllowed
    );
}

/// The WebSocket `same-origin` entry compares the `Origin` with the one authority: the
/// target's when it has one, the `Host` otherwise, case and one trailing dot aside; an
/// ambiguous authority is no origin's own.
#[test]
fn same_origin_reads_the_one_authority() {
    use guestlist::WebSocketSpec;
    let p = Policy::from_spec(PolicySpec {
        routes: vec![RouteSpec {
            pattern: "/ws".into(),
            websocket: Some(0),
            ..RouteSpec::default()
        }],
        websocket: vec![WebSocketSpec {
            name: "live".into(),
            same_origin: true,
            ..WebSocketSpec::default()
        }],
        ..PolicySpec::default()
    })
    .unwrap();
    for (target, hosts, want) in [
        (None, vec!["app.example.com"], Kind::WebsocketAllowed),
        (None, vec!["APP.Example.com."], Kind::WebsocketAllowed),
        (Some("app.example.com"), vec![], Kind::WebsocketAllowed),
        (
            Some("app.example.com"),
            vec!["app.example.com"],
            Kind::WebsocketAllowed,
        ),
        (None, vec!["app.example.com:8443"], Kind::WebsocketRejected),
        (
            Some("evil.example"),
            vec!["app.example.com"],
            Kind::WebsocketRejected,
        ),
        (
            None,
            vec!["app.example.com", "app.example.com"],
            Kind::WebsocketRejected,
        ),
    ] {
        let mut h: Vec<(&str, &str)> = hosts.iter().map(|x| ("host", *x)).collect();
        h.push(("origin", "https://app.example.com"));
        h.push(("upgrade", "websocket"));
        let d = p.decide_with_authority("GET", "/ws", target, &h[..]);
        assert_eq!(d.kind, want, "{target:?} {hosts:?}");
    }
}
