//! Property tests (proptest), seeded, so a run is reproducible (`PROPTEST_RNG_SEED` picks
//! another seed). The runtime decides every generated request as the naive model of
//! spec/language.md (`model/mod.rs`) does: kind, reason and headers, for generated policies
//! (exact origins, `*.` patterns, `:*` ports, IP hosts, `*`, methods, headers, credentials,
//! max-age, nested routes with and without cors) and generated requests (look-alikes of the
//! policy's own origins, other schemes and ports, `null`, paths with dot segments and escapes).
//! `fmt` is idempotent, keeps every comment, and parse(fmt(x)) has the structure of parse(x),
//! for layouts whose strings hold `#`, `;` and braces, with `\r` and `\r\n` line breaks; a
//! string broken by a `\r` is a syntax error.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

mod model;

use guestlist_compiler::{fmt::format, Compilation};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// The seed of every property here, unless `PROPTEST_RNG_SEED` names another.
const SEED: u64 = 0x6775_6573_746c_6973;

fn config(cases: u32) -> ProptestConfig {
    let d = ProptestConfig::default();
    let rng_seed = match d.rng_seed {
        RngSeed::Random => RngSeed::Fixed(SEED),
        chosen => chosen,
    };
    ProptestConfig {
        cases,
        rng_seed,
        ..d
    }
}

/// Labels of generated hosts: few, so that requests built from one entry land on others.
const LABELS: &[&str] = &["app", "a", "b", "preview", "admin", "x-1"];
const BASES: &[&str] = &["example.com", "example.org"];
const PORTS: &[u16] = &[8443, 3000, 1, 65535];
/// Entries that are not built from labels: IP hosts, localhost.
const FIXED_ORIGINS: &[&str] = &[
    "http://127.0.0.1:3000",
    "http://[::1]:*",
    "http://[::1]:3000",
    "http://localhost:*",
    "http://localhost:3000",
];

/// One `allow-origins` entry: exact, `:port`, `*.`, `*.` with a port, `:*`, `*.` with `:*`.
fn origin_entry() -> impl Strategy<Value = String> {
    let built = (
        0..6u8,
        any::<bool>(),
        prop::collection::vec(prop::sample::select(LABELS), 0..3),
        prop::sample::select(BASES),
        prop::sample::select(PORTS),
    )
        .prop_map(|(form, https, labels, base, port)| {
            let scheme = if https { "https" } else { "http" };
            let mut host = labels.join(".");
            if !host.is_empty() {
                host.push('.');
            }
            host.push_str(base);
            match form {
                0 => format!("{scheme}://{host}"),
                1 => format!("{scheme}://{host}:{port}"),
                2 => format!("{scheme}://*.{host}"),
                3 => format!("{scheme}://*.{host}:{port}"),
                4 => format!("{scheme}://{host}:*"),
                _ => format!("{scheme}://*.{host}:*"),
            }
        });
    prop_oneof![6 => built, 1 => prop::sample::select(FIXED_ORIGINS).prop_map(str::to_string)]
}

/// Case-insensitive first-occurrence dedup (the checker drops repeats the same way).
fn dedup(v: Vec<&str>, fold: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.iter().any(|o| {
            if fold {
                o.eq_ignore_ascii_case(s)
            } else {
                o == s
            }
        }) {
            out.push(s.to_string());
        }
    }
    out
}

