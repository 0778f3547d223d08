//! A decision allocates nothing. Counted with a global allocator in a `harness = false` test,
//! so no other test thread allocates while we count; a control case that does allocate must
//! be caught, or the counter is broken.
#![allow(
    unsafe_code,
    clippy::expect_used,
    clippy::panic,
    reason = "a counting allocator needs unsafe; tests fail by panicking; an allow, not an expect: some feature sets compile parts of this file out"
)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use guestlist::{CorsSpec, CsrfSpec, Kind, Policy, PolicySpec, RouteSpec, WebSocketSpec};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let r = f();
    (ALLOCATIONS.load(Ordering::SeqCst) - before, r)
}

fn main() {
    let origins: Vec<String> = (0..10_000)
        .map(|i| format!("https://{i}.example.com"))
        .collect();
    let policy = Policy::build(
        vec![
            RouteSpec {
                pattern: "/api/*".into(),
                cors: Some(0),
                ..Default::default()
            },
            RouteSpec {
                pattern: "/open/*".into(),
                cors: Some(1),
                ..Default::default()
            },
        ],
        vec![
            CorsSpec {
                name: "api".into(),
                origins,
                patterns: vec![
                    "https://*.preview.example.com".into(),
                    "http://localhost:*".into(),
                ],
                credentials: true,
                methods: vec!["PUT".into()],
                headers: vec!["content-type".into(), "authorization".into()],
                expose: vec!["x-total".into()],
                max_age: Some(7200),
                ..Default::default()
            },
            CorsSpec {
                name: "open".into(),
                any_origin: true,
                any_header: true,
                ..Default::default()
            },
        ],
    )
    .expect("policy builds");
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Kind);
    let cases: Vec<Case<'_>> = vec![
        (
            "GET",
            "/api/x",
            vec![("origin", "https://9999.example.com")],
            Kind::ActualAllowed,
        ),
        (
            "GET",
            "/api//x/y?q=1",
            vec![("origin", "https://a.b.preview.example.com")],
            Kind::ActualAllowed,
        ),
        (
            "GET",
            "/api//x/../y?q=1",
            vec![("origin", "https://a.b.preview.example.com")],
            Kind::PathRejected,
        ),
        (
            "GET",
            "/api/x",
            vec![("origin", "https://evil.test")],
            Kind::ActualNotAllowed,
        ),
        ("GET", "/nowhere", vec![], Kind::NotCors),
        (
            "OPTIONS",
            "/api/x",
            vec![
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "PUT"),
                (
                    "access-control-request-headers",
                    "authorization, Content-Type,,",
                ),
            ],
            Kind::PreflightOk,
        ),
        (
            "OPTIONS",
            "/open/x",
            vec![
                ("origin", "null"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "x-a,x-b"),
            ],
            Kind::PreflightOk,
        ),
        (
            "OPTIONS",
            "/api/x",
            vec![
                ("origin", "https://1.example.com"),
                ("access-control-request-method", "DELETE"),
            ],
            Kind::PreflightRejected,
        ),
    ];
    let mut failures = 0;
    for (m, p, h, want) in &cases {
        let (n, kind) = count(|| policy.decide(m, p, &h[..]).kind);
        if n != 0 || kind != *want {
            eprintln!("FAILED {m} {p}: {n} allocations, {kind:?} (want {want:?})");
            failures += 1;
        }
    }
    // The layer's checks: four, with the `tower` feature.
    #[cfg(feature = "tower")]
    {
        failures += through_layer(&policy);
        failures += many_headers();
    }
    let layer_checks = if cfg!(feature = "tower") { 4 } else { 0 };
    let provided_checks = if cfg!(feature = "provided") { 6 } else { 0 };
    failures += guards();
    failures += hosts();
    #[cfg(feature = "provided")]
    {
        failures += provided();
    }
    // The control: something that allocates is seen.
    let (n, s) = count(|| format!("{}", cases.len()));
    if n == 0 || s.is_empty() {
        eprintln!("FAILED control: the counter saw no allocation");
        failures += 1;
    }
    println!(
        "{} passed, {} failed",
        cases.len() + layer_checks + provided_checks + HOST_CHECKS + 1 - failures,
        failures
    );
    if failures > 0 {
        std::process::exit(1);
    }
}

