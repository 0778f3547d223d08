//! Origin sets supplied at run time (feature `provided`): what a replace accepts and refuses,
//! that decisions follow the current table, label boundaries, that a supplied entry never
//! covers a static one, and that under concurrent swaps every decision is the old or the new
//! table's answer.

#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[cfg(feature = "tower")]
#[path = "common/mod.rs"]
mod common;

use guestlist::{
    CorsSpec, Kind, OriginMatch, Policy, PolicySpec, ProvidedSpec, RouteSpec, SuppliedEntry,
};

fn entry(origin: &str, key: Option<&str>) -> SuppliedEntry {
    SuppliedEntry {
        origin: origin.to_string(),
        key: key.map(str::to_string),
    }
}

/// `/api/*` with a cors policy listing `https://static.example.com` and the provided set
/// `tenants` (tenant-bound when `tenant_bound`, patterns allowed when `patterns`).
fn policy(tenant_bound: bool, patterns: bool) -> Policy {
    Policy::from_spec(PolicySpec {
        routes: vec![RouteSpec {
            pattern: "/api/*".into(),
            cors: Some(0),
            ..RouteSpec::default()
        }],
        cors: vec![CorsSpec {
            name: "api".into(),
            origins: vec!["https://static.example.com".into()],
            patterns: vec!["https://*.static.example.com".into()],
            credentials: true,
            methods: vec!["PUT".into()],
            provided: vec![0],
            ..CorsSpec::default()
        }],
        provided: vec![ProvidedSpec {
            name: "tenants".into(),
            tenant_bound,
            patterns,
        }],
        ..PolicySpec::default()
    })
    .unwrap()
}

fn allowed(p: &Policy, origin: &str) -> bool {
    let h = [("origin", origin)];
    let d = p.decide("GET", "/api/x", &h[..]);
    d.kind == Kind::ActualAllowed
}

#[test]
fn a_provided_set_is_empty_until_supplied_and_follows_each_replace() {
    let p = policy(false, false);
    assert!(!allowed(&p, "https://a.example.com"));
    assert!(allowed(&p, "https://static.example.com"));
    let r = p
        .replace_provided(
            "tenants",
            [
                entry("https://a.example.com", None),
                entry("https://b.example.com:8443", None),
            ],
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        r.added,
        ["https://a.example.com", "https://b.example.com:8443"]
    );
    assert!(r.removed.is_empty());
    assert_eq!(r.entries, 2);
    assert!(allowed(&p, "https://a.example.com"));
    assert!(allowed(&p, "https://b.example.com:8443"));
    let d = {
        let h = [("origin", "https://a.example.com")];
        p.decide("GET", "/api/x", &h[..]).origin_match
    };
    assert!(
        matches!(d, Some(OriginMatch::Provided { set: 0, .. })),
        "{d:?}"
    );
    let r = p
        .replace_provided("tenants", [entry("https://c.example.com", None)])
        .unwrap()
        .unwrap();
    assert_eq!(r.added, ["https://c.example.com"]);
    assert_eq!(
        r.removed,
        ["https://a.example.com", "https://b.example.com:8443"]
    );
    assert!(!allowed(&p, "https://a.example.com"));
    assert!(allowed(&p, "https://c.example.com"));
    assert_eq!(p.provided_set("tenants").unwrap().len(), 1);
    assert!(p.replace_provided("nosuch", []).is_none());
}