/// One `cors` block: its model and its text.
fn cors_block() -> impl Strategy<Value = model::Cors> {
    (
        prop::collection::vec(origin_entry(), 0..5),
        prop::bool::weighted(0.2), // `*` origin
        any::<bool>(),             // credentials
        prop::collection::vec(
            prop::sample::select(&["PUT", "DELETE", "PATCH", "patch", "*", "GET", "X-Y"][..]),
            0..3,
        ),
        prop::collection::vec(
            prop::sample::select(&["Content-Type", "Authorization", "X-Id", "x-id"][..]),
            0..3,
        ),
        prop::bool::weighted(0.4), // `allow-headers *`
        prop::collection::vec(prop::sample::select(&["X-Total", "X-Other", "*"][..]), 0..2),
        prop::option::of(prop::sample::select(&[0u32, 1, 600, 7200, 86400][..])),
    )
        .prop_map(
            |(origins, star, credentials, methods, headers, any_header, expose, max_age)| {
                // With credentials, plain http is for loopback only (GL0214): the others go https.
                let origins: Vec<String> = origins
                    .into_iter()
                    .map(|o| match o.strip_prefix("http://") {
                        Some(rest) if credentials && rest.contains("example.") => {
                            format!("https://{rest}")
                        }
                        _ => o,
                    })
                    .collect();
                let origins: Vec<String> =
                    dedup(origins.iter().map(String::as_str).collect(), false);
                model::Cors {
                    any_origin: star || origins.is_empty(),
                    origins,
                    credentials,
                    any_method: methods.contains(&"*"),
                    methods: dedup(methods.into_iter().filter(|m| *m != "*").collect(), false),
                    any_header,
                    headers: dedup(headers, true),
                    // `expose-headers *` is literal with credentials (GL0405).
                    expose_any: expose.contains(&"*") && !credentials,
                    expose: dedup(expose.into_iter().filter(|h| *h != "*").collect(), true),
                    max_age,
                }
            },
        )
}

fn cors_text(name: usize, c: &model::Cors) -> String {
    let mut t = format!("cors c{name} {{\n");
    for o in &c.origins {
        t.push_str(&format!("    allow-origins \"{o}\"\n"));
    }
    if c.any_origin {
        t.push_str("    allow-origins *\n");
    }
    let list = |t: &mut String, setting: &str, any: bool, names: &[String]| {
        let mut words: Vec<&str> = names.iter().map(String::as_str).collect();
        if any {
            words.push("*");
        }
        if !words.is_empty() {
            t.push_str(&format!("    {setting} {}\n", words.join(" ")));
        }
    };
    list(&mut t, "allow-methods", c.any_method, &c.methods);
    list(&mut t, "allow-headers", c.any_header, &c.headers);
    list(&mut t, "expose-headers", c.expose_any, &c.expose);
    if c.credentials {
        t.push_str("    allow-credentials true\n");
    }
    match c.max_age {
        // Minutes when they are whole, so the text's units are read too.
        Some(m) if m > 0 && m % 60 == 0 => t.push_str(&format!("    max-age {}m\n", m / 60)),
        Some(m) => t.push_str(&format!("    max-age {m}\n")),
        None => {}
    }
    t.push_str("}\n");
    t
}

/// A policy: one or two cors blocks and a subset of [`model::ROUTE_PATTERNS`], each with one
/// of the blocks or none.
fn policy() -> impl Strategy<Value = (model::Model, String)> {
    (
        prop::collection::vec(cors_block(), 1..3),
        // Per pattern: no route (None), a route with a cors block (0, 1), or without (9).
        prop::collection::vec(
            prop::sample::select(&[None, Some(0), Some(0), Some(1), Some(9)][..]),
            model::ROUTE_PATTERNS.len(),
        ),
        // `paths { non-normal two-readings }` now and then.
        prop::bool::weighted(0.3),
    )
        .prop_map(|(cors, choices, two_readings)| {
            let mut text: String = cors
                .iter()
                .enumerate()
                .map(|(i, c)| cors_text(i, c))
                .collect();
            if two_readings {
                text.push_str("paths { non-normal two-readings }\n");
            }
            let mut routes = Vec::new();
            for (pattern, choice) in model::ROUTE_PATTERNS.iter().zip(choices) {
                // None: no route; Some(i): a route with block i, or without cors past the last.
                let Some(i) = choice else { continue };
                let cors_index = (i != 9).then(|| i % cors.len());
                match cors_index {
                    Some(i) => text.push_str(&format!("route \"{pattern}\" {{ cors c{i} }}\n")),
                    None => text.push_str(&format!("route \"{pattern}\" {{ }}\n")),
                }
                routes.push(model::Route {
                    pattern: pattern.to_string(),
                    cors: cors_index,
                });
            }
            (
                model::Model {
                    routes,
                    cors,
                    two_readings,
                },
                text,
            )
        })
}