/// The service behind the layer: answers 200 with a prepared header map (empty, or with room).
#[cfg(feature = "tower")]
fn app(with_room: bool) -> common::App<()> {
    if with_room {
        common::App::new(
            |_| (),
            || {
                let mut r = http::Response::new(());
                *r.headers_mut() = http::HeaderMap::with_capacity(32);
                r.headers_mut()
                    .insert("content-type", http::HeaderValue::from_static("text/plain"));
                r
            },
        )
    } else {
        common::App::new(|_| (), || http::Response::new(()))
    }
}

/// Request header values are shared bytes, as hyper makes them (slices of its read buffer),
/// so cloning one into the response is a reference-count increment, not an allocation.
#[cfg(feature = "tower")]
fn request(method: &str, origin: &'static str, acrm: Option<&'static str>) -> http::Request<()> {
    let mut b = http::Request::builder()
        .method(method)
        .uri("/api/x")
        .header("origin", http::HeaderValue::from_static(origin));
    if let Some(m) = acrm {
        b = b.header(
            "access-control-request-method",
            http::HeaderValue::from_static(m),
        );
    }
    b.body(()).expect("request")
}

/// Through the layer, a request allocates no more than the response's own header map needs
/// for the headers added (measured by inserting the same headers into a fresh map), and
/// nothing at all when the application's map already has room.
#[cfg(feature = "tower")]
fn through_layer(policy: &Policy) -> usize {
    use tower_layer::Layer as _;
    let policy: &'static Policy = Box::leak(Box::new(policy.clone()));
    let layer = guestlist::Layer::new(policy);
    let mut failures = 0;
    for (method, acrm, with_room) in [
        ("GET", None, false),
        ("OPTIONS", Some("PUT"), false),
        ("GET", None, true),
    ] {
        let mut bare = app(with_room);
        let mut layered = layer.layer(app(with_room));
        // Warm up: the first clone of a table value built at run time shares its bytes once.
        let _ = common::run(&mut layered, request(method, "https://7.example.com", acrm));
        let (floor, _) =
            count(|| common::run(&mut bare, request(method, "https://7.example.com", acrm)));
        let (total, resp) =
            count(|| common::run(&mut layered, request(method, "https://7.example.com", acrm)));
        // What the added headers cost in a map of the same starting shape.
        let mut map = if with_room {
            http::HeaderMap::with_capacity(32)
        } else {
            http::HeaderMap::new()
        };
        let (map_cost, ()) = count(|| {
            for (n, v) in resp.headers() {
                map.append(n.clone(), v.clone());
            }
        });
        let overhead = total.saturating_sub(floor);
        let ok =
            overhead <= map_cost && (!with_room || overhead == 0) && !resp.headers().is_empty();
        println!("layer {method} room={with_room}: {overhead} allocations over the bare service (header map alone: {map_cost})");
        if !ok {
            eprintln!("FAILED layer {method}: {overhead} > {map_cost}");
            failures += 1;
        }
    }
    failures
}

/// A preflight answer with more header lines than an empty map's first table holds (six), some
/// of them repeated (echoed `Access-Control-Allow-Headers` lines): the layer's fresh map grows
/// as they are written, and allocates no more than inserting them one by one into one does.
#[cfg(feature = "tower")]
fn many_headers() -> usize {
    use tower_layer::Layer as _;
    let policy = common::one_route(CorsSpec {
        name: "echo".into(),
        origins: vec!["https://7.example.com".into()],
        credentials: true,
        methods: vec!["PUT".into()],
        any_header: true,
        max_age: Some(60),
        ..Default::default()
    });
    let policy: &'static Policy = Box::leak(Box::new(policy));
    let mut layered = guestlist::Layer::new(policy).layer(app(false));
    let request = || {
        let mut r = request("OPTIONS", "https://7.example.com", Some("PUT"));
        for line in ["x-a", "x-b", "x-c", "x-d"] {
            r.headers_mut().append(
                "access-control-request-headers",
                http::HeaderValue::from_static(line),
            );
        }
        r
    };
    let _ = common::run(&mut layered, request());
    let req = request();
    let (total, resp) = count(|| common::run(&mut layered, req));
    let headers = resp.headers().len();
    let mut map = http::HeaderMap::new();
    let (map_cost, ()) = count(|| {
        for (n, v) in resp.headers() {
            map.append(n.clone(), v.clone());
        }
    });
    println!("layer preflight with {headers} headers: {total} allocations (inserted one by one: {map_cost})");
    if headers <= 6 || total > map_cost {
        eprintln!("FAILED layer preflight with {headers} headers: {total} allocations");
        return 1;
    }
    0
}

