//! Supplied sets against a model written here: an exact entry allows its own bytes and nothing
//! else, a `*.` pattern allows one or more whole lowercase labels in front of its host, `:*`
//! any valid port or none. Generated entries and origins share labels that run into each
//! other (the jub0bs/cors case, GHSA-vhxv-fg4m-p2w8: `https://foo.com` and `https://bar.com`
//! must not allow `https://barfoo.com`; `https://*.foo.com` must not allow
//! `https://evilfoo.com` or `https://foo.com`), with trailing dots, ports and case. Every
//! decision is also compared with the same entries compiled as a static set.

#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::collections::BTreeSet;

use guestlist::{CorsSpec, Kind, Policy, PolicySpec, ProvidedSpec, RouteSpec, SuppliedEntry};
use proptest::prelude::*;

/// Labels of supplied entries: canonical, some the start or end of another.
const LABELS: &[&str] = &["foo", "bar", "barfoo", "foobar", "evilfoo", "a", "x-y", "9"];

/// Labels of request origins: those, and ones no canonical host has.
const ORIGIN_LABELS: &[&str] = &[
    "foo", "bar", "barfoo", "foobar", "evilfoo", "a", "x-y", "9", "FOO", "Bar", "", "a_b", "é",
    "-", "*",
];

/// Ports of request origins: valid, a default one, invalid ones, and an empty one.
const ORIGIN_PORTS: &[Option<&str>] = &[
    None,
    Some("8443"),
    Some("443"),
    Some("80"),
    Some("0"),
    Some("08443"),
    Some("65535"),
    Some("65536"),
    Some(""),
    Some("*"),
];

fn scheme() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["https", "http"][..])
}

/// `labels` joined under `.com`.
fn host(labels: &[&str]) -> String {
    let mut h = labels.join(".");
    h.push_str(".com");
    h
}

/// An entry a supplied set takes: an exact origin, `scheme://*.host[:port|:*]` or
/// `scheme://host:*`.
fn entry() -> impl Strategy<Value = String> {
    let labels = prop::collection::vec(prop::sample::select(LABELS), 1..=2);
    let port = prop::sample::select(&[None, Some("8443"), Some("*")][..]);
    (scheme(), labels, port, 0..3u8).prop_map(|(s, labels, port, form)| {
        let h = host(&labels);
        match (form, port) {
            // Exact: never `:*`.
            (0, Some("*")) => format!("{s}://{h}"),
            (0, Some(p)) => format!("{s}://{h}:{p}"),
            (0, None) => format!("{s}://{h}"),
            (1, Some(p)) => format!("{s}://*.{h}:{p}"),
            (1, None) => format!("{s}://*.{h}"),
            _ => format!("{s}://{h}:*"),
        }
    })
}

/// A request's `Origin`: mostly well formed, often not canonical.
fn origin() -> impl Strategy<Value = String> {
    let labels = prop::collection::vec(prop::sample::select(ORIGIN_LABELS), 0..=3);
    let port = prop::sample::select(ORIGIN_PORTS);
    let scheme = prop::sample::select(&["https", "http", "HTTPS", "wss"][..]);
    (scheme, labels, any::<bool>(), port).prop_map(|(s, labels, dot, port)| {
        let mut o = format!("{s}://{}", host(&labels));
        if dot {
            o.push('.');
        }
        if let Some(p) = port {
            o.push(':');
            o.push_str(p);
        }
        o
    })
}

/// A port a browser sends: 1 to 65535, no leading zero.
fn valid_port(p: &str) -> bool {
    !p.starts_with('0') && p.parse::<u16>().is_ok_and(|n| n > 0)
}