#[test]
fn a_bad_entry_keeps_the_old_table_and_every_refusal_is_listed() {
    let p = policy(false, false);
    p.replace_provided("tenants", [entry("https://a.example.com", None)])
        .unwrap()
        .unwrap();
    let bad = [
        entry("*", None),
        entry("null", None),
        entry("https://A.example.com", None),
        entry("https://a.example.com/", None),
        entry("https://a.example.com:443", None),
        entry("http://a.example.com:80", None),
        entry("ftp://a.example.com", None),
        entry("https://a.example.com.", None),
        entry("https://*.example.com", None),
        entry("https://x.example.com", Some("t1")),
        entry("https://static.example.com", None),
        entry("https://z.static.example.com", None),
        entry("https://d.example.com", None),
        entry("https://d.example.com", None),
        entry(&format!("https://{}.com", "a".repeat(1100)), None),
    ];
    let n = bad.len();
    let e = p.replace_provided("tenants", bad).unwrap().unwrap_err();
    let refused: Vec<usize> = e.entries.iter().map(|x| x.index).collect();
    // Every entry but the first `d.example.com` is refused, each with a sentence.
    let want: Vec<usize> = (0..n).filter(|&i| i != 12).collect();
    assert_eq!(refused, want, "{e:#?}");
    assert!(e.entries.iter().all(|x| !x.why.is_empty()));
    assert!(e.to_string().contains("refused"));
    // The old table stays.
    assert!(allowed(&p, "https://a.example.com"));
    assert!(!allowed(&p, "https://d.example.com"));
}

#[test]
fn tenant_bound_sets_need_a_key_and_patterns_need_the_flag() {
    let p = policy(true, true);
    let e = p
        .replace_provided(
            "tenants",
            [
                entry("https://a.example.com", None),
                entry("https://b.example.com", Some("")),
                entry("https://c.example.com", Some("with space")),
            ],
        )
        .unwrap()
        .unwrap_err();
    assert_eq!(e.entries.len(), 3, "{e:#?}");
    p.replace_provided(
        "tenants",
        [
            entry("https://a.example.com", Some("tenant-a")),
            entry("https://*.b.example.com", Some("tenant-b")),
        ],
    )
    .unwrap()
    .unwrap();
    assert!(allowed(&p, "https://a.example.com"));
    assert!(allowed(&p, "https://x.b.example.com"));
    assert!(!allowed(&p, "https://b.example.com"));
}

/// The jub0bs/cors case (GHSA-vhxv-fg4m-p2w8: `https://foo.com` and `https://bar.com`
/// allowed `https://barfoo.com`) and its relatives: an entry matches whole labels only.
#[test]
fn supplied_entries_match_whole_labels_only() {
    let p = policy(false, true);
    p.replace_provided(
        "tenants",
        [
            entry("https://foo.com", None),
            entry("https://bar.com", None),
            entry("https://*.baz.com", None),
            entry("https://qux.com:*", None),
        ],
    )
    .unwrap()
    .unwrap();
    for (origin, want) in [
        ("https://foo.com", true),
        ("https://bar.com", true),
        ("https://barfoo.com", false),
        ("https://foobar.com", false),
        ("https://foo.com.", false),
        ("https://FOO.com", false),
        ("https://foo.com:443", false),
        ("https://foo.com:8443", false),
        ("http://foo.com", false),
        ("https://a.baz.com", true),
        ("https://a.b.baz.com", true),
        ("https://baz.com", false),
        ("https://evilbaz.com", false),
        ("https://a.evilbaz.com", false),
        ("https://a..baz.com", false),
        ("https://qux.com", true),
        ("https://qux.com:8080", true),
        ("https://a.qux.com", false),
        ("null", false),
    ] {
        assert_eq!(allowed(&p, origin), want, "{origin}");
    }
}