/// A request path: `/` and segments from the model's lists, and a tail; often a route
/// pattern with segments in place of its `*`. Extend [`model::PATH_SEGMENTS`],
/// [`model::PATH_ODD_SEGMENTS`] and [`model::PATH_TAILS`] for new forms.
fn path() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        8 => prop::sample::select(model::PATH_SEGMENTS),
        1 => prop::sample::select(model::PATH_ODD_SEGMENTS),
    ];
    let segments = prop::collection::vec(segment, 0..4).prop_map(|s| s.join("/"));
    let tail = prop::sample::select(model::PATH_TAILS);
    prop_oneof![
        10 => (segments.clone(), tail.clone()).prop_map(|(s, tail)| format!("/{s}{tail}")),
        10 => (prop::sample::select(model::ROUTE_PATTERNS), segments, tail)
            .prop_map(|(r, s, tail)| format!("{}{tail}", r.replace('*', &s))),
        1 => prop::sample::select(&["", "api/x", "*", "?x"][..]).prop_map(str::to_string),
    ]
}

/// An origin made from one of the policy's entries, often a near miss: the entry's origin
/// itself, with more or fewer labels, as a prefix or suffix of another host, with another
/// scheme or port (none, default, leading zero, out of range), uppercased, with an empty label
/// or a trailing slash, a sibling subdomain, the pattern text itself.
fn look_alike(entry: &str, how: u8, label: &str, port: u32) -> String {
    let (scheme, rest) = entry.split_once("://").unwrap_or(("https", entry));
    let (host, entry_port) = match rest.strip_suffix(":*") {
        Some(h) => (h, None),
        None if rest.starts_with('[') => match rest.rsplit_once("]:") {
            Some((h, p)) => (&rest[..h.len() + 1], Some(p)),
            None => (rest, None),
        },
        None => match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        },
    };
    let wild = host.strip_prefix("*.");
    let base = wild.unwrap_or(host);
    // The host a browser on an allowed page would send.
    let own = match wild {
        Some(s) => format!("{label}.{s}"),
        None => host.to_string(),
    };
    let own_port = match (entry_port, rest.ends_with(":*")) {
        (Some(p), _) => format!(":{p}"),
        (None, true) if port % 2 == 0 => format!(":{}", 1 + port % 65_535),
        _ => String::new(),
    };
    let other = if scheme == "https" { "http" } else { "https" };
    let parent = base.split_once('.').map_or(base, |(_, b)| b);
    // Most of them the origin itself, so that allowed requests are common.
    match how % 40 {
        0..=23 => format!("{scheme}://{own}{own_port}"),
        24 => format!("{scheme}://{own}.evil.net{own_port}"),
        25 => format!("{scheme}://{label}{base}{own_port}"),
        26 => format!("{other}://{own}{own_port}"),
        27 => format!("{scheme}://{own}:{}", port % 70_000),
        28 => format!("{scheme}://{}{own_port}", own.to_ascii_uppercase()),
        29 => format!("{scheme}://{label}.{parent}{own_port}"),
        30 => format!("{scheme}://{base}{own_port}"),
        31 => format!("{scheme}://{label}.{label}.{base}{own_port}"),
        32 => format!("{scheme}://{label}..{base}{own_port}"),
        33 => format!("{scheme}://{own}{own_port}/"),
        34 => format!(
            "{scheme}://{own}:{}",
            if scheme == "https" { 443 } else { 80 }
        ),
        35 => format!("{scheme}://{own}:0{}", port % 70_000),
        36 => entry.to_string(),
        37 => format!("{scheme}://{own}:"),
        38 => format!("{scheme}://{own} "),
        _ => format!("{}://{own}{own_port}", scheme.to_ascii_uppercase()),
    }
}

