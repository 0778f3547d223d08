//! Host blocks (spec/language.md, section 6a): the request's one authority selects a host
//! block's routes (an exact pattern, then the longest `*.` suffix), the top-level routes serve
//! every other authority, and an ambiguous authority is refused with 400.

#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

use guestlist::{
    CorsSpec, CsrfSpec, HostSpec, Kind, Policy, PolicySpec, Reason, RouteSpec, WebSocketSpec,
};

/// `/api/*` at top level (cors `top`), in `api.example.com` (cors `api`), in
/// `*.tenants.example.com` (cors `tenants`); each allows only its own origin. The application
/// dispatches by host (`hosts dispatched-by-application`): the selected route alone decides.
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
        hosts_dispatched: true,
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

/// `api.example.com` guards `/account/*` with csrf and allows `https://app.example` (with
/// credentials, exposing `x-a, x-b`, max-age 600) on `/api/*`; `*.tenants.example.com` serves
/// `/*` without a guard and allows `https://app.example` and `https://t.example` on `/api/*`
/// (no credentials, exposing `x-a`, max-age 60); the top level serves `/*` with no policy.
fn guarded(dispatched: bool) -> Policy {
    let route = |pattern: &str, host: Option<usize>| RouteSpec {
        pattern: pattern.into(),
        host,
        ..RouteSpec::default()
    };
    Policy::from_spec(PolicySpec {
        routes: vec![
            route("/*", None),
            RouteSpec {
                csrf: Some(0),
                ..route("/account/*", Some(0))
            },
            RouteSpec {
                cors: Some(0),
                ..route("/api/*", Some(0))
            },
            RouteSpec {
                websocket: Some(0),
                ..route("/live", Some(0))
            },
            route("/*", Some(1)),
            RouteSpec {
                cors: Some(1),
                ..route("/api/*", Some(1))
            },
        ],
        cors: vec![
            CorsSpec {
                name: "app".into(),
                origins: vec!["https://app.example".into()],
                credentials: true,
                expose: vec!["x-a".into(), "x-b".into()],
                max_age: Some(600),
                ..CorsSpec::default()
            },
            CorsSpec {
                name: "public".into(),
                origins: vec!["https://app.example".into(), "https://t.example".into()],
                expose: vec!["x-a".into()],
                max_age: Some(60),
                ..CorsSpec::default()
            },
        ],
        csrf: vec![CsrfSpec {
            name: "app".into(),
            ..CsrfSpec::default()
        }],
        websocket: vec![WebSocketSpec {
            name: "live".into(),
            same_origin: true,
            ..WebSocketSpec::default()
        }],
        hosts: vec![
            HostSpec {
                patterns: vec!["api.example.com".into()],
            },
            HostSpec {
                patterns: vec!["*.tenants.example.com".into()],
            },
        ],
        hosts_dispatched: dispatched,
        ..PolicySpec::default()
    })
    .unwrap()
}

fn decide<'a>(
    p: &'a Policy,
    method: &str,
    path: &str,
    headers: &'a [(&'a str, &'a str)],
) -> guestlist::Decision<'a> {
    p.decide(method, path, headers)
}

/// The guard hole of spec section 6a: a cross-site POST to `/account/delete` on a tenant host
/// (whose block has no csrf) or on a host no block names (top level, no route for it) is
/// refused by `api.example.com`'s csrf, unless the application dispatches by host.
#[test]
fn every_host_blocks_guard_follows_the_path() {
    for host in ["x.tenants.example.com", "other.example", "api.example.com"] {
        let h = [
            ("host", host),
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ];
        let merged = guarded(false);
        let d = decide(&merged, "POST", "/account/delete", &h);
        assert_eq!(d.kind, Kind::CsrfRejected, "{host}: {d:?}");
        assert_eq!(d.status(), Some(403), "{host}");
        let dispatched = guarded(true);
        let d = decide(&dispatched, "POST", "/account/delete", &h);
        assert_eq!(
            d.kind == Kind::CsrfRejected,
            host == "api.example.com",
            "{host}: {d:?}"
        );
        // The same-origin handshake check of `/live` runs on every host too.
        let ws = [
            ("host", host),
            ("origin", "https://evil.example"),
            ("upgrade", "websocket"),
        ];
        assert_eq!(
            decide(&merged, "GET", "/live", &ws).kind,
            Kind::WebsocketRejected,
            "{host}"
        );
    }
    // A same-origin POST passes every contributing check.
    let h = [
        ("host", "x.tenants.example.com"),
        ("origin", "https://x.tenants.example.com"),
        ("sec-fetch-site", "same-origin"),
    ];
    let merged = guarded(false);
    assert_ne!(
        decide(&merged, "POST", "/account/delete", &h).kind,
        Kind::CsrfRejected
    );
}