/// Threads decide while another replaces the set 1,000 times with one of two 1,000-entry
/// tables: every decision is one of the two tables' answers, and what the decision matched is
/// an entry of the table it read.
#[test]
fn under_concurrent_replaces_every_decision_is_the_old_or_the_new_tables() {
    let p = Arc::new(policy(true, false));
    let table = |tag: &str| -> Vec<SuppliedEntry> {
        (0..1000)
            .map(|i| {
                let (origin, key) = if i % 2 == 0 {
                    // In both tables, with each table's key.
                    (
                        format!("https://both-{i}.example.com"),
                        format!("{tag}-{i}"),
                    )
                } else {
                    (
                        format!("https://{tag}-{i}.example.com"),
                        format!("{tag}-{i}"),
                    )
                };
                entry(&origin, Some(&key))
            })
            .collect()
    };
    let (a, b) = (table("a"), table("b"));
    p.replace_provided("tenants", a.clone()).unwrap().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let deciders: Vec<_> = (0..2)
        .map(|t| {
            let p = Arc::clone(&p);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut seen = [0usize; 2];
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    i = (i + 7) % 1000;
                    for (origin, in_a, in_b) in [
                        (format!("https://both-{}.example.com", i & !1), true, true),
                        (format!("https://a-{}.example.com", i | 1), true, false),
                        (format!("https://b-{}.example.com", i | 1), false, true),
                        (format!("https://c-{i}.example.com"), false, false),
                    ] {
                        let h = [("origin", origin.as_str())];
                        let d = p.decide("GET", "/api/x", &h[..]);
                        let ok = d.kind == Kind::ActualAllowed;
                        assert!(!ok || in_a || in_b, "{origin} allowed by neither table");
                        if in_a && in_b {
                            assert!(ok, "{origin} is in both tables");
                        }
                        if ok && in_a != in_b {
                            seen[usize::from(in_b)] += 1;
                        }
                    }
                }
                seen
            })
        })
        .collect();
    for k in 0..1000 {
        let next = if k % 2 == 0 { b.clone() } else { a.clone() };
        p.replace_provided("tenants", next).unwrap().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let mut seen = [0usize; 2];
    for d in deciders {
        let s = d.join().unwrap();
        seen[0] += s[0];
        seen[1] += s[1];
    }
    // The deciders saw both tables (the swaps happened while they ran).
    assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
}

/// Through the tower layer, the application gets the matched entry's set and tenant key as a
/// request extension, and no extension for a static origin.
#[cfg(feature = "tower")]
#[test]
fn the_layer_hands_the_matched_entry_to_the_application() {
    use tower_layer::Layer as _;
    let p = Arc::new(policy(true, false));
    p.replace_provided(
        "tenants",
        [
            entry("https://a.example.com", Some("tenant-a")),
            entry("https://b.example.com", Some("tenant-b")),
        ],
    )
    .unwrap()
    .unwrap();
    let app = common::App::new(
        |r| {
            r.extensions()
                .get::<guestlist::MatchedOrigin>()
                .map(|m| (m.set().to_string(), m.key().map(str::to_string)))
        },
        || http::Response::new(()),
    );
    let seen = app.seen.clone();
    let mut svc = guestlist::Layer::shared(Arc::clone(&p)).layer(app);
    for (origin, want) in [
        ("https://b.example.com", Some(("tenants", Some("tenant-b")))),
        ("https://a.example.com", Some(("tenants", Some("tenant-a")))),
        ("https://static.example.com", None),
    ] {
        let req = http::Request::get("/api/x")
            .header("origin", origin)
            .body(())
            .unwrap();
        let resp = common::run(&mut svc, req);
        assert_eq!(
            resp.headers()["access-control-allow-origin"],
            origin,
            "{origin}"
        );
        let got = seen.lock().unwrap().pop().unwrap();
        let want = want.map(|(s, k)| (s.to_string(), k.map(str::to_string)));
        assert_eq!(got, want, "{origin}");
    }
}

/// A websocket policy and a csrf policy's `trusted-origins` naming a supplied set: its
/// entries may open the socket and are trusted by the CSRF check, after a replace and not
/// before.
#[test]
fn websocket_and_csrf_policies_use_supplied_sets() {
    use guestlist::{CsrfSpec, Reason, WebSocketSpec};
    let p = Policy::from_spec(PolicySpec {
        routes: vec![
            RouteSpec {
                pattern: "/ws".into(),
                websocket: Some(0),
                ..RouteSpec::default()
            },
            RouteSpec {
                pattern: "/form/*".into(),
                csrf: Some(0),
                ..RouteSpec::default()
            },
        ],
        websocket: vec![WebSocketSpec {
            name: "live".into(),
            provided: vec![0],
            ..WebSocketSpec::default()
        }],
        csrf: vec![CsrfSpec {
            name: "forms".into(),
            trusted_provided: vec![0],
            ..CsrfSpec::default()
        }],
        provided: vec![ProvidedSpec {
            name: "partners".into(),
            tenant_bound: false,
            patterns: true,
        }],
        ..PolicySpec::default()
    })
    .unwrap();
    let ws = |origin: &str| {
        let h = [("upgrade", "websocket"), ("origin", origin)];
        p.decide("GET", "/ws", &h[..]).kind
    };
    let post = |origin: &str| {
        let h = [("sec-fetch-site", "cross-site"), ("origin", origin)];
        let d = p.decide("POST", "/form/x", &h[..]);
        (d.kind, d.csrf_reason.unwrap_or(d.reason))
    };
    assert_eq!(ws("https://p.example.com"), Kind::WebsocketRejected);
    assert_eq!(post("https://p.example.com").0, Kind::CsrfRejected);
    // A csrf policy names the set: a pattern is refused (exact origins only).
    let e = p
        .replace_provided("partners", [entry("https://*.example.com", None)])
        .unwrap()
        .unwrap_err();
    assert_eq!(e.entries[0].code, Some("GL0951"), "{e:#?}");
    p.replace_provided("partners", [entry("https://p.example.com", None)])
        .unwrap()
        .unwrap();
    assert_eq!(ws("https://p.example.com"), Kind::WebsocketAllowed);
    assert_eq!(ws("https://q.example.com"), Kind::WebsocketRejected);
    assert_eq!(
        post("https://p.example.com"),
        (Kind::NotCors, Reason::CsrfTrustedOrigin)
    );
    assert_eq!(post("https://q.example.com").0, Kind::CsrfRejected);
}