/// `Origin` values for a policy whose entries are `entries`.
fn origin(entries: Vec<String>) -> impl Strategy<Value = String> {
    let entries = if entries.is_empty() {
        vec!["https://app.example.com".to_string()]
    } else {
        entries
    };
    let label = prop_oneof![
        prop::sample::select(LABELS).prop_map(str::to_string),
        "[a-z0-9-]{1,4}",
        "[a-zA-Z0-9_.-]{0,3}",
        Just("a".repeat(63)),
        Just("a".repeat(64)),
    ];
    prop_oneof![
        10 => (prop::sample::select(entries), any::<u8>(), label, any::<u32>())
            .prop_map(|(e, how, label, port)| look_alike(&e, how, &label, port)),
        1 => Just("null".to_string()),
        1 => "[a-zA-Z]{1,5}://[a-zA-Z0-9.:\\[\\]-]{0,16}",
    ]
}

type Request = (String, String, Vec<(String, String)>);

/// A request on the policy: method, path, and header lines (none, one or two `Origin` lines;
/// `Access-Control-Request-Method` and `-Headers` lines).
fn request(
    entries: Vec<String>,
    names: Vec<String>,
    methods: Vec<String>,
) -> impl Strategy<Value = Request> {
    let many_names = "x-id,".repeat(65);
    let long_name = "x".repeat(4097);
    let names = if names.is_empty() {
        vec!["x-id".to_string()]
    } else {
        names
    };
    let acrh_line = prop_oneof![
        // Names the policy lists, in another case now and then.
        6 => (prop::collection::vec(prop::sample::select(names), 1..3), any::<bool>())
            .prop_map(|(n, upper)| {
                let line = n.join(",");
                if upper { line.to_ascii_uppercase() } else { line.to_ascii_lowercase() }
            }),
        3 => prop::sample::select(&["content-type", "Content-Type", "x-id,content-type", "X-ID"][..])
            .prop_map(str::to_string),
        3 => prop::sample::select(&["authorization", "Authorization, X-Id", "x-other"][..])
            .prop_map(str::to_string),
        2 => prop::sample::select(&[" , ,", "", "x-id,,content-type", "\tx-id ,"][..])
            .prop_map(str::to_string),
        2 => prop::sample::select(&["a b", "x(y)", "x-id;q"][..]).prop_map(str::to_string),
        1 => prop::sample::select(vec![many_names, long_name]),
    ];
    let acrh = prop_oneof![
        4 => Just(Vec::new()),
        6 => prop::collection::vec(acrh_line.clone(), 1..4),
        1 => prop::collection::vec(acrh_line, 8..11),
    ];
    let methods = if methods.is_empty() {
        vec!["PUT".to_string()]
    } else {
        methods
    };
    let acrm = prop_oneof![
        // A method the policy lists, half of the time.
        7 => prop::sample::select(methods),
        6 => prop::sample::select(&["PUT", "DELETE", "patch", "PATCH", "GET", "POST", "X-Y"][..])
            .prop_map(str::to_string),
        1 => prop::sample::select(&["P T", "", "put", "GET,PUT"][..]).prop_map(str::to_string),
    ];
    (
        prop::sample::select(
            &["GET", "POST", "PUT", "OPTIONS", "OPTIONS", "OPTIONS", "patch", "PATCH", "X-Y"][..],
        ),
        path(),
        prop_oneof![
            1 => prop::collection::vec(origin(entries.clone()), 0..1),
            8 => prop::collection::vec(origin(entries.clone()), 1..2),
            1 => prop::collection::vec(origin(entries), 2..3),
        ],
        prop_oneof![3 => prop::collection::vec(acrm.clone(), 1..2), 1 => prop::collection::vec(acrm, 0..3)],
        acrh,
        prop::sample::select(&["Origin", "origin"][..]),
    )
        .prop_map(|(m, p, origins, acrm, acrh, origin_name)| {
            let mut h: Vec<(String, String)> = origins
                .into_iter()
                .map(|o| (origin_name.to_string(), o))
                .collect();
            for a in acrm {
                h.push(("Access-Control-Request-Method".to_string(), a));
            }
            for a in acrh {
                h.push(("Access-Control-Request-Headers".to_string(), a));
            }
            (m.to_string(), p, h)
        })
}