/// CORS is allowed only where every contributing route allows, with the stricter settings;
/// a host with no route for the path (or a route without cors) allows nothing.
#[test]
fn cors_is_allowed_where_every_host_block_allows() {
    let merged = guarded(false);
    let dispatched = guarded(true);
    for (host, origin, want_merged, want_dispatched) in [
        ("api.example.com", "https://app.example", true, true),
        ("api.example.com", "https://t.example", false, false),
        ("x.tenants.example.com", "https://app.example", true, true),
        ("x.tenants.example.com", "https://t.example", false, true),
        ("other.example", "https://app.example", false, false),
    ] {
        let h = [("host", host), ("origin", origin)];
        for (p, want) in [(&merged, want_merged), (&dispatched, want_dispatched)] {
            let d = decide(p, "GET", "/api/x", &h);
            assert_eq!(
                d.kind == Kind::ActualAllowed,
                want,
                "{host} {origin}: {d:?}"
            );
        }
    }
    // The top-level host has no route for /api/x: hosts-disagree.
    let h = [("host", "other.example"), ("origin", "https://app.example")];
    let d = decide(&merged, "GET", "/api/x", &h);
    assert_eq!(
        (d.kind, d.reason),
        (Kind::ActualNotAllowed, Reason::HostsDisagree)
    );
    // Allowed through both blocks: no credentials, the smaller exposed list.
    let h = [
        ("host", "api.example.com"),
        ("origin", "https://app.example"),
    ];
    let d = decide(&merged, "GET", "/api/x", &h);
    let headers: Vec<(String, String)> = d
        .headers()
        .iter()
        .map(|x| {
            (
                x.name.as_str().to_string(),
                String::from_utf8_lossy(x.value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        get("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(get("access-control-allow-credentials"), None, "{headers:?}");
    assert_eq!(
        get("access-control-expose-headers"),
        Some("x-a"),
        "{headers:?}"
    );
    // A preflight takes the smaller max-age.
    let h = [
        ("host", "api.example.com"),
        ("origin", "https://app.example"),
        ("access-control-request-method", "GET"),
    ];
    let d = decide(&merged, "OPTIONS", "/api/x", &h);
    assert_eq!(d.kind, Kind::PreflightOk, "{d:?}");
    let max_age = d
        .headers()
        .iter()
        .find(|x| x.name.as_str() == "access-control-max-age")
        .map(|x| String::from_utf8_lossy(x.value.as_bytes()).into_owned());
    assert_eq!(max_age.as_deref(), Some("60"));
}

/// The region table finds, for every path, each host block's own route for it (one per
/// distinct policy tuple): checked against each block's route search, path by path.
#[test]
fn contributing_routes_are_each_blocks_route_for_the_path() {
    let patterns = ["/*", "/a/*", "/a/b/*", "/a/b", "/a", "/c/*", "/a/b/c"];
    let paths = [
        "/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a/b/c/d", "/a/x", "/c", "/c/", "/c/d", "/d",
    ];
    // Blocks take route subsets by bit masks; every route gets its own csrf index so that no
    // two routes share a tuple.
    for masks in [
        [0b1111111u32, 0b0000010, 0b0101000],
        [0b0000110, 0b1000001, 0],
    ] {
        let mut routes = Vec::new();
        let mut hosts = Vec::new();
        for (b, mask) in masks.iter().enumerate() {
            if *mask == 0 {
                continue;
            }
            let block = hosts.len();
            hosts.push(HostSpec {
                patterns: vec![format!("h{b}.example")],
            });
            for (i, p) in patterns.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    routes.push(RouteSpec {
                        pattern: (*p).into(),
                        csrf: Some(routes.len()),
                        host: Some(block),
                        ..RouteSpec::default()
                    });
                }
            }
        }
        let csrf = (0..routes.len())
            .map(|i| CsrfSpec {
                name: format!("c{i}"),
                ..CsrfSpec::default()
            })
            .collect();
        let p = Policy::from_spec(PolicySpec {
            routes,
            csrf,
            hosts: hosts.clone(),
            ..PolicySpec::default()
        })
        .unwrap();
        for path in paths {
            let mut want: Vec<u32> = (0..hosts.len())
                .filter_map(|b| match p.routes_in_block(Some(b), path).unwrap() {
                    guestlist::PathRoutes::Normal(r) => r,
                    other => panic!("{other:?}"),
                })
                .collect();
            want.sort_unstable();
            let mut got = p.contributing_routes(path).to_vec();
            got.sort_unstable();
            assert_eq!(got, want, "{masks:?} {path}");
        }
    }
}

/// `decide_route_alone` decides a request under one route's own checks: the contributing
/// route that refused a request is the one whose check refuses it alone.
#[test]
fn a_route_alone_decides_by_its_own_checks() {
    let p = guarded(false);
    let index = |pattern: &str, block: Option<usize>| {
        (0..p.routes().len())
            .find(|&i| {
                p.routes()[i].pattern() == pattern
                    && matches!(p.routes_in_block(block, pattern.trim_end_matches('*')), Ok(guestlist::PathRoutes::Normal(Some(r))) if r as usize == i)
            })
            .map(|i| u32::try_from(i).unwrap())
            .unwrap()
    };
    let account = index("/account/*", Some(0));
    let tenant = index("/*", Some(1));
    let h = [
        ("host", "x.tenants.example.com"),
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    let alone = |r: u32| {
        p.decide_route_alone(
            r,
            "POST",
            "/account/delete",
            None,
            &h[..],
            None,
            guestlist::FormBody::Unread,
        )
    };
    assert_eq!(
        decide(&p, "POST", "/account/delete", &h).kind,
        Kind::CsrfRejected
    );
    let a = alone(account);
    assert_eq!(
        (a.kind, a.reason),
        (Kind::CsrfRejected, Reason::CsrfCrossSite)
    );
    assert_eq!(a.route, Some(account));
    let t = alone(tenant);
    assert_eq!((t.kind, t.route), (Kind::NotCors, Some(tenant)), "{t:?}");
    // Out of range: nothing decided.
    let none = alone(u32::MAX);
    assert_eq!(
        (none.kind, none.reason, none.route),
        (Kind::NotCors, Reason::NoRoute, None)
    );
}

/// A top-level route's guard follows its path to every host too (an application that routes
/// by path runs the top-level handler there), but its CORS does not narrow a block's: the
/// tenants block serves `/*` without a guard and allows `https://t.example` on `/api/*`; the
/// top level guards `/account/*` with csrf and has `/api/*` without cors.
#[test]
fn a_top_level_guard_follows_its_path_and_its_cors_stays_home() {
    let route = |pattern: &str, host: Option<usize>| RouteSpec {
        pattern: pattern.into(),
        host,
        ..RouteSpec::default()
    };
    for dispatched in [false, true] {
        let p = Policy::from_spec(PolicySpec {
            routes: vec![
                RouteSpec {
                    csrf: Some(0),
                    ..route("/account/*", None)
                },
                route("/api/*", None),
                route("/*", Some(0)),
                RouteSpec {
                    cors: Some(0),
                    ..route("/api/*", Some(0))
                },
            ],
            cors: vec![CorsSpec {
                name: "t".into(),
                origins: vec!["https://t.example".into()],
                ..CorsSpec::default()
            }],
            csrf: vec![CsrfSpec {
                name: "app".into(),
                ..CsrfSpec::default()
            }],
            hosts: vec![HostSpec {
                patterns: vec!["*.tenants.example.com".into()],
            }],
            hosts_dispatched: dispatched,
            ..PolicySpec::default()
        })
        .unwrap();
        let h = [
            ("host", "x.tenants.example.com"),
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ];
        let d = p.decide("POST", "/account/delete", &h[..]);
        assert_eq!(
            d.kind == Kind::CsrfRejected,
            !dispatched,
            "{dispatched}: {d:?}"
        );
        let h = [
            ("host", "x.tenants.example.com"),
            ("origin", "https://t.example"),
        ];
        let d = p.decide("GET", "/api/x", &h[..]);
        assert_eq!(d.kind, Kind::ActualAllowed, "{dispatched}: {d:?}");
    }
}