/// A supplied entry never overlaps a static origin: an exact entry a static origin or
/// pattern allows, and a supplied pattern allowing a static origin or pattern, are refused
/// (the old table stays); `guestlist check --origins` refuses the same entries (GL1408).
#[test]
fn a_supplied_entry_never_overlaps_a_static_origin() {
    let p = policy(false, true);
    let ok = p
        .replace_provided("tenants", [entry("https://*.tenant.example", None)])
        .unwrap();
    assert!(ok.is_ok(), "{ok:?}");
    for (bad, index) in [
        ("https://static.example.com", 0),
        ("https://a.static.example.com", 0),
        ("https://*.example.com", 1),
        ("https://*.static.example.com", 1),
        ("https://*.a.static.example.com", 1),
    ] {
        let e = p
            .replace_provided(
                "tenants",
                [entry("https://b.other.example", None), entry(bad, None)],
            )
            .unwrap()
            .expect_err(bad);
        assert_eq!(e.entries.len(), 1, "{bad}: {e:?}");
        assert_eq!(
            e.entries[0].index,
            index + usize::from(index == 0),
            "{bad}: {e:?}"
        );
        assert!(
            allowed(&p, "https://x.tenant.example"),
            "{bad}: the old table stays"
        );
        assert!(!allowed(&p, "https://b.other.example"), "{bad}");
    }
    // Beside the static ones: accepted.
    let r = p.replace_provided(
        "tenants",
        [
            entry("https://*.other.example", None),
            entry("https://staticexample.com", None),
        ],
    );
    assert!(r.unwrap().is_ok());
}