/// CSRF and WebSocket decisions allocate nothing either, the exemption path (normalised into a
/// stack buffer) included.
fn guards() -> usize {
    let policy = Policy::from_spec(PolicySpec {
        routes: vec![
            RouteSpec {
                pattern: "/*".into(),
                csrf: Some(0),
                ..Default::default()
            },
            RouteSpec {
                pattern: "/ws".into(),
                websocket: Some(0),
                ..Default::default()
            },
        ],
        csrf: vec![CsrfSpec {
            name: "forms".into(),
            trusted: vec!["https://partner.test".into()],
            exempt: vec![("POST".into(), "/hooks/*".into())],
            ..Default::default()
        }],
        websocket: vec![WebSocketSpec {
            name: "live".into(),
            same_origin: true,
            patterns: vec!["https://*.app.test".into()],
            ..Default::default()
        }],
        ..Default::default()
    })
    .expect("policy builds");
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Kind);
    let cases: Vec<Case<'_>> = vec![
        (
            "POST",
            "/form",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.test"),
            ],
            Kind::CsrfRejected,
        ),
        (
            "POST",
            "/hooks/a/b",
            vec![("sec-fetch-site", "cross-site")],
            Kind::NotCors,
        ),
        // Two readings: never exempt.
        (
            "POST",
            "/hooks//a/b",
            vec![("sec-fetch-site", "cross-site")],
            Kind::CsrfRejected,
        ),
        (
            "POST",
            "/hooks//a/../b",
            vec![("sec-fetch-site", "cross-site")],
            Kind::PathRejected,
        ),
        (
            "POST",
            "/form",
            vec![("host", "site.test"), ("origin", "https://site.test")],
            Kind::NotCors,
        ),
        (
            "GET",
            "/ws",
            vec![("upgrade", "websocket"), ("origin", "https://x.app.test")],
            Kind::WebsocketAllowed,
        ),
        (
            "GET",
            "/ws",
            vec![("upgrade", "websocket"), ("origin", "https://evil.test")],
            Kind::WebsocketRejected,
        ),
    ];
    let mut failures = 0;
    for (m, p, h, want) in &cases {
        let (n, kind) = count(|| policy.decide(m, p, &h[..]).kind);
        if n != 0 || kind != *want {
            eprintln!("FAILED {m} {p}: {n} allocations, {kind:?} (want {want:?})");
            failures += 1;
        }
    }
    failures
}

/// Decisions on sets supplied at run time (exact entries and patterns, tenant-bound or not)
/// allocate nothing either: the table is read through the atomic pointer, not copied.
#[cfg(feature = "provided")]
fn provided() -> usize {
    use guestlist::{ProvidedSpec, SuppliedEntry};
    let mut failures = 0;
    for tenant_bound in [false, true] {
        let policy = Policy::from_spec(PolicySpec {
            routes: vec![RouteSpec {
                pattern: "/api/*".into(),
                cors: Some(0),
                ..Default::default()
            }],
            cors: vec![CorsSpec {
                name: "api".into(),
                credentials: true,
                provided: vec![0],
                ..Default::default()
            }],
            provided: vec![ProvidedSpec {
                name: "tenants".into(),
                tenant_bound,
                patterns: true,
            }],
            ..Default::default()
        })
        .expect("policy");
        let entries = (0..1_000)
            .map(|i| format!("https://t{i}.example.com"))
            .chain(["https://*.pattern.example.com".to_string()])
            .map(|origin| SuppliedEntry {
                origin,
                key: tenant_bound.then(|| "tenant".to_string()),
            });
        policy
            .replace_provided("tenants", entries)
            .expect("set")
            .expect("entries");
        for (origin, want) in [
            ("https://t999.example.com", Kind::ActualAllowed),
            ("https://a.b.pattern.example.com", Kind::ActualAllowed),
            ("https://evil.example.com", Kind::ActualNotAllowed),
        ] {
            let h = [("origin", origin)];
            let (n, kind) = count(|| policy.decide("GET", "/api/x", &h[..]).kind);
            if n != 0 || kind != want {
                eprintln!("FAILED provided ({tenant_bound}) {origin}: {n} allocations, {kind:?}");
                failures += 1;
            }
        }
    }
    failures
}