/// A label of a canonical host: 1 to 63 lowercase letters, digits and hyphens.
fn ldh(l: &str) -> bool {
    (1..=63).contains(&l.len())
        && l.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The model: whether `entry` allows `origin`.
fn model_allows(entry: &str, origin: &str) -> bool {
    if !entry.contains('*') {
        return entry == origin;
    }
    let (scheme, rest) = entry.split_once("://").unwrap();
    let Some(o_rest) = origin
        .strip_prefix(scheme)
        .and_then(|r| r.strip_prefix("://"))
    else {
        return false;
    };
    let (e_host, e_port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let (o_host, o_port) = match o_rest.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (o_rest, None),
    };
    let port_ok = match (e_port, o_port) {
        (None, o) => o.is_none(),
        (Some("*"), None) => true,
        (Some("*"), Some(p)) => valid_port(p),
        (Some(e), o) => o == Some(e),
    };
    let host_ok = match e_host.strip_prefix("*.") {
        Some(under) => o_host
            .strip_suffix(under)
            .and_then(|front| front.strip_suffix('.'))
            .is_some_and(|front| front.split('.').all(ldh)),
        None => o_host == e_host,
    };
    port_ok && host_ok
}

/// `/api/*` with a cors policy (no credentials) allowing `origins` and `patterns` statically
/// and the provided set `tenants` (patterns allowed).
fn policy(origins: Vec<String>, patterns: Vec<String>) -> Policy {
    Policy::from_spec(PolicySpec {
        routes: vec![RouteSpec {
            pattern: "/api/*".into(),
            cors: Some(0),
            ..RouteSpec::default()
        }],
        cors: vec![CorsSpec {
            name: "api".into(),
            origins,
            patterns,
            provided: vec![0],
            ..CorsSpec::default()
        }],
        provided: vec![ProvidedSpec {
            name: "tenants".into(),
            tenant_bound: false,
            patterns: true,
        }],
        ..PolicySpec::default()
    })
    .unwrap()
}

fn allowed(p: &Policy, origin: &str) -> bool {
    let h = [("origin", origin)];
    p.decide("GET", "/api/x", &h[..]).kind == Kind::ActualAllowed
}

/// Requests that probe each entry's label boundaries: its host with a label run into its
/// first one, a label in front, a trailing dot, another port, uppercase.
fn near(entry: &str) -> Vec<String> {
    let bare = entry.replace("*.", "").replace(":*", "");
    let (s, h) = bare.split_once("://").unwrap();
    vec![
        format!("{s}://evil{h}"),
        format!("{s}://a.{h}"),
        format!("{s}://a.b.{h}"),
        format!("{s}://{h}"),
        format!("{s}://{h}."),
        format!("{s}://a.{h}."),
        format!("{s}://{h}:8443"),
        format!("{s}://a.{h}:8443"),
        format!("{s}://{h}:443"),
        format!("{s}://{}", h.to_ascii_uppercase()),
        format!("{s}://A.{h}"),
        format!("{s}://.{h}"),
        format!("{s}://a..{h}"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn supplied_entries_allow_what_the_model_allows(
        entries in prop::collection::btree_set(entry(), 1..8),
        origins in prop::collection::vec(origin(), 1..24),
    ) {
        let supplied = policy(Vec::new(), Vec::new());
        let report = supplied
            .replace_provided(
                "tenants",
                entries.iter().map(|e| SuppliedEntry { origin: e.clone(), key: None }),
            )
            .unwrap();
        prop_assert!(report.is_ok(), "{entries:?}: {report:?}");
        let (patterns, exact): (Vec<String>, Vec<String>) =
            entries.iter().cloned().partition(|e| e.contains('*'));
        let compiled = policy(exact, patterns);
        let mut probes: BTreeSet<String> = origins.into_iter().collect();
        probes.extend(entries.iter().flat_map(|e| near(e)));
        probes.extend(entries.iter().cloned());
        for o in &probes {
            let want = entries.iter().any(|e| model_allows(e, o));
            prop_assert_eq!(allowed(&supplied, o), want, "supplied {:?}: {}", entries, o);
            prop_assert_eq!(allowed(&compiled, o), want, "static {:?}: {}", entries, o);
        }
    }
}

/// The cases the issue names, by hand, against the model and the runtime.
#[test]
fn the_named_cases() {
    let entries = [
        "https://foo.com",
        "https://bar.com",
        "https://*.baz.com",
        "https://qux.com:*",
    ];
    let p = policy(Vec::new(), Vec::new());
    p.replace_provided(
        "tenants",
        entries.iter().map(|e| SuppliedEntry {
            origin: (*e).to_string(),
            key: None,
        }),
    )
    .unwrap()
    .unwrap();
    for (o, want) in [
        ("https://barfoo.com", false),
        ("https://foobar.com", false),
        ("https://foo.com", true),
        ("https://evilbaz.com", false),
        ("https://baz.com", false),
        ("https://a.baz.com", true),
        ("https://a.baz.com.", false),
        ("https://foo.com.", false),
        ("https://FOO.com", false),
        ("https://A.baz.com", false),
        ("https://foo.com:443", false),
        ("https://qux.com:8443", true),
        ("https://qux.com:08443", false),
        ("https://qux.com:0", false),
        ("https://qux.com:65536", false),
    ] {
        let model = entries.iter().any(|e| model_allows(e, o));
        assert_eq!(model, want, "model: {o}");
        assert_eq!(allowed(&p, o), want, "runtime: {o}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text as an entry, keyed or not: accepted or refused with a reason, never a panic;
    /// a refusal keeps the table the set had.
    #[test]
    fn any_entry_is_accepted_or_refused_with_a_reason(
        texts in prop::collection::vec(
            prop_oneof![
                any::<String>(),
                "[a-zA-Z0-9:/.*\\[\\]_%@?#-]{0,40}",
                "(https?|wss?|ftp|HTTPS)://[a-z0-9.*-]{0,20}(:[0-9*]{0,6})?",
            ],
            1..6,
        ),
        keyed in any::<bool>(),
    ) {
        let p = policy(Vec::new(), Vec::new());
        p.replace_provided(
            "tenants",
            [SuppliedEntry { origin: "https://kept.example.com".into(), key: None }],
        )
        .unwrap()
        .unwrap();
        let entries = texts.iter().map(|t| SuppliedEntry {
            origin: t.clone(),
            key: keyed.then(|| "k".to_string()),
        });
        match p.replace_provided("tenants", entries).unwrap() {
            Ok(report) => {
                prop_assert!(!keyed);
                prop_assert_eq!(report.entries, texts.iter().collect::<BTreeSet<_>>().len());
                for t in &texts {
                    // An accepted exact entry is allowed as written.
                    if !t.contains('*') {
                        prop_assert!(allowed(&p, t), "{t:?}");
                    }
                }
            }
            Err(e) => {
                prop_assert!(!e.entries.is_empty());
                prop_assert!(e.entries.iter().all(|x| !x.why.is_empty()), "{e:?}");
                prop_assert!(allowed(&p, "https://kept.example.com"));
            }
        }
    }
}
