//! Property tests (proptest). For any valid policy and any request, the runtime never sends
//! `Access-Control-Allow-Origin: *` with `Access-Control-Allow-Credentials: true`, never echoes
//! an origin the policy does not allow, and always adds `Vary: Origin` when the answer depends
//! on `Origin`. `fmt` is idempotent, keeps every comment, and parse(fmt(x)) has the structure
//! of parse(x).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests fail by panicking

use guestlist_compiler::{fmt::format, Compilation};
use proptest::prelude::*;

const ORIGINS: &[&str] = &[
    "https://app.example.com",
    "https://admin.example.com:8443",
    "https://*.preview.example.com",
    "http://localhost:*",
    "http://127.0.0.1:3000",
    "https://*.example.org:*",
    "https://partner.example.net",
];

const REQUEST_ORIGINS: &[&str] = &[
    "https://app.example.com",
    "https://APP.example.com",
    "https://app.example.com.evil.net",
    "https://admin.example.com:8443",
    "https://admin.example.com",
    "https://a.preview.example.com",
    "https://preview.example.com",
    "https://x.y.example.org:9",
    "http://localhost:5173",
    "http://localhost",
    "http://127.0.0.1:3000",
    "null",
    "https://partner.example.net",
    "https://evil.test",
];

#[derive(Debug, Clone)]
struct PolicyText {
    text: String,
}

fn policy() -> impl Strategy<Value = PolicyText> {
    (
        prop::collection::vec(prop::sample::select(ORIGINS), 0..5),
        any::<bool>(), // `*`
        any::<bool>(), // credentials
        prop::collection::vec(
            prop::sample::select(&["PUT", "DELETE", "PATCH", "*", "GET"][..]),
            0..3,
        ),
        prop::collection::vec(
            prop::sample::select(&["Content-Type", "Authorization", "X-Id", "*"][..]),
            0..3,
        ),
        prop::collection::vec(prop::sample::select(&["X-Total", "*"][..]), 0..2),
        prop::option::of(0u32..10_000),
    )
        .prop_map(
            |(origins, star, creds, methods, headers, expose, max_age)| {
                let mut t = String::from("cors p {\n");
                for o in &origins {
                    t.push_str(&format!("    allow-origins \"{o}\"\n"));
                }
                if star || origins.is_empty() {
                    t.push_str("    allow-origins *\n");
                }
                if !methods.is_empty() {
                    t.push_str(&format!("    allow-methods {}\n", methods.join(" ")));
                }
                if !headers.is_empty() {
                    t.push_str(&format!("    allow-headers {}\n", headers.join(" ")));
                }
                if !expose.is_empty() {
                    t.push_str(&format!("    expose-headers {}\n", expose.join(" ")));
                }
                if creds {
                    t.push_str("    allow-credentials true\n");
                }
                if let Some(m) = max_age {
                    t.push_str(&format!("    max-age {m}\n"));
                }
                t.push_str("}\nroute \"/api/*\" { cors p }\nroute \"/open\" { }\n");
                PolicyText { text: t }
            },
        )
}