/// While another thread swaps a tenant-bound set between two tables that give one origin
/// different keys, every response the layer lets through with `Access-Control-Allow-Origin`
/// carries, to the application, the entry of a table that allows that origin (never none, and
/// never a key from a table that does not allow it).
#[cfg(feature = "tower")]
#[test]
fn under_swaps_an_allowed_request_always_carries_its_entry() {
    use tower_layer::Layer as _;
    let p = Arc::new(policy(true, false));
    let a = || {
        [
            entry("https://o.example.com", Some("a")),
            entry("https://q.example.com", Some("a")),
        ]
    };
    let b = || [entry("https://o.example.com", Some("b"))];
    p.replace_provided("tenants", a()).unwrap().unwrap();
    let app = common::App::new(
        |r| {
            r.extensions()
                .get::<guestlist::MatchedOrigin>()
                .map(|m| m.key().map(str::to_string))
        },
        || http::Response::new(()),
    );
    let seen = app.seen.clone();
    let mut svc = guestlist::Layer::shared(Arc::clone(&p)).layer(app);
    let done = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (p, done) = (Arc::clone(&p), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) || n < 1_000 {
                let r = if n % 2 == 0 {
                    p.replace_provided("tenants", b())
                } else {
                    p.replace_provided("tenants", a())
                };
                r.unwrap().unwrap();
                n += 1;
            }
        })
    };
    let (mut allowed, mut refused_q) = (0, 0);
    for i in 0..8_000 {
        let origin = if i % 2 == 0 {
            "https://o.example.com"
        } else {
            "https://q.example.com"
        };
        let req = http::Request::get("/api/x")
            .header("origin", origin)
            .body(())
            .unwrap();
        let resp = common::run(&mut svc, req);
        if resp.status() == http::StatusCode::INTERNAL_SERVER_ERROR {
            // Replaced again and again while deciding: refused, never let through unchecked.
            assert!(resp.headers().get("access-control-allow-origin").is_none());
            assert_eq!(
                resp.extensions().get::<guestlist::ServerError>(),
                Some(&guestlist::ServerError::SetReplaced)
            );
            continue;
        }
        let got = seen.lock().unwrap().pop().unwrap();
        match resp.headers().get("access-control-allow-origin") {
            Some(v) => {
                assert_eq!(v, origin);
                allowed += 1;
                let key = got.flatten();
                match origin {
                    "https://o.example.com" => {
                        assert!(matches!(key.as_deref(), Some("a" | "b")), "{key:?}");
                    }
                    _ => assert_eq!(key.as_deref(), Some("a")),
                }
            }
            None => {
                assert_eq!(origin, "https://q.example.com");
                assert_eq!(got, None, "no entry for a refused origin");
                refused_q += 1;
            }
        }
    }
    done.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(allowed > 4_000 && refused_q > 0, "{allowed} {refused_q}");
}

/// In a tenant-bound set, entries of two tenants may not overlap (which tenant a host belongs
/// to would depend on the lookup order); a replace reports origins whose key changed.
#[test]
fn tenant_keys_are_unambiguous_and_their_changes_reported() {
    let p = policy(true, true);
    for (x, y) in [
        ("https://*.a.example", "https://p.a.example"),
        ("https://*.a.example", "https://*.x.a.example"),
        // Neither allows all the other does, but they share hosts.
        ("https://*.a.example", "https://x.a.example:*"),
        ("https://*.a.example", "https://*.b.a.example:*"),
    ] {
        let e = p
            .replace_provided("tenants", [entry(x, Some("t1")), entry(y, Some("t2"))])
            .unwrap()
            .expect_err(y);
        assert_eq!(e.entries.len(), 1, "{e:?}");
        assert_eq!(e.entries[0].code, Some("GL1409"), "{e:?}");
        // The same tenant may hold both.
        let r = p.replace_provided("tenants", [entry(x, Some("t1")), entry(y, Some("t1"))]);
        assert!(r.unwrap().is_ok(), "{x} {y}");
    }
    p.replace_provided(
        "tenants",
        [
            entry("https://m.example", Some("t1")),
            entry("https://n.example", Some("t1")),
        ],
    )
    .unwrap()
    .unwrap();
    let r = p
        .replace_provided(
            "tenants",
            [
                entry("https://m.example", Some("t2")),
                entry("https://n.example", Some("t1")),
                entry("https://o.example", Some("t1")),
            ],
        )
        .unwrap()
        .unwrap();
    assert_eq!(r.added, ["https://o.example"]);
    assert!(r.removed.is_empty());
    assert_eq!(r.changed, ["https://m.example"]);
}