fn policy_and_requests() -> impl Strategy<Value = ((model::Model, String), Vec<Request>)> {
    policy().prop_flat_map(|p| {
        let entries: Vec<String> = p.0.cors.iter().flat_map(|c| c.origins.clone()).collect();
        let names: Vec<String> = p.0.cors.iter().flat_map(|c| c.headers.clone()).collect();
        let methods: Vec<String> = p.0.cors.iter().flat_map(|c| c.methods.clone()).collect();
        (
            Just(p),
            prop::collection::vec(request(entries, names, methods), 1..16),
        )
    })
}

/// Every kind and reason the model can give, which the generated requests must reach (so
/// that the comparison is never vacuous).
const REACHED: &[&str] = &[
    "not-cors",
    "actual-allowed",
    "actual-not-allowed",
    "preflight-ok",
    "preflight-rejected",
    "path-rejected",
    "no-route",
    "path-invalid",
    "path-not-normal",
    "readings-disagree",
    "no-cors-policy",
    "no-origin",
    "origin-allowed",
    "origin-not-allowed",
    "multiple-origins",
    "request-method-invalid",
    "method-not-allowed",
    "request-headers-invalid",
    "header-not-allowed",
    "authorization-not-listed",
    "preflight-allowed",
    "access-control-allow-origin",
    "access-control-allow-origin: *",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-allow-headers: *",
    "access-control-allow-headers, echoed",
    "access-control-max-age",
    "access-control-expose-headers",
    "vary",
];