/// How many decisions [`hosts`] checks.
const HOST_CHECKS: usize = 6;

/// A policy with host blocks: decisions under the selected route alone, merged with another
/// block's route (CORS folded, csrf refusing), on a path with two readings, and an ambiguous
/// authority allocate nothing either.
fn hosts() -> usize {
    use guestlist::{CsrfSpec, HostSpec, NonNormalPaths, PolicySpec};
    let route = |pattern: &str, host: Option<usize>, cors: Option<usize>| RouteSpec {
        pattern: pattern.into(),
        host,
        cors,
        ..Default::default()
    };
    let p = Policy::from_spec(PolicySpec {
        routes: vec![
            route("/*", None, None),
            RouteSpec {
                csrf: Some(0),
                ..route("/account/*", Some(0), None)
            },
            route("/api/*", Some(0), Some(0)),
            route("/*", Some(1), None),
            route("/api/*", Some(1), Some(1)),
        ],
        cors: vec![
            CorsSpec {
                name: "app".into(),
                origins: vec!["https://app.example".into()],
                credentials: true,
                expose: vec!["x-a".into(), "x-b".into()],
                max_age: Some(600),
                ..Default::default()
            },
            CorsSpec {
                name: "public".into(),
                origins: vec!["https://app.example".into()],
                expose: vec!["x-a".into()],
                max_age: Some(60),
                ..Default::default()
            },
        ],
        csrf: vec![CsrfSpec {
            name: "app".into(),
            ..Default::default()
        }],
        hosts: vec![
            HostSpec {
                patterns: vec!["api.example.com".into()],
            },
            HostSpec {
                patterns: vec!["*.tenants.example.com".into()],
            },
        ],
        non_normal: NonNormalPaths::TwoReadings,
        ..Default::default()
    })
    .expect("the host policy builds");
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Kind);
    let cases: Vec<Case<'_>> = vec![
        (
            "GET",
            "/api/x",
            vec![
                ("host", "api.example.com"),
                ("origin", "https://app.example"),
            ],
            Kind::ActualAllowed,
        ),
        (
            "OPTIONS",
            "/api/x",
            vec![
                ("host", "x.tenants.example.com"),
                ("origin", "https://app.example"),
                ("access-control-request-method", "GET"),
            ],
            Kind::PreflightOk,
        ),
        (
            "POST",
            "/account/delete",
            vec![
                ("host", "x.tenants.example.com"),
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
            Kind::CsrfRejected,
        ),
        (
            "GET",
            "/api//x/../y",
            vec![
                ("host", "API.example.com."),
                ("origin", "https://app.example"),
            ],
            Kind::ActualAllowed,
        ),
        (
            "GET",
            "/api/x",
            vec![("host", "other.example"), ("origin", "https://app.example")],
            Kind::ActualNotAllowed,
        ),
        (
            "GET",
            "/api/x",
            vec![("host", "a.example"), ("host", "b.example")],
            Kind::HostRejected,
        ),
    ];
    assert_eq!(cases.len(), HOST_CHECKS);
    let mut failures = 0;
    for (m, path, h, want) in &cases {
        let (n, kind) = count(|| p.decide(m, path, &h[..]).kind);
        if n != 0 || kind != *want {
            eprintln!("FAILED host {m} {path} {h:?}: {n} allocations, {kind:?} (want {want:?})");
            failures += 1;
        }
    }
    failures
}