/// A path with two readings whose routes allow an origin, one through a static entry and one
/// through a tenant-bound entry: the application gets that entry, for a CORS request and for
/// a WebSocket handshake, whichever reading's policy holds the set.
#[cfg(feature = "tower")]
#[test]
fn either_reading_hands_its_tenant_entry_over() {
    use guestlist::WebSocketSpec;
    use tower_layer::Layer as _;
    let p = Arc::new(
        Policy::from_spec(PolicySpec {
            routes: vec![
                RouteSpec {
                    pattern: "/*".into(),
                    cors: Some(0),
                    websocket: Some(0),
                    ..RouteSpec::default()
                },
                RouteSpec {
                    pattern: "/api/*".into(),
                    cors: Some(1),
                    ..RouteSpec::default()
                },
                RouteSpec {
                    pattern: "/ws/*".into(),
                    websocket: Some(1),
                    ..RouteSpec::default()
                },
            ],
            cors: vec![
                CorsSpec {
                    name: "site".into(),
                    origins: vec!["https://o.example.com".into()],
                    ..CorsSpec::default()
                },
                CorsSpec {
                    name: "api".into(),
                    credentials: true,
                    provided: vec![0],
                    ..CorsSpec::default()
                },
            ],
            websocket: vec![
                WebSocketSpec {
                    name: "site".into(),
                    origins: vec!["https://o.example.com".into()],
                    ..WebSocketSpec::default()
                },
                WebSocketSpec {
                    name: "live".into(),
                    provided: vec![0],
                    ..WebSocketSpec::default()
                },
            ],
            provided: vec![ProvidedSpec {
                name: "tenants".into(),
                tenant_bound: true,
                patterns: false,
            }],
            ..PolicySpec::default()
        })
        .unwrap(),
    );
    p.replace_provided("tenants", [entry("https://o.example.com", Some("t1"))])
        .unwrap()
        .unwrap();
    let app = common::App::new(
        |r| {
            r.extensions()
                .get::<guestlist::MatchedOrigin>()
                .and_then(|m| m.key().map(str::to_string))
        },
        || http::Response::new(()),
    );
    let seen = app.seen.clone();
    let mut svc = guestlist::Layer::shared(Arc::clone(&p)).layer(app);
    for (path, websocket) in [
        ("/api/x", false),
        ("//api/x", false),
        ("/%61pi/x", false),
        ("/ws/x", true),
        ("//ws/x", true),
    ] {
        let mut req = http::Request::get(path).header("origin", "https://o.example.com");
        if websocket {
            req = req
                .header("upgrade", "websocket")
                .header("connection", "upgrade")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("sec-websocket-version", "13");
        }
        let resp = common::run(&mut svc, req.body(()).unwrap());
        assert_eq!(resp.status(), http::StatusCode::OK, "{path}");
        if !websocket {
            assert_eq!(
                resp.headers()["access-control-allow-origin"],
                "https://o.example.com",
                "{path}"
            );
        }
        let got = seen.lock().unwrap().pop().unwrap();
        assert_eq!(got.as_deref(), Some("t1"), "{path}");
    }
}

/// A handshake a `same-origin` websocket policy allows is not taken for a replaced set when
/// a policy it is decided under (here another host block's, for the same path) also names a
/// tenant-bound set: it reaches the application, with no entry; an origin of the set gets its
/// entry on either host.
#[cfg(feature = "tower")]
#[test]
fn a_same_origin_handshake_beside_a_tenant_bound_set_passes() {
    use guestlist::{HostSpec, WebSocketSpec};
    use tower_layer::Layer as _;
    let ws = |websocket: usize, host: usize| RouteSpec {
        pattern: "/live".into(),
        websocket: Some(websocket),
        host: Some(host),
        ..RouteSpec::default()
    };
    let p = Arc::new(
        Policy::from_spec(PolicySpec {
            routes: vec![ws(0, 0), ws(1, 1)],
            websocket: vec![
                WebSocketSpec {
                    name: "api".into(),
                    same_origin: true,
                    ..WebSocketSpec::default()
                },
                WebSocketSpec {
                    name: "tenants".into(),
                    same_origin: true,
                    provided: vec![0],
                    ..WebSocketSpec::default()
                },
            ],
            provided: vec![ProvidedSpec {
                name: "tenants".into(),
                tenant_bound: true,
                patterns: false,
            }],
            hosts: vec![
                HostSpec {
                    patterns: vec!["api.example.com".into()],
                },
                HostSpec {
                    patterns: vec!["*.tenants.example.com".into()],
                },
            ],
            ..PolicySpec::default()
        })
        .unwrap(),
    );
    p.replace_provided("tenants", [entry("https://api.example.com", Some("t1"))])
        .unwrap()
        .unwrap();
    let app = common::App::new(
        |r| {
            r.extensions()
                .get::<guestlist::MatchedOrigin>()
                .and_then(|m| m.key().map(str::to_string))
        },
        || http::Response::new(()),
    );
    let seen = app.seen.clone();
    let mut svc = guestlist::Layer::shared(Arc::clone(&p)).layer(app);
    for (host, origin, key) in [
        // Same-origin on the tenant host: allowed by `same-origin`, no entry.
        (
            "x.tenants.example.com",
            "https://x.tenants.example.com",
            None,
        ),
        // The set's origin on its own host: same-origin for both policies, and the tenant
        // policy's entry.
        ("api.example.com", "https://api.example.com", Some("t1")),
    ] {
        let req = http::Request::get("/live")
            .header("host", host)
            .header("origin", origin)
            .header("upgrade", "websocket")
            .header("connection", "upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13");
        let resp = common::run(&mut svc, req.body(()).unwrap());
        assert_eq!(resp.status(), http::StatusCode::OK, "{host} {origin}");
        let got = seen.lock().unwrap().pop().unwrap();
        assert_eq!(got.as_deref(), key, "{host} {origin}");
    }
}