#[test]
fn the_runtime_decides_as_the_model() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        source_file: Some(file!()),
        ..config(1000)
    });
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<String, usize>::new());
    let (mut policies, mut requests) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let result = runner.run(&policy_and_requests(), |((model, text), reqs)| {
        let c = Compilation::from_str("p.policy", &text);
        if model.cors.iter().any(|m| m.any_origin && m.credentials) {
            // GL0213 can never be lowered.
            prop_assert!(
                c.diagnostics().iter().any(|d| d.code == "GL0213"),
                "{}",
                c.render()
            );
            return Ok(());
        }
        // Other refusals (expose `*` or plain http with credentials) are the checker's job.
        prop_assume!(!c.has_errors());
        let lowered = c.lower("default").unwrap();
        policies.set(policies.get() + 1);
        for (m, path, h) in &reqs {
            let d = lowered.policy.decide(m, path, &h[..]);
            let want = model.decide(m, path, h);
            let got = model::by_name(d.headers().iter().map(|x| {
                (
                    x.name.as_str().to_string(),
                    String::from_utf8_lossy(x.value.as_bytes()).into_owned(),
                )
            }));
            let at = format!("{m} {path:?} {h:?}\n{text}");
            prop_assert_eq!(d.kind.as_str(), want.kind, "kind: {}", at);
            prop_assert!(
                want.reasons.contains(&d.reason.code()),
                "reason {} not in {:?}: {}",
                d.reason.code(),
                want.reasons,
                at
            );
            prop_assert_eq!(got, want.by_name(), "headers: {}", at);
            requests.set(requests.get() + 1);
            let mut seen = seen.borrow_mut();
            *seen.entry(d.kind.as_str().to_string()).or_default() += 1;
            *seen.entry(d.reason.code().to_string()).or_default() += 1;
            for (n, v) in &want.headers {
                *seen.entry(n.clone()).or_default() += 1;
                let detail = match (n.as_str(), v.as_str()) {
                    ("access-control-allow-origin", "*") => "access-control-allow-origin: *",
                    ("access-control-allow-headers", v) if v.starts_with('*') => {
                        "access-control-allow-headers: *"
                    }
                    ("access-control-allow-headers", v) if h.iter().any(|(_, x)| x == v) => {
                        "access-control-allow-headers, echoed"
                    }
                    _ => continue,
                };
                *seen.entry(detail.to_string()).or_default() += 1;
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let seen = seen.into_inner();
    println!(
        "{} policies, {} requests: {seen:?}",
        policies.get_mut(),
        requests.get_mut()
    );
    for r in REACHED {
        assert!(
            seen.get(*r).copied().unwrap_or(0) >= 10,
            "{r} reached too rarely: {seen:?}"
        );
    }
}

/// Quoted strings holding the characters that end a line, a block or a word outside strings
/// (`#`, `;`, braces), where formatter regressions came from.
const TRICKY_STRINGS: &[&str] = &[
    "\"https://b.example.com#frag\"",
    "\"X;Y\"",
    "\"https://r.example/a;b#c{d}\"",
    "\"}\"",
    "\"{\"",
    "\"#\"",
    "\";\"",
    "\"a } b { c # d ; e\"",
    "\"\"",
];

/// Policy text in random layout: random indentation and spacing, blank lines, settings joined
/// with `;`, comments in every position a comment can take, strings holding `#`, `;` and
/// braces, `\n`, `\r\n` or a lone `\r` between lines, and now and then a string broken by a
/// `\r` (a syntax error: strings end at a line break). The flag says a string was broken.
fn messy_text() -> impl Strategy<Value = (String, bool)> {
    let space = prop::sample::select(&[" ", "  ", "\t", "   "][..]);
    let indent = prop::sample::select(&["", " ", "    ", "\t", "        "][..]);
    let trailer = prop::sample::select(
        &[
            "",
            "",
            " # c",
            "   # trailing, note",
            "# glued",
            " # \"quoted\" ; { }",
        ][..],
    );
    let filler = prop::sample::select(
        &[
            "",
            "",
            "\n",
            "\n\n\n",
            "# own line\n",
            "   # indented own line\n",
            "# \"a\" ; b { c } # d\n",
        ][..],
    );
    let tricky = prop::sample::select(TRICKY_STRINGS);
    let setting = prop_oneof![
        3 => prop::sample::select(
            &[
                "allow-origins s",
                "allow-origins \"https://b.example.com\" when dev",
                "max-age 2h",
                "allow-methods PUT DELETE",
                "allow-headers X-A max-age",
                "allow-credentials false",
            ][..],
        )
        .prop_map(str::to_string),
        2 => (
            prop::sample::select(&["allow-origins", "allow-headers", "report-uri", "x"][..]),
            prop::collection::vec(tricky.clone(), 1..3),
        )
            .prop_map(|(k, v)| format!("{k} {}", v.join(" "))),
    ];
    let line = (
        indent.clone(),
        prop::collection::vec(setting, 1..3),
        space.clone(),
        trailer.clone(),
        filler.clone(),
    )
        .prop_map(|(i, settings, sp, tr, fill)| {
            // Spacing varies between words, never inside strings.
            let joined: Vec<String> = settings
                .iter()
                .map(|s| {
                    s.split('"')
                        .enumerate()
                        .map(|(n, part)| {
                            if n % 2 == 0 {
                                part.replace(' ', sp)
                            } else {
                                part.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("\"")
                })
                .collect();
            format!("{i}{}{tr}\n{fill}", joined.join(";"))
        });
    let cors = (
        prop::collection::vec(line, 0..5),
        trailer.clone(),
        indent.clone(),
        trailer.clone(),
        filler.clone(),
        any::<u8>(),
    )
        .prop_map(|(lines, head_tr, close_i, close_tr, fill, n)| {
            format!(
                "cors c{n} {{{head_tr}\n{fill}{}{close_i}}}{close_tr}\n",
                lines.concat()
            )
        });
    let item = prop_oneof![
        cors,
        (trailer.clone(), filler.clone())
            .prop_map(|(t, f)| format!("origins s {{ \"https://a.example.com\" }}{t}\n{f}")),
        (indent.clone(), trailer.clone()).prop_map(|(i, t)| format!(
            "origins s {{\n{i}\"https://a.example.com\"{t}\n{i}\"https://*.b.example.com\"\n}}\n"
        )),
        (space.clone(), trailer.clone())
            .prop_map(|(sp, t)| format!("route{sp}\"/x/*\"{sp}{{{sp}cors c1{sp}}}{t}\n")),
        (space, tricky.clone(), trailer.clone())
            .prop_map(|(sp, s, t)| format!("route{sp}{s}{sp}{{{sp}cors c1;{sp}csp {s}{sp}}}{t}\n")),
        (indent, tricky.clone(), tricky, trailer).prop_map(|(i, a, b, t)| format!(
            "test {a} {{{t}\n{i}request GET {b}; expect not-cors{t}\n}}\n"
        )),
        filler.prop_map(str::to_string),
    ];
    let broken = prop::sample::select(&["\"a\rb\"", "\"\r\"", "\"x;\r#y\""][..]);
    (
        prop::collection::vec(item, 1..8),
        prop::option::weighted(0.1, (broken, any::<prop::sample::Index>())),
        prop::collection::vec(prop::sample::select(&["\n", "\n", "\r\n", "\r"][..]), 64),
    )
        .prop_map(|(items, broken, endings)| {
            let mut text = items.concat();
            if let Some((b, at)) = &broken {
                // A broken string as a value on a line of its own (inside a block or not).
                let starts: Vec<usize> = std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                    .collect();
                let at = starts[at.index(starts.len())];
                text.insert_str(at, &format!("x {b}\n"));
            }
            let mut n = 0;
            let text = text
                .split('\n')
                .enumerate()
                .map(|(i, l)| {
                    if i > 0 {
                        n += 1;
                        format!("{}{l}", endings[n % endings.len()])
                    } else {
                        l.to_string()
                    }
                })
                .collect::<String>();
            (text, broken.is_some())
        })
}

/// The comments of a text by the lexical rules of spec/language.md section 1: a line ends at
/// `\n`, `\r\n` or a lone `\r`; a string runs from `"` to the next `"` on its line; `#`
/// outside a string starts a comment that runs to the end of the line.
fn comments(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in t.split("\r\n").flat_map(|l| l.split(['\n', '\r'])) {
        let mut in_string = false;
        for (i, c) in line.char_indices() {
            match c {
                '"' => in_string = !in_string,
                '#' if !in_string => {
                    out.push(line[i..].trim_end().to_string());
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn fmt_properties() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        source_file: Some(file!()),
        ..config(600)
    });
    let counts = std::cell::RefCell::new(std::collections::BTreeMap::<&str, usize>::new());
    let count = |k| *counts.borrow_mut().entry(k).or_default() += 1;
    let result = runner.run(&messy_text(), |(text, broken)| {
        let c = Compilation::from_str("m.policy", &text);
        let syntax_error = c.diagnostics().iter().any(|d| d.code == "GL0001");
        if broken {
            // A string ends at a line break: `"a\rb"` is two unterminated strings.
            prop_assert!(syntax_error, "a string broken by CR parsed:\n{:?}", text);
            count("broken string refused");
            return Ok(());
        }
        prop_assert!(
            !syntax_error,
            "generated text does not parse:\n{:?}\n{}",
            text,
            c.render()
        );
        let once = format(&text);
        prop_assert_eq!(&format(&once), &once, "not idempotent");
        prop_assert_eq!(comments(&once), comments(&text), "comments changed");
        let again = Compilation::from_str("m.policy", &once);
        prop_assert!(
            again.diagnostics().iter().all(|d| d.code != "GL0001"),
            "fmt broke the syntax:\n{}",
            once
        );
        prop_assert_eq!(again.structure(), c.structure());
        for (k, hit) in [
            ("formatted", true),
            (
                "`#` in a string",
                TRICKY_STRINGS
                    .iter()
                    .any(|s| s.contains('#') && text.contains(s)),
            ),
            (
                "`;` in a string",
                TRICKY_STRINGS
                    .iter()
                    .any(|s| s.contains(';') && text.contains(s)),
            ),
            (
                "a brace in a string",
                TRICKY_STRINGS
                    .iter()
                    .any(|s| s.contains(['{', '}']) && text.contains(s)),
            ),
            ("CR line breaks", text.contains('\r')),
        ] {
            if hit {
                count(k);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let counts = counts.into_inner();
    println!("{counts:?}");
    for k in [
        "formatted",
        "`#` in a string",
        "`;` in a string",
        "a brace in a string",
        "CR line breaks",
        "broken string refused",
    ] {
        assert!(
            counts.get(k).copied().unwrap_or(0) >= 20,
            "{k} too rarely: {counts:?}"
        );
    }
}