fn request() -> impl Strategy<Value = (String, String, Vec<(String, String)>)> {
    (
        prop::sample::select(&["GET", "POST", "PUT", "OPTIONS", "OPTIONS", "patch"][..]),
        prop::sample::select(&["/api/x", "/api//y/../z", "/open", "/elsewhere", "/%61pi/q"][..]),
        prop::option::of(prop::sample::select(REQUEST_ORIGINS)),
        prop::option::of(prop::sample::select(
            &["PUT", "DELETE", "patch", "GET", "X"][..],
        )),
        prop::option::of(prop::sample::select(
            &[
                "content-type",
                "authorization",
                "x-id,content-type",
                "x-other",
                " , ,",
                "Authorization, X-Id",
            ][..],
        )),
    )
        .prop_map(|(m, p, o, acrm, acrh)| {
            let mut h = Vec::new();
            if let Some(o) = o {
                h.push(("Origin".to_string(), o.to_string()));
            }
            if let Some(a) = acrm {
                h.push(("Access-Control-Request-Method".to_string(), a.to_string()));
            }
            if let Some(a) = acrh {
                h.push(("Access-Control-Request-Headers".to_string(), a.to_string()));
            }
            (m.to_string(), p.to_string(), h)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn runtime_invariants(p in policy(), reqs in prop::collection::vec(request(), 1..8)) {
        let c = Compilation::from_str("p.policy", &p.text);
        // Only valid policies (the checker rejects, for example, `*` with credentials).
        prop_assume!(!c.has_errors());
        let lowered = c.lower("default").unwrap();
        let cors = &lowered.policy.cors_policies()[0];
        for (m, path, h) in &reqs {
            let d = lowered.policy.decide(m, path, &h[..]);
            let get = |n: &str| d.headers().iter().find(|x| x.name.as_str() == n).map(|x| x.value.as_bytes().to_vec());
            let acao = get("access-control-allow-origin");
            let acac = get("access-control-allow-credentials");
            prop_assert!(!(acao.as_deref() == Some(b"*") && acac.as_deref() == Some(b"true")), "{:?} with {:?}", acao, acac);
            if let Some(a) = &acao {
                if a.as_slice() != b"*" {
                    prop_assert!(cors.match_origin(a).is_some(), "echoed an origin the policy does not allow: {:?}", String::from_utf8_lossy(a));
                    let sent = h.iter().find(|(n, _)| n == "Origin").map(|(_, v)| v.as_bytes().to_vec());
                    prop_assert_eq!(Some(a.clone()), sent);
                }
            }
            let governed = d.cors.is_some();
            let depends_on_origin = !cors.any_origin() || cors.credentials();
            let vary = d.headers().iter().any(|x| x.name.as_str() == "vary" && x.value.as_bytes() == b"Origin");
            prop_assert_eq!(vary, governed && depends_on_origin);
        }
    }
}

/// Valid policy text in random layout: random indentation and spacing, blank lines, settings
/// joined with `;`, and comments in every position a comment can take.
fn messy_text() -> impl Strategy<Value = String> {
    let space = prop::sample::select(&[" ", "  ", "\t", "   "][..]);
    let indent = prop::sample::select(&["", " ", "    ", "\t", "        "][..]);
    let trailer = prop::sample::select(&["", "", " # c", "   # trailing, note", "# glued"][..]);
    let filler = prop::sample::select(
        &[
            "",
            "",
            "\n",
            "\n\n\n",
            "# own line\n",
            "   # indented own line\n",
        ][..],
    );
    let setting = prop::sample::select(
        &[
            "allow-origins s",
            "allow-origins \"https://b.example.com\" when dev",
            "max-age 2h",
            "allow-methods PUT DELETE",
            "allow-headers X-A max-age",
            "allow-credentials false",
        ][..],
    );
    let line = (
        indent.clone(),
        prop::collection::vec(setting, 1..3),
        space.clone(),
        trailer.clone(),
        filler.clone(),
    )
        .prop_map(|(i, settings, sp, tr, fill)| {
            let joined: Vec<String> = settings.iter().map(|s| s.replace(' ', sp)).collect();
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
        (space, trailer)
            .prop_map(|(sp, t)| format!("route{sp}\"/x/*\"{sp}{{{sp}cors c1{sp}}}{t}\n")),
        filler.prop_map(str::to_string),
    ];
    prop::collection::vec(item, 1..8).prop_map(|v| v.concat())
}

fn comments(t: &str) -> Vec<String> {
    t.lines()
        .filter_map(|l| l.find('#').map(|i| l[i..].trim_end().to_string()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn fmt_properties(text in messy_text()) {
        let c = Compilation::from_str("m.policy", &text);
        prop_assume!(c.diagnostics.iter().all(|d| d.code != "GL0001"));
        let once = format(&text);
        prop_assert_eq!(&format(&once), &once, "not idempotent");
        prop_assert_eq!(comments(&once), comments(&text), "comments changed");
        let again = Compilation::from_str("m.policy", &once);
        prop_assert!(again.diagnostics.iter().all(|d| d.code != "GL0001"), "fmt broke the syntax:\n{}", once);
        prop_assert_eq!(again.files[0].structure(), c.files[0].structure());
    }
}