/// A path whose two readings allow an origin through entries of two different tenant-bound
/// sets is answered 500 and never reaches the application, even when both entries carry the
/// same key (the rule an edge, which never sees keys, computes alike); through one set, or
/// under one reading, the entry is handed over.
#[cfg(feature = "tower")]
#[test]
fn two_readings_through_two_tenant_bound_sets_are_refused() {
    use tower_layer::Layer as _;
    let cors = |name: &str, set: usize| CorsSpec {
        name: name.into(),
        credentials: true,
        provided: vec![set],
        ..CorsSpec::default()
    };
    let p = Arc::new(
        Policy::from_spec(PolicySpec {
            routes: vec![
                RouteSpec {
                    pattern: "/*".into(),
                    cors: Some(0),
                    ..RouteSpec::default()
                },
                RouteSpec {
                    pattern: "/x/*".into(),
                    cors: Some(1),
                    ..RouteSpec::default()
                },
                RouteSpec {
                    pattern: "/y/*".into(),
                    cors: Some(2),
                    ..RouteSpec::default()
                },
            ],
            cors: vec![cors("site", 0), cors("x", 1), cors("y", 0)],
            provided: ["a", "b"]
                .iter()
                .map(|n| ProvidedSpec {
                    name: (*n).into(),
                    tenant_bound: true,
                    patterns: false,
                })
                .collect(),
            ..PolicySpec::default()
        })
        .unwrap(),
    );
    for set in ["a", "b"] {
        p.replace_provided(set, [entry("https://o.example.com", Some("same"))])
            .unwrap()
            .unwrap();
    }
    let app = common::App::new(
        |r| {
            r.extensions()
                .get::<guestlist::MatchedOrigin>()
                .map(|m| m.set().to_string())
        },
        || http::Response::new(()),
    );
    let seen = app.seen.clone();
    let mut svc = guestlist::Layer::shared(Arc::clone(&p)).layer(app);
    for (path, want) in [
        // `/%78/x` reads as `/*` (set a) as sent and `/x/*` (set b) normalised.
        ("/%78/x", None),
        // `/%79/x` reads as `/*` and `/y/*`, both through set a.
        ("/%79/x", Some("a")),
        ("/x/x", Some("b")),
        ("/q", Some("a")),
    ] {
        let req = http::Request::get(path)
            .header("origin", "https://o.example.com")
            .body(())
            .unwrap();
        let before = seen.lock().unwrap().len();
        let resp = common::run(&mut svc, req);
        match want {
            None => {
                assert_eq!(
                    resp.status(),
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "{path}"
                );
                assert_eq!(
                    resp.extensions().get::<guestlist::ServerError>(),
                    Some(&guestlist::ServerError::TwoTenantSets),
                    "{path}"
                );
                assert!(resp.headers().is_empty(), "{path}: {:?}", resp.headers());
                assert_eq!(
                    seen.lock().unwrap().len(),
                    before,
                    "{path} reached the application"
                );
            }
            Some(set) => {
                assert_eq!(resp.status(), http::StatusCode::OK, "{path}");
                let got = seen.lock().unwrap().pop().unwrap();
                assert_eq!(got.as_deref(), Some(set), "{path}");
            }
        }
    }
}
