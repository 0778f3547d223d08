//! `guestlist diff`: each kind of grant is found (and nothing else), exactness (containment,
//! reformatting), witnesses that `explain` confirms, properties over generated policies, the
//! command's exit codes and formats, `REV:PATH` from git, and SARIF validated offline.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail by panicking; generated indexes are in range"
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use guestlist_compiler::diff::{diff, diff_every_pair, Finding, Kind, Report};
use guestlist_compiler::Compilation;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn compile(text: &str) -> Compilation {
    let c = Compilation::from_str("p.policy", text);
    assert!(!c.has_errors(), "{}\n{text}", c.render());
    c
}

/// What `explain` makes of a witness: the decision and the response headers.
fn decided(c: &Compilation, profile: &str, f: &Finding) -> String {
    let w = f.witness.as_ref().unwrap();
    // A side that does not name the profile has no line for it: its default.
    let profile = if c.profiles().iter().any(|p| p == profile) {
        profile
    } else {
        "default"
    };
    let l = c.lower(profile).unwrap();
    for (set, origin) in &w.supplied {
        let entry = guestlist::SuppliedEntry {
            origin: origin.clone(),
            key: l
                .policy
                .provided_set(set)
                .is_some_and(|s| s.is_tenant_bound())
                .then(|| "gl-diff".to_string()),
        };
        // A side without the set decides without it.
        let _ = l.policy.replace_provided(set, [entry]);
    }
    let e = guestlist_compiler::explain::explain(&l, &w.method, &w.path, &w.headers).unwrap();
    format!(
        "{:?} {} {:?} {:?} removed {:?}",
        e.kind, e.reason_code, e.status, e.headers, e.removed
    )
}

/// Every finding that is not latent has a witness, which OLD and NEW decide differently; a
/// latent one has none.
fn check_witnesses(old: &Compilation, new: &Compilation, r: &Report) {
    for f in r.new_access.iter().chain(&r.removed_access) {
        assert_eq!(f.latent, f.witness.is_none(), "{f:#?}");
        if f.witness.is_none() {
            continue;
        }
        let (a, b) = (decided(old, &f.profile, f), decided(new, &f.profile, f));
        assert_ne!(a, b, "the witness of {f:?} decides alike on both sides");
    }
}

fn report(old: &str, new: &str) -> Report {
    let (o, n) = (compile(old), compile(new));
    let r = diff(&o, &n, None).unwrap();
    check_witnesses(&o, &n, &r);
    r
}

fn kinds(items: &[Finding]) -> Vec<(Kind, String)> {
    items.iter().map(|f| (f.kind, f.subject.clone())).collect()
}

const BASE: &str = r#"
origins partners {
    "https://*.partner.example"
}
cors api {
    allow-origins "https://app.example.com" partners
    allow-methods PUT
    allow-headers X-Api-Key
    expose-headers X-Total
    max-age 2h
}
csp site {
    default-src 'self'
    script-src 'self' 'nonce'
    object-src 'none'
    base-uri 'none'
    form-action 'self'
}
headers strict {
    include default
    x-frame-options DENY
    cross-origin-embedder-policy require-corp
}
csrf forms {
    exempt POST "/api/webhooks/*"
    missing-headers reject
}
websocket live {
    allow-origins "https://app.example.com"
}
route "/api/*" { cors api; csrf forms; headers strict; csp site }
route "/live" { websocket live }
"#;

/// `BASE` with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn a_policy_against_itself_reformatted_and_commented_is_no_change() {
    let messy = BASE
        .replace(
            "    allow-methods PUT",
            "  # why PUT\n        allow-methods    PUT",
        )
        .replace("route \"/live\"", "# live updates\nroute \"/live\"");
    let formatted = guestlist_compiler::fmt::format(&messy);
    for text in [BASE.to_string(), messy, formatted] {
        let r = report(BASE, &text);
        assert_eq!(r.new_access, [], "{text}");
        assert_eq!(r.removed_access, [], "{text}");
    }
}

/// An edit of `BASE` (from, to) and the (kind, subject) of each grant it adds.
type Case = (&'static str, &'static str, &'static [(Kind, &'static str)]);

/// Each edit grants exactly the expected (kind, subject) list, and removing it again removes
/// exactly that.
#[test]
fn each_kind_of_grant_is_reported_and_nothing_else() {
    let cases: &[Case] = &[
        (
            "allow-origins \"https://app.example.com\" partners",
            "allow-origins \"https://app.example.com\" \"https://evil.example\" partners",
            &[(Kind::CorsOrigin, "https://evil.example")],
        ),
        (
            "allow-origins \"https://app.example.com\" partners",
            "allow-origins \"https://app.example.com\" \"https://*.example.com\" partners",
            &[(Kind::CorsOrigin, "https://*.example.com")],
        ),
        (
            "allow-methods PUT",
            "allow-methods PUT DELETE",
            &[(Kind::CorsMethod, "DELETE")],
        ),
        (
            "allow-headers X-Api-Key",
            "allow-headers X-Api-Key X-Debug",
            &[(Kind::CorsHeader, "x-debug")],
        ),
        (
            "expose-headers X-Total",
            "expose-headers X-Total X-Secret",
            &[(Kind::CorsExpose, "x-secret")],
        ),
        ("max-age 2h", "max-age 1d", &[(Kind::CorsMaxAge, "max-age")]),
        (
            "    max-age 2h\n",
            "    max-age 2h\n    allow-credentials true\n",
            &[(Kind::CorsCredentials, "credentials")],
        ),
        (
            "route \"/api/*\" { cors api; csrf forms",
            "route \"/api/*\" { csrf forms",
            &[(Kind::CorsUnguarded, "cors")],
        ),
        (
            "websocket live {\n    allow-origins \"https://app.example.com\"",
            "websocket live {\n    allow-origins \"https://app.example.com\" \"https://chat.example\"",
            &[(Kind::WebsocketOrigin, "https://chat.example")],
        ),
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { }",
            &[(Kind::WebsocketOrigin, "websocket")],
        ),
        (
            "    exempt POST \"/api/webhooks/*\"\n",
            "    exempt POST \"/api/webhooks/*\"\n    exempt DELETE \"/api/items/*\"\n",
            &[(Kind::CsrfExemption, "DELETE /api/items/*")],
        ),
        (
            "    missing-headers reject\n",
            "    missing-headers reject\n    trusted-origins \"https://sso.example\"\n",
            &[(Kind::CsrfTrusted, "https://sso.example")],
        ),
        (
            "    missing-headers reject\n",
            "    missing-headers reject\n    same-site allow\n",
            &[(Kind::CsrfSetting, "same-site allow")],
        ),
        (
            "    missing-headers reject\n",
            "",
            &[(Kind::CsrfSetting, "missing-headers allow")],
        ),
        (
            "route \"/api/*\" { cors api; csrf forms;",
            "route \"/api/*\" { cors api;",
            &[(Kind::CsrfRemoved, "csrf")],
        ),
        (
            "    script-src 'self' 'nonce'\n",
            "    script-src 'self' 'nonce' https://cdn.example\n",
            &[(Kind::Csp, "script-src https://cdn.example")],
        ),
        (
            "    form-action 'self'\n",
            "",
            &[(Kind::Csp, "form-action unrestricted")],
        ),
        (
            "    object-src 'none'\n",
            "",
            &[(Kind::Csp, "default-src 'self'")],
        ),
        (
            "csp site {\n",
            "csp site {\n    report-only\n",
            &[(Kind::Csp, "report-only")],
        ),
        (
            "    x-frame-options DENY\n",
            "    x-frame-options SAMEORIGIN\n",
            &[(Kind::Header, "x-frame-options")],
        ),
        (
            "    cross-origin-embedder-policy require-corp\n",
            "    cross-origin-embedder-policy credentialless\n",
            &[(Kind::Header, "cross-origin-embedder-policy")],
        ),
        (
            "    x-frame-options DENY\n",
            "    x-frame-options DENY\n    strict-transport-security max-age=300\n",
            &[(Kind::Header, "strict-transport-security")],
        ),
        // A header newly set replaces the application's own: its weakest values are new
        // access, on a route gaining a set and in a set gaining the header.
        (
            "    cross-origin-embedder-policy require-corp\n",
            "    cross-origin-embedder-policy require-corp\n    cross-origin-resource-policy cross-origin\n",
            &[(Kind::Header, "cross-origin-resource-policy")],
        ),
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live; headers open }\nheaders open {\n    referrer-policy unsafe-url\n    permissions-policy camera=*, microphone=()\n    cross-origin-opener-policy unsafe-none\n    x-frame-options SAMEORIGIN\n}",
            &[
                (Kind::Header, "referrer-policy"),
                (Kind::Header, "permissions-policy"),
                (Kind::Header, "cross-origin-opener-policy"),
            ],
        ),
        // A CSP newly set that restricts nothing replaces the application's own (one
        // finding); one that restricts something is new access for each grant dangerous on
        // its own (spec/diff.md, "Newly enforced CSP").
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live; csp open }\ncsp open {\n    default-src * 'unsafe-inline' 'unsafe-eval'\n    dangerously-allow GL0808 \"a test\"\n    dangerously-allow GL0804 \"a test\"\n}",
            &[(Kind::Csp, "csp")],
        ),
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live; csp open }\ncsp open {\n    default-src * 'unsafe-inline' 'unsafe-eval'\n    dangerously-allow GL0808 \"a test\"\n    dangerously-allow GL0804 \"a test\"\n    frame-ancestors 'self'\n}",
            &[
                (Kind::Csp, "default-src *"),
                (Kind::Csp, "default-src 'unsafe-inline'"),
                (Kind::Csp, "default-src 'unsafe-eval'"),
            ],
        ),
        // A header set that starts to remove the application's own protective header: in a
        // set a route has, and on a route gaining a set; a name the route writes itself (the
        // CSP of a route with a csp block) or one that protects nothing is no new access.
        (
            "    cross-origin-embedder-policy require-corp\n",
            "    cross-origin-embedder-policy require-corp\n    remove permissions-policy server\n",
            &[(Kind::Header, "remove permissions-policy")],
        ),
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live; headers bare }\nheaders bare {\n    remove content-security-policy x-powered-by\n}",
            &[(Kind::Header, "remove content-security-policy")],
        ),
        (
            "    cross-origin-embedder-policy require-corp\n",
            "    cross-origin-embedder-policy require-corp\n    remove content-security-policy x-frame-options\n",
            &[],
        ),
        // Newly set strict values, and the built-in set: no new access.
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live; headers default }",
            &[],
        ),
        (
            "    cross-origin-embedder-policy require-corp\n",
            "    cross-origin-embedder-policy require-corp\n    permissions-policy camera=(self)\n",
            &[],
        ),
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live; headers calm }\nheaders calm {\n    cross-origin-resource-policy same-site\n    referrer-policy strict-origin-when-cross-origin\n    cross-origin-embedder-policy credentialless\n    strict-transport-security max-age=600\n    x-frame-options SAMEORIGIN\n}",
            &[],
        ),
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live }\nroute \"/partner/*\" { cors api }",
            &[
                (Kind::Route, "cors api"),
                (Kind::CorsOrigin, "https://app.example.com"),
                (Kind::CorsOrigin, "https://*.partner.example"),
            ],
        ),
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live }\npaths { non-normal two-readings }",
            &[(Kind::PathForm, "non-normal two-readings")],
        ),
        (
            "origins partners {\n    \"https://*.partner.example\"\n}",
            "origins partners {\n    \"https://*.partner.example\"\n}\norigins tenants provided",
            &[],
        ),
        (
            "allow-origins \"https://app.example.com\" partners",
            "allow-origins \"https://app.example.com\" partners tenants\n}\norigins tenants provided\ncors unused {\n    allow-origins \"https://x.example\"",
            &[(Kind::Provided, "cors tenants"), (Kind::CorsOrigin, "https://x.example")],
        ),
        (
            "    missing-headers reject\n",
            "    missing-headers reject\n    trusted-origins sso\n}\norigins sso provided\ncsrf unused {",
            &[(Kind::Provided, "csrf sso")],
        ),
        (
            "websocket live {\n    allow-origins \"https://app.example.com\"",
            "websocket live {\n    allow-origins \"https://app.example.com\" chat\n}\norigins chat provided\nwebsocket unused {\n    allow-origins \"https://app.example.com\"",
            &[
                (Kind::Provided, "websocket chat"),
                (Kind::WebsocketOrigin, "https://app.example.com"),
            ],
        ),
    ];
    for (from, to, want) in cases {
        let new = edit(from, to);
        let r = report(BASE, &new);
        let mut got = kinds(&r.new_access);
        got.sort();
        let mut want: Vec<(Kind, String)> = want.iter().map(|(k, s)| (*k, s.to_string())).collect();
        want.sort();
        assert_eq!(
            got, want,
            "new access of {from:?} -> {to:?}: {:#?}",
            r.new_access
        );
        assert!(r
            .new_access
            .iter()
            .all(|f| f.file == "p.policy" && f.line > 0));
        // The other way round, the same grants are removed.
        let back = report(&new, BASE);
        assert_eq!(
            kinds(&back.removed_access),
            kinds(&r.new_access),
            "{to:?} -> base"
        );
    }
}

/// A header set's `remove` of a protective header strips the application's own: new access
/// at the `remove` line, whose witness `explain` shows removed on NEW and not on OLD; the
/// `remove` dropped again is removed access only. Dropping the removal of a header that
/// protects nothing (`x-powered-by`) lets it reach browsers again: new access.
#[test]
fn a_header_set_removing_a_protective_header_is_new_access() {
    let old = "headers h {\n    x-frame-options DENY\n    remove x-powered-by\n}\nroute \"/app/*\" { headers h }\n";
    let new = "headers h {\n    x-frame-options DENY\n    remove x-powered-by\n    remove content-security-policy\n}\nroute \"/app/*\" { headers h }\n";
    let r = report(old, new);
    assert_eq!(
        kinds(&r.new_access),
        [(Kind::Header, "remove content-security-policy".to_string())],
        "{r:#?}"
    );
    let f = &r.new_access[0];
    assert_eq!((f.line, f.route.as_deref()), (4, Some("/app/*")), "{f:#?}");
    assert_eq!(r.removed_access, []);
    // What explain shows for the witness: the application's CSP line removed on NEW only.
    let w = f.witness.as_ref().unwrap();
    let shown = |text: &str| {
        let l = compile(text).lower("default").unwrap();
        guestlist_compiler::explain::explain(&l, &w.method, &w.path, &w.headers)
            .unwrap()
            .removed
    };
    assert_eq!(shown(old), ["x-powered-by"]);
    assert_eq!(shown(new), ["content-security-policy", "x-powered-by"]);
    let back = report(new, old);
    assert_eq!(back.new_access, [], "{back:#?}");
    assert_eq!(kinds(&back.removed_access), kinds(&r.new_access));
    // A header removed that protects nothing, no longer removed: new access.
    let kept = old.replace("    remove x-powered-by\n", "");
    let r = report(old, &kept);
    assert_eq!(
        kinds(&r.new_access),
        [(Kind::Header, "remove x-powered-by".to_string())],
        "{r:#?}"
    );
}

/// A CSP a route starts to enforce where OLD enforced none replaces the application's own: a
/// strict one is no new access; each grant dangerous on its own is, after fallback (CSP Level
/// 3), at the line supplying it; one only pre-CSP3 browsers honour is legacy.
#[test]
fn a_newly_enforced_csp_is_judged_by_what_it_lets_through_on_its_own() {
    let old = "route \"/app/*\" { }\n";
    // The CSP, with each error the checker finds in it accepted by name after its lines.
    let with = |csp: &str| {
        let text =
            |extra: &str| format!("csp c {{\n{csp}{extra}}}\nroute \"/app/*\" {{ csp c }}\n");
        let c = Compilation::from_str("p.policy", &text(""));
        let mut extra = String::new();
        for d in c.diagnostics() {
            if d.severity == guestlist_compiler::Severity::Error {
                extra.push_str(&format!("    dangerously-allow {} \"a test\"\n", d.code));
            }
        }
        text(&extra)
    };
    let new_access = |csp: &str| {
        let new = with(csp);
        let r = report(old, &new);
        // The CSP dropped again: those grants removed (and the CSP gone is new access).
        let back = report(&new, old);
        assert_eq!(kinds(&back.removed_access), kinds(&r.new_access), "{csp}");
        r.new_access
    };
    for strict in [
        "    default-src 'self'\n    object-src 'none'\n    base-uri 'none'\n",
        "    default-src 'self' https://cdn.example\n    img-src 'self' data:\n    style-src 'self' 'unsafe-inline'\n    object-src 'none'\n",
        "    script-src 'nonce' 'strict-dynamic'\n    object-src 'none'\n    base-uri 'self'\n",
    ] {
        assert_eq!(new_access(strict), [], "{strict}");
    }
    let cases: &[(&str, &[(&str, usize)])] = &[
        (
            "    default-src 'self'\n    script-src 'self' 'unsafe-inline' 'unsafe-eval' https:\n    object-src 'none'\n",
            &[
                ("script-src 'unsafe-inline'", 3),
                ("script-src 'unsafe-eval'", 3),
                ("script-src https:", 3),
            ],
        ),
        (
            "    default-src 'self'\n    object-src data:\n",
            &[("object-src data:", 3)],
        ),
        (
            "    script-src 'self'\n    base-uri *\n",
            &[("object-src unrestricted", 1), ("base-uri *", 3)],
        ),
        (
            "    frame-ancestors 'none'\n",
            &[
                ("script-src-elem unrestricted", 1),
                ("script-src-attr unrestricted", 1),
                ("worker-src unrestricted", 1),
                ("object-src unrestricted", 1),
            ],
        ),
        (
            "    default-src 'self'\n    script-src 'nonce'\n    object-src 'none'\n",
            &[("base-uri unrestricted", 1)],
        ),
    ];
    for (csp, want) in cases {
        let got = new_access(csp);
        let mut got: Vec<(String, usize, bool)> = got
            .iter()
            .map(|f| {
                assert_eq!(f.kind, Kind::Csp, "{f:#?}");
                (f.subject.clone(), f.line, f.legacy)
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, usize, bool)> = want
            .iter()
            .map(|(s, l)| (s.to_string(), *l, false))
            .collect();
        want.sort();
        assert_eq!(got, want, "{csp}");
    }
    // Fallbacks for browsers without CSP Level 3, beside a nonce and 'strict-dynamic': legacy
    // grants, which do not fail the diff.
    let legacy = "    script-src 'nonce' 'strict-dynamic' https: 'unsafe-inline'\n    object-src 'none'\n    base-uri 'none'\n";
    let new = with(legacy);
    let r = report(old, &new);
    let mut got: Vec<(String, bool)> = r
        .new_access
        .iter()
        .map(|f| (f.subject.clone(), f.legacy))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("script-src 'unsafe-inline'".to_string(), true),
            ("script-src https:".to_string(), true)
        ]
    );
    assert!(!r.has_new_access());
}

#[test]
fn containment_is_exact() {
    // An origin an existing pattern covers, a safelisted method, a header the wildcard covers,
    // an exemption a wider one covers, a route a prefix with the same policies covers.
    for (from, to) in [
        (
            "allow-origins \"https://app.example.com\" partners",
            "allow-origins \"https://app.example.com\" \"https://a.b.partner.example\" partners",
        ),
        ("allow-methods PUT", "allow-methods PUT GET POST"),
        (
            "    exempt POST \"/api/webhooks/*\"\n",
            "    exempt POST \"/api/webhooks/*\"\n    exempt POST \"/api/webhooks/github\"\n",
        ),
        (
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live }\nroute \"/api/v2/*\" { cors api; csrf forms; headers strict; csp site }",
        ),
        (
            "    script-src 'self' 'nonce'\n",
            "    script-src 'self' 'nonce' 'self'\n",
        ),
    ] {
        let r = report(BASE, &edit(from, to));
        assert_eq!(r.new_access, [], "{to}");
    }
}

/// A CSP source already covered by one of OLD's (CSP Level 3 URL matching: paths, ports,
/// scheme upgrades, host wildcards) is no new access; the wider one is.
#[test]
fn csp_sources_are_compared_by_csp3_url_matching() {
    let with = |sources: &str| {
        edit(
            "    default-src 'self'\n",
            &format!("    default-src 'self'\n    img-src 'self' {sources}\n"),
        )
    };
    for (old, new) in [
        ("https://cdn.example", "https://cdn.example/js/app.js"),
        ("https://cdn.example/js/", "https://cdn.example/js/app.js"),
        ("https://cdn.example:*", "https://cdn.example:8443"),
        ("http://cdn.example", "https://cdn.example"),
        ("https://*.example", "https://cdn.example"),
        ("https:", "https://cdn.example"),
    ] {
        let r = report(&with(old), &with(&format!("{old} {new}")));
        assert_eq!(r.new_access, [], "{old} then {new}");
        let r = report(&with(new), &with(&format!("{new} {old}")));
        assert_eq!(
            kinds(&r.new_access),
            [(Kind::Csp, format!("img-src {old}"))],
            "{new} then {old}"
        );
    }
}

#[test]
fn a_grant_only_pre_csp3_browsers_honour_is_legacy_and_does_not_fail() {
    let r = report(
        BASE,
        &edit(
            "script-src 'self' 'nonce'",
            "script-src 'self' 'nonce' 'unsafe-inline'",
        ),
    );
    assert_eq!(
        kinds(&r.new_access),
        [(Kind::Csp, "script-src 'unsafe-inline'".to_string())]
    );
    assert!(r.new_access.iter().all(|f| f.legacy));
    assert!(!r.has_new_access());
}

#[test]
fn a_removal_widening_through_a_fallback_is_anchored_to_the_surviving_line() {
    // object-src falls back to default-src 'self'.
    let new = edit("    object-src 'none'\n", "");
    let r = report(BASE, &new);
    let f = r
        .new_access
        .iter()
        .find(|f| f.subject == "default-src 'self'")
        .unwrap_or_else(|| panic!("{:#?}", r.new_access));
    let line = new.lines().nth(f.line - 1).unwrap();
    assert!(line.contains("default-src 'self'"), "{line}");
}

#[test]
fn grants_no_route_reaches_are_latent() {
    let r = report(
        BASE,
        &edit(
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live }\norigins spare {\n    \"https://spare.example\"\n}\ncors later {\n    allow-origins \"https://later.example\"\n}",
        ),
    );
    let got: Vec<(Kind, String, bool)> = r
        .new_access
        .iter()
        .map(|f| (f.kind, f.subject.clone(), f.latent))
        .collect();
    assert_eq!(
        got,
        [
            (Kind::CorsOrigin, "https://later.example".to_string(), true),
            (Kind::CorsOrigin, "https://spare.example".to_string(), true),
        ]
    );
    let r = report(
        BASE,
        &edit(
            "route \"/live\" { websocket live }",
            "route \"/live\" { websocket live }\nwebsocket later {\n    allow-origins \"https://chat.example\"\n}\ncsrf spare {\n    trusted-origins \"https://sso.example\"\n}",
        ),
    );
    let got: Vec<(Kind, String, bool)> = r
        .new_access
        .iter()
        .map(|f| (f.kind, f.subject.clone(), f.latent))
        .collect();
    assert_eq!(
        got,
        [
            (
                Kind::WebsocketOrigin,
                "https://chat.example".to_string(),
                true
            ),
            (Kind::CsrfTrusted, "https://sso.example".to_string(), true),
        ]
    );
    let r = report(
        BASE,
        &edit(
            "    exempt POST \"/api/webhooks/*\"\n",
            "    exempt POST \"/api/webhooks/*\"\n    exempt POST \"/hooks/*\"\n",
        ),
    );
    assert_eq!(r.new_access.len(), 1, "{:#?}", r.new_access);
    assert!(r
        .new_access
        .iter()
        .all(|f| f.latent && f.kind == Kind::CsrfExemption));
    assert!(r.has_new_access());
}

#[test]
fn hosts_are_compared_per_host_pattern() {
    let old = "cors api {\n    allow-origins \"https://app.example.com\"\n}\nhost \"api.example.com\" {\n    route \"/api/*\" { cors api }\n}\nroute \"/*\" { headers default }\n";
    let new = "cors api {\n    allow-origins \"https://app.example.com\" \"https://new.example\"\n}\nhost \"api.example.com\" {\n    route \"/api/*\" { cors api }\n}\nroute \"/*\" { headers default }\nhosts dispatched-by-application\n";
    let r = report(old, new);
    let got: Vec<(Kind, Option<String>)> = r
        .new_access
        .iter()
        .map(|f| (f.kind, f.host.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (Kind::Host, None),
            // Top-level requests for /api/* were decided under the host block's cors policy
            // too (which refused every origin there): the application's headers now pass.
            (Kind::CorsUnguarded, None),
            (Kind::CorsOrigin, Some("api.example.com".to_string())),
        ],
        "{:#?}",
        r.new_access
    );
}

/// A request is decided under every host block's route for its path (spec/language.md,
/// section 6a): a guard one block's route loses is lost on every host, and a grant another
/// block's route refuses is no grant.
#[test]
fn host_blocks_are_compared_as_the_runtime_decides_them() {
    let base = "cors c1 {\n    allow-origins \"https://a.example\"\n}\ncors c2 {\n    allow-origins \"https://a.example\"\n}\ncsrf f {\n}\nhost \"one.example.com\" {\n    route \"/api/*\" { cors c1; csrf f }\n}\nhost \"two.example.com\" {\n    route \"/api/*\" { cors c2 }\n}\n";
    // Removing the csrf guard from block one unguards /api/* on every host.
    let r = report(base, &base.replace("cors c1; csrf f", "cors c1"));
    let mut got: Vec<(Kind, Option<String>)> = r
        .new_access
        .iter()
        .map(|f| (f.kind, f.host.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (Kind::CsrfRemoved, None),
            (Kind::CsrfRemoved, Some("one.example.com".to_string())),
            (Kind::CsrfRemoved, Some("two.example.com".to_string())),
        ],
        "{:#?}",
        r.new_access
    );
    let w = r.new_access[2].witness.as_ref().unwrap();
    assert!(w
        .headers
        .contains(&("Host".to_string(), "two.example.com".to_string())));
    // An origin one block's cors policy adds is refused on every host while the other block's
    // does not allow it (hosts-disagree): nothing is granted.
    let wider = base.replace(
        "cors c1 {\n    allow-origins \"https://a.example\"",
        "cors c1 {\n    allow-origins \"https://a.example\" \"https://b.example\"",
    );
    let r = report(base, &wider);
    assert_eq!(r.new_access, [], "{wider}");
    // Once both allow it, it is granted on both hosts (not at the top level, which has no
    // cors policy for /api/* of its own).
    let both = wider.replace(
        "cors c2 {\n    allow-origins \"https://a.example\"",
        "cors c2 {\n    allow-origins \"https://a.example\" \"https://b.example\"",
    );
    let r = report(base, &both);
    let mut got: Vec<(Kind, String, Option<String>)> = r
        .new_access
        .iter()
        .map(|f| (f.kind, f.subject.clone(), f.host.clone()))
        .collect();
    got.sort();
    let b = "https://b.example".to_string();
    assert_eq!(
        got,
        [
            (
                Kind::CorsOrigin,
                b.clone(),
                Some("one.example.com".to_string())
            ),
            (
                Kind::CorsOrigin,
                b.clone(),
                Some("two.example.com".to_string())
            ),
        ],
        "{:#?}",
        r.new_access
    );
    // Dispatched by the application, block one's guard is its own again: one host loses it.
    let dispatched = format!("{base}hosts dispatched-by-application\n");
    let r = report(
        &dispatched,
        &dispatched.replace("cors c1; csrf f", "cors c1"),
    );
    let got: Vec<(Kind, Option<String>)> = r
        .new_access
        .iter()
        .map(|f| (f.kind, f.host.clone()))
        .collect();
    assert_eq!(
        got,
        [(Kind::CsrfRemoved, Some("one.example.com".to_string()))],
        "{:#?}",
        r.new_access
    );
}

/// Under `paths { non-normal two-readings }` a path with two readings is decided under both
/// readings' routes, no looser than either (spec/language.md, "Path forms"), so a grant it
/// reaches is a grant of one reading's route, which a structurally normal witness shows.
#[test]
fn a_grant_through_a_second_reading_is_reported_at_that_readings_route() {
    let old = "cors c {\n    allow-origins \"https://a.example\"\n}\ncors d {\n    allow-origins \"https://a.example\" \"https://b.example\"\n}\nroute \"/a/*\" { cors c }\npaths { non-normal two-readings }\n";
    // A new route whose pattern covers the normalised reading of a path under /a/*.
    let new = old.replace(
        "route \"/a/*\" { cors c }",
        "route \"/a/*\" { cors c }\nroute \"/b/*\" { cors d }",
    );
    let (o, n) = (compile(old), compile(&new));
    let through = |c: &Compilation, origin: &str| {
        let l = c.lower("default").unwrap();
        let h = vec![("Origin".to_string(), origin.to_string())];
        guestlist_compiler::explain::explain(&l, "GET", "/a/x/../../b/y", &h)
            .unwrap()
            .kind
    };
    // The runtime: https://a.example now reads /a/x/../../b/y (both readings allow it);
    // https://b.example does not (the as-sent reading's /a/* refuses it).
    assert_ne!(
        through(&o, "https://a.example"),
        guestlist::Kind::ActualAllowed
    );
    assert_eq!(
        through(&n, "https://a.example"),
        guestlist::Kind::ActualAllowed
    );
    assert_eq!(
        through(&o, "https://b.example"),
        through(&n, "https://b.example")
    );
    let r = report(old, &new);
    let mut got: Vec<(Kind, String, Option<String>)> = r
        .new_access
        .iter()
        .map(|f| (f.kind, f.subject.clone(), f.route.clone()))
        .collect();
    got.sort();
    let b = Some("/b/*".to_string());
    assert_eq!(
        got,
        [
            (Kind::CorsOrigin, "https://a.example".to_string(), b.clone()),
            (Kind::CorsOrigin, "https://b.example".to_string(), b.clone()),
            (Kind::Route, "cors d".to_string(), b.clone()),
        ],
        "{:#?}",
        r.new_access
    );
    // The same origin's finding, decided on the two-readings path, shows the change too.
    let f = r
        .new_access
        .iter()
        .find(|f| f.subject == "https://a.example")
        .unwrap();
    let w = f.witness.as_ref().unwrap();
    assert!(w.path.starts_with("/b/"), "{w:?}");
}

#[test]
fn every_profile_is_compared_unless_one_is_named() {
    let old = "cors api {\n    allow-origins \"https://app.example.com\"\n}\nroute \"/api/*\" { cors api }\n";
    let new = "cors api {\n    allow-origins \"https://app.example.com\"\n    allow-origins \"http://localhost:3000\" when dev\n}\nroute \"/api/*\" { cors api }\n";
    let r = report(old, new);
    assert_eq!(r.profiles, ["default", "dev"]);
    assert_eq!(r.new_access.len(), 1);
    assert_eq!(r.new_access.first().unwrap().profile, "dev");
    let only = diff(&compile(old), &compile(new), Some("default")).unwrap();
    assert_eq!(only.new_access, []);
    assert!(diff(&compile(old), &compile(new), Some("nope")).is_err());
}

// ---------------------------------------------------------------------------------------------
// Properties over generated policies.

const ORIGINS: [&str; 6] = [
    "https://a.example",
    "https://b.example",
    "https://*.c.example",
    "https://x.c.example",
    "https://d.example:*",
    "https://e.example:8443",
];
const METHODS: [&str; 3] = ["PUT", "DELETE", "PATCH"];
const EXPOSE: [&str; 2] = ["X-Total", "X-Secret"];
const HEADERS: [&str; 3] = ["X-Api-Key", "X-Trace", "Authorization"];
const ROUTES: [&str; 5] = ["/api/*", "/api/admin/*", "/api/x", "/*", "/pub"];
const EXEMPT: [(&str, &str); 3] = [
    ("POST", "/api/hooks/*"),
    ("PUT", "/api/x"),
    ("POST", "/pub"),
];

#[derive(Debug, Clone)]
struct CorsGen {
    origins: Vec<usize>,
    methods: Vec<usize>,
    headers: Vec<usize>,
    credentials: bool,
    max_age: Option<u32>,
    expose: Vec<usize>,
}

#[derive(Debug, Clone)]
struct PolicyGen {
    cors: [CorsGen; 2],
    exempt: Vec<usize>,
    same_site: bool,
    reject_missing: bool,
    trusted: Vec<usize>,
    /// Per route: (present, cors 0/1/none, csrf).
    routes: Vec<(bool, Option<usize>, bool)>,
    /// Per route: a CSP of `CSPS` and a header set of `HEADER_SETS`, or none.
    guards: Vec<(Option<usize>, Option<usize>)>,
    /// The origins of websocket policy `w` (of `ORIGINS`), and per route whether it uses it.
    ws: Vec<usize>,
    ws_routes: Vec<bool>,
}

/// CSP blocks the generated policies choose from (valid alone).
const CSPS: [&str; 4] = [
    "default-src 'self'\n    object-src 'none'\n    base-uri 'none'",
    "default-src 'self' https://cdn.example\n    object-src 'none'\n    base-uri 'none'",
    "default-src 'none'\n    img-src 'self' data:\n    base-uri 'self'\n    frame-ancestors 'none'",
    "report-only\n    default-src 'self'\n    object-src 'none'\n    base-uri 'none'",
];

/// Header sets the generated policies choose from (the last removes the application's own
/// protective headers).
const HEADER_SETS: [&str; 4] = [
    "include default",
    "include default\n    x-frame-options DENY\n    strict-transport-security max-age=600",
    "referrer-policy strict-origin-when-cross-origin\n    cross-origin-opener-policy unsafe-none",
    "x-content-type-options nosniff\n    remove content-security-policy x-frame-options",
];

fn subset(n: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::btree_set(0..n, 0..=n).prop_map(|s| s.into_iter().collect())
}

fn cors_gen() -> impl Strategy<Value = CorsGen> {
    (
        proptest::collection::btree_set(0..ORIGINS.len(), 1..=3),
        subset(METHODS.len()),
        subset(HEADERS.len()),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![60u32, 600, 7200])),
        subset(EXPOSE.len()),
    )
        .prop_map(
            |(o, methods, headers, credentials, max_age, expose)| CorsGen {
                origins: o.into_iter().collect(),
                methods,
                headers,
                credentials,
                max_age,
                expose,
            },
        )
}

fn policy_gen() -> impl Strategy<Value = PolicyGen> {
    (
        cors_gen(),
        cors_gen(),
        subset(EXEMPT.len()),
        any::<bool>(),
        any::<bool>(),
        subset(2),
        proptest::collection::vec(
            (any::<bool>(), prop::option::of(0usize..2), any::<bool>()),
            ROUTES.len(),
        ),
        proptest::collection::vec(
            (
                prop::option::of(0..CSPS.len()),
                prop::option::of(0..HEADER_SETS.len()),
            ),
            ROUTES.len(),
        ),
        // Exact origins only: `ORIGINS` 0, 1, 3 and 5.
        proptest::collection::btree_set(prop::sample::select(vec![0usize, 1, 3, 5]), 1..=2),
        proptest::collection::vec(any::<bool>(), ROUTES.len()),
    )
        .prop_map(
            |(
                c0,
                c1,
                exempt,
                same_site,
                reject_missing,
                trusted,
                routes,
                guards,
                ws,
                ws_routes,
            )| {
                PolicyGen {
                    cors: [c0, c1],
                    exempt,
                    same_site,
                    reject_missing,
                    trusted,
                    routes,
                    guards,
                    ws: ws.into_iter().collect(),
                    ws_routes,
                }
            },
        )
}

impl PolicyGen {
    fn text(&self) -> String {
        let mut s = String::new();
        for (i, c) in self.cors.iter().enumerate() {
            s.push_str(&format!("cors c{i} {{\n"));
            for o in &c.origins {
                s.push_str(&format!("    allow-origins \"{}\"\n", ORIGINS[*o]));
            }
            if !c.methods.is_empty() {
                let m: Vec<&str> = c.methods.iter().map(|m| METHODS[*m]).collect();
                s.push_str(&format!("    allow-methods {}\n", m.join(" ")));
            }
            if !c.headers.is_empty() {
                let h: Vec<&str> = c.headers.iter().map(|h| HEADERS[*h]).collect();
                s.push_str(&format!("    allow-headers {}\n", h.join(" ")));
            }
            if c.credentials {
                s.push_str("    allow-credentials true\n");
            }
            if let Some(a) = c.max_age {
                s.push_str(&format!("    max-age {a}\n"));
            }
            if !c.expose.is_empty() {
                let e: Vec<&str> = c.expose.iter().map(|e| EXPOSE[*e]).collect();
                s.push_str(&format!("    expose-headers {}\n", e.join(" ")));
            }
            s.push_str("}\n");
        }
        s.push_str("websocket w {\n");
        for o in &self.ws {
            s.push_str(&format!("    allow-origins \"{}\"\n", ORIGINS[*o]));
        }
        s.push_str("}\n");
        s.push_str("csrf f {\n");
        for e in &self.exempt {
            let (m, p) = EXEMPT[*e];
            s.push_str(&format!("    exempt {m} \"{p}\"\n"));
        }
        if self.same_site {
            s.push_str("    same-site allow\n");
        }
        if self.reject_missing {
            s.push_str("    missing-headers reject\n");
        }
        for t in &self.trusted {
            s.push_str(&format!("    trusted-origins \"{}\"\n", ORIGINS[*t]));
        }
        s.push_str("}\n");
        for (i, text) in CSPS.iter().enumerate() {
            s.push_str(&format!("csp p{i} {{\n    {text}\n}}\n"));
        }
        for (i, text) in HEADER_SETS.iter().enumerate() {
            s.push_str(&format!("headers h{i} {{\n    {text}\n}}\n"));
        }
        for (i, (present, cors, csrf)) in self.routes.iter().enumerate() {
            if !present {
                continue;
            }
            let mut lines = Vec::new();
            let (csp, headers) = self.guards[i];
            if let Some(c) = csp {
                lines.push(format!("csp p{c}"));
            }
            if let Some(h) = headers {
                lines.push(format!("headers h{h}"));
            }
            if let Some(c) = cors {
                lines.push(format!("cors c{c}"));
            }
            if *csrf {
                lines.push("csrf f".to_string());
            }
            if self.ws_routes[i] {
                lines.push("websocket w".to_string());
            }
            s.push_str(&format!(
                "route \"{}\" {{ {} }}\n",
                ROUTES[i],
                lines.join("; ")
            ));
        }
        s
    }
}

/// Host patterns of the generated host blocks, and the routes a block may have.
const HOSTS: [&str; 2] = ["one.example.com", "*.two.example.com"];
const HOST_ROUTES: [&str; 3] = ["/api/*", "/api/x", "/pub"];

/// A generated route: (present, cors policy, csrf).
type RouteGen = (bool, Option<usize>, bool);

/// A probe request: the host key it is sent to, method, path and headers.
type Probe = (Option<String>, String, String, Vec<(String, String)>);

/// A generated policy with host blocks, a token check, a supplied set and a path form.
#[derive(Debug, Clone)]
struct HostedGen {
    base: PolicyGen,
    /// Per host pattern: present, and per route of `HOST_ROUTES`: (present, cors, csrf).
    hosts: Vec<(bool, Vec<RouteGen>)>,
    dispatched: bool,
    token: bool,
    /// Cors policy 0 names the supplied set `sup`.
    provided: bool,
    two_readings: bool,
}

fn hosted_gen() -> impl Strategy<Value = HostedGen> {
    let block = (
        any::<bool>(),
        proptest::collection::vec(
            (any::<bool>(), prop::option::of(0usize..2), any::<bool>()),
            HOST_ROUTES.len(),
        ),
    );
    (
        policy_gen(),
        proptest::collection::vec(block, HOSTS.len()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(base, hosts, dispatched, token, provided, two_readings)| HostedGen {
                base,
                hosts,
                dispatched,
                token,
                provided,
                two_readings,
            },
        )
}

impl HostedGen {
    fn text(&self) -> String {
        let mut s = self.base.text();
        if self.token {
            s = s.replacen(
                "csrf f {\n",
                "csrf f {\n    token bind-to cookie \"session\"\n",
                1,
            );
        }
        if self.provided {
            s = s.replacen("cors c0 {\n", "cors c0 {\n    allow-origins sup\n", 1);
            s.push_str("origins sup provided\n");
        }
        for (pattern, (present, routes)) in HOSTS.iter().zip(&self.hosts) {
            if !present {
                continue;
            }
            s.push_str(&format!("host \"{pattern}\" {{\n"));
            for (route, (on, cors, csrf)) in HOST_ROUTES.iter().zip(routes) {
                if !on {
                    continue;
                }
                let mut lines = Vec::new();
                if let Some(c) = cors {
                    lines.push(format!("cors c{c}"));
                }
                if *csrf {
                    lines.push("csrf f".to_string());
                }
                s.push_str(&format!(
                    "    route \"{route}\" {{ {} }}\n",
                    lines.join("; ")
                ));
            }
            s.push_str("}\n");
        }
        if self.dispatched {
            s.push_str("hosts dispatched-by-application\n");
        }
        if self.two_readings {
            s.push_str("paths { non-normal two-readings }\n");
        }
        s
    }
}

/// What `explain` answers to a probe (kind, reason, status, headers).
fn probe_answer(c: &Compilation, method: &str, path: &str, headers: &[(String, String)]) -> String {
    let l = c.lower("default").unwrap();
    let e = guestlist_compiler::explain::explain(&l, method, path, headers).unwrap();
    format!(
        "{:?} {:?} {:?} removed {:?}",
        e.kind, e.status, e.headers, e.removed
    )
}

/// Requests on each host (none, an instance of each pattern) and route path: a read and a
/// preflight from an origin, a cross-site and a same-origin POST, a WebSocket handshake.
fn probes() -> Vec<Probe> {
    let mut out = Vec::new();
    let hosts = [None, Some("one.example.com"), Some("x.two.example.com")];
    let paths = [
        "/api/zz-probe",
        "/api/x",
        "/api/admin/zz-probe",
        "/pub",
        "/zz-probe",
    ];
    for host in hosts {
        for path in paths {
            let with = |h: &[(&str, &str)]| -> Vec<(String, String)> {
                host.map(|a| ("Host".to_string(), a.to_string()))
                    .into_iter()
                    .chain(h.iter().map(|(n, v)| (n.to_string(), v.to_string())))
                    .collect()
            };
            let key = host.map(str::to_string);
            for o in [
                "https://a.example",
                "https://zz.c.example",
                "https://d.example:444",
            ] {
                out.push((
                    key.clone(),
                    "GET".into(),
                    path.into(),
                    with(&[("Origin", o)]),
                ));
                out.push((
                    key.clone(),
                    "OPTIONS".into(),
                    path.into(),
                    with(&[("Origin", o), ("Access-Control-Request-Method", "PUT")]),
                ));
            }
            out.push((
                key.clone(),
                "POST".into(),
                path.into(),
                with(&[
                    ("Origin", "https://zz.invalid"),
                    ("Sec-Fetch-Site", "cross-site"),
                ]),
            ));
            out.push((
                key.clone(),
                "POST".into(),
                path.into(),
                with(&[("Sec-Fetch-Site", "same-origin")]),
            ));
        }
    }
    out
}

fn try_compile(text: &str) -> Option<Compilation> {
    let c = Compilation::from_str("p.policy", text);
    (!c.has_errors()).then_some(c)
}

/// A path the route pattern serves and no more specific pattern of `ROUTES` takes.
fn probe_path(pattern: &str) -> String {
    match pattern.strip_suffix('*') {
        Some(prefix) => format!("{prefix}zz-probe"),
        None => pattern.to_string(),
    }
}

/// The seed of every property here, unless `PROPTEST_RNG_SEED` names another: a run is
/// reproducible.
const SEED: u64 = 0x6469_6666_2d67_6c23;

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

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_policy_against_itself_is_empty(p in policy_gen()) {
        let Some(c) = try_compile(&p.text()) else { return Ok(()) };
        let r = diff(&c, &c, None).unwrap();
        prop_assert_eq!(r.new_access, vec![]);
        prop_assert_eq!(r.removed_access, vec![]);
    }

    /// Adding an origin to a cors policy is reported exactly when some route using that policy
    /// did not allow it already (the runtime decides), and nothing else is reported.
    #[test]
    fn adding_an_origin_is_reported_exactly_when_it_is_new(
        p in policy_gen(),
        which in 0usize..2,
        add in 0usize..ORIGINS.len(),
    ) {
        let Some(old) = try_compile(&p.text()) else { return Ok(()) };
        let mut q = p.clone();
        if q.cors[which].origins.contains(&add) { return Ok(()) }
        q.cors[which].origins.push(add);
        let Some(new) = try_compile(&q.text()) else { return Ok(()) };
        let r = diff(&old, &new, None).unwrap();
        check_witnesses(&old, &new, &r);
        let origin = ORIGINS[add];
        // The oracle: the old policy's own decision on an instance of the entry, on each
        // route that uses the cors policy.
        let instance = origin.replace("*.", "zz-probe.").replace(":*", "");
        let lowered = old.lower("default").unwrap();
        let used: Vec<&str> = p.routes.iter().enumerate()
            .filter(|(_, (present, cors, _))| *present && *cors == Some(which))
            .map(|(i, _)| ROUTES[i]).collect();
        let widened = used.iter().any(|route| {
            let h = [("Origin", instance.as_str())];
            let d = lowered.policy.decide("GET", &probe_path(route), &h[..]);
            d.kind != guestlist::Kind::ActualAllowed
        }) || (origin.ends_with(":*") && used.iter().any(|route| {
            let with_port = format!("{instance}:47913");
            let h = [("Origin", with_port.as_str())];
            lowered.policy.decide("GET", &probe_path(route), &h[..]).kind != guestlist::Kind::ActualAllowed
        }));
        let unused = used.is_empty();
        // A policy no route uses: its own table decides (a latent grant).
        let name = format!("c{which}");
        let table = lowered.policy.cors_policies().iter().find(|c| c.name() == name).unwrap();
        let latent_new = unused && [instance.clone(), format!("{instance}:47913")]
            .iter()
            .take(if origin.ends_with(":*") { 2 } else { 1 })
            .any(|o| table.match_origin(o.as_bytes()).is_none());
        let reported = r.new_access.iter().any(|f| f.kind == Kind::CorsOrigin && f.subject == origin);
        prop_assert_eq!(reported, widened || latent_new, "{:#?}\n{}", r.new_access, q.text());
        prop_assert!(r.new_access.iter().all(|f| f.subject == origin), "{:#?}", r.new_access);
        prop_assert!(r.new_access.iter().all(|f| f.latent == unused));
    }

    /// Removing an entry (origin, method, header, exemption, trusted origin, a route's cors or
    /// csrf line is not an entry) is never new access.
    #[test]
    fn removing_an_entry_is_never_new_access(p in policy_gen(), pick in 0usize..6, k in 0usize..8) {
        let Some(old) = try_compile(&p.text()) else { return Ok(()) };
        let mut q = p.clone();
        let cut = |v: &mut Vec<usize>| if !v.is_empty() { let i = k % v.len(); v.remove(i); };
        match pick {
            0 => { if q.cors[k % 2].origins.len() > 1 { cut(&mut q.cors[k % 2].origins) } }
            1 => cut(&mut q.cors[k % 2].methods),
            2 => cut(&mut q.cors[k % 2].headers),
            3 => cut(&mut q.exempt),
            4 => cut(&mut q.trusted),
            _ => q.cors[k % 2].credentials = false,
        }
        let Some(new) = try_compile(&q.text()) else { return Ok(()) };
        let r = diff(&old, &new, None).unwrap();
        check_witnesses(&old, &new, &r);
        prop_assert_eq!(r.new_access.clone(), vec![], "{}", q.text());
        // And the other way round, it is new access unless it was covered.
        let back = diff(&new, &old, None).unwrap();
        prop_assert_eq!(kinds(&back.new_access), kinds(&r.removed_access));
    }

    /// Any two generated policies: every finding's witness shows the change.
    #[test]
    fn every_witness_shows_the_change(p in policy_gen(), q in policy_gen()) {
        let (Some(old), Some(new)) = (try_compile(&p.text()), try_compile(&q.text())) else {
            return Ok(())
        };
        let r = diff(&old, &new, None).unwrap();
        check_witnesses(&old, &new, &r);
    }
}

/// Paths with two readings whose as-sent reading is under one route pattern of `ROUTES` and
/// whose normalised reading is under another.
const TWO_READINGS: [&str; 6] = [
    "/api/zz/../../pub",
    "/pub/../api/x",
    "/api/admin/zz/../../x",
    "/api/x/../admin/zz",
    "/zz/../api/admin/zz",
    "/api/zz/%2e%2e/x",
];

proptest! {
    #![proptest_config(config(64))]

    /// Two generated policies that both decide paths with two readings: an origin NEW lets
    /// read such a path and OLD does not is reported (cors-origin, route or cors-unguarded)
    /// on the route one of its readings selects in NEW, with a structurally normal witness.
    #[test]
    fn a_grant_through_two_readings_is_reported_on_a_readings_route(p in policy_gen(), q in policy_gen()) {
        let two = "paths { non-normal two-readings }\n";
        let (Some(old), Some(new)) = (
            try_compile(&format!("{}{two}", p.text())),
            try_compile(&format!("{}{two}", q.text())),
        ) else {
            return Ok(())
        };
        let r = diff(&old, &new, None).unwrap();
        check_witnesses(&old, &new, &r);
        let (lo, ln) = (old.lower("default").unwrap(), new.lower("default").unwrap());
        for path in TWO_READINGS {
            for origin in ["https://a.example", "https://zz.c.example", "https://d.example:444", "https://e.example:8443"] {
                let h = vec![("Origin".to_string(), origin.to_string())];
                let eo = guestlist_compiler::explain::explain(&lo, "GET", path, &h).unwrap();
                let en = guestlist_compiler::explain::explain(&ln, "GET", path, &h).unwrap();
                if en.kind != guestlist::Kind::ActualAllowed || eo.kind == guestlist::Kind::ActualAllowed {
                    continue;
                }
                let routes: Vec<String> = en.readings.iter().filter_map(|x| x.route.clone()).collect();
                prop_assert!(
                    r.new_access.iter().any(|f| {
                        matches!(f.kind, Kind::CorsOrigin | Kind::Route | Kind::CorsUnguarded)
                            && f.route.as_ref().is_some_and(|x| routes.contains(x))
                            && f.witness.as_ref().is_some_and(|w| !w.path.contains(".."))
                    }),
                    "{origin} reads {path} in NEW only, unreported\nOLD:\n{}\nNEW:\n{}\n{:#?}",
                    p.text(), q.text(), r.new_access
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    /// Generated policies with host blocks (their routes decide every host's requests for
    /// their paths), token checks, a supplied set and path forms: against itself no change;
    /// between two, every finding that is not latent has a witness that `explain` decides
    /// differently on OLD and NEW, and a probe request `explain` decides differently is
    /// covered by a finding on its host (or a policy-wide one).
    #[test]
    fn host_blocks_are_diffed_as_the_runtime_decides(p in hosted_gen(), q in hosted_gen()) {
        let (Some(old), Some(new)) = (try_compile(&p.text()), try_compile(&q.text())) else {
            return Ok(())
        };
        let same = diff(&old, &old, None).unwrap();
        prop_assert_eq!(same.new_access, vec![]);
        let r = diff(&old, &new, None).unwrap();
        check_witnesses(&old, &new, &r);
        let all: Vec<&Finding> = r.new_access.iter().chain(&r.removed_access).collect();
        for (host, method, path, headers) in probes() {
            if probe_answer(&old, &method, &path, &headers) == probe_answer(&new, &method, &path, &headers) {
                continue;
            }
            let key = host.as_deref().map(|h| if h.ends_with("two.example.com") { "*.two.example.com" } else { h });
            prop_assert!(
                all.iter().any(|f| f.host.is_none() || f.host.as_deref() == key),
                "{method} {path} {headers:?} differs and no finding covers it\nOLD:\n{}\nNEW:\n{}\n{:#?}",
                p.text(), q.text(), r
            );
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// In a region several host blocks' routes decide, comparing each side's selected route
    /// with every route of the other, and each other route with its own block's (or, without
    /// one, with every route), finds the grants comparing every pair of routes finds: the same
    /// (kind, host, subject, latent, legacy), new and removed. The route a finding names and
    /// its witness may differ: comparing every pair also names a grant after another block's
    /// route it was paired with, and the first pair to show a grant gives its finding.
    #[test]
    fn matched_route_pairs_find_what_every_pair_finds(p in hosted_gen(), q in hosted_gen()) {
        let (Some(old), Some(new)) = (try_compile(&p.text()), try_compile(&q.text())) else {
            return Ok(())
        };
        let fast = diff(&old, &new, None).unwrap();
        let every = diff_every_pair(&old, &new, None).unwrap();
        let grants = |items: &[Finding]| -> std::collections::BTreeSet<_> {
            items
                .iter()
                .map(|f| (f.kind, f.host.clone(), f.subject.clone(), f.latent, f.legacy))
                .collect()
        };
        prop_assert_eq!(
            grants(&fast.new_access),
            grants(&every.new_access),
            "new access\nOLD:\n{}\nNEW:\n{}", p.text(), q.text()
        );
        prop_assert_eq!(
            grants(&fast.removed_access),
            grants(&every.removed_access),
            "removed access\nOLD:\n{}\nNEW:\n{}", p.text(), q.text()
        );
    }
}

/// One edit of a generated policy: `(what, a, b)`, `a` and `b` picking the entry.
type Edit = (usize, usize, usize);

/// The number of kinds of edit [`apply`] knows.
const EDITS: usize = 23;

/// Applies edit `e` to `p`; the kinds of finding that report it (empty: any finding, new or
/// removed, for an edit that may both widen and narrow), or `None` when the edit changes
/// nothing in `p`.
fn apply(p: &mut HostedGen, (what, a, b): Edit) -> Option<Vec<Kind>> {
    let which = a % 2;
    let add = |v: &mut Vec<usize>, x: usize| (!v.contains(&x)).then(|| v.push(x));
    let set = |flag: &mut bool, to: bool| (*flag != to).then(|| *flag = to);
    let base = &mut p.base;
    let route = b % ROUTES.len();
    match what {
        0 => add(&mut base.cors[which].origins, b % ORIGINS.len())
            .map(|_| vec![Kind::CorsOrigin, Kind::CsrfTrusted]),
        1 => add(&mut base.cors[which].methods, b % METHODS.len()).map(|_| vec![Kind::CorsMethod]),
        2 => add(&mut base.cors[which].headers, b % HEADERS.len()).map(|_| vec![Kind::CorsHeader]),
        3 => add(&mut base.cors[which].expose, b % EXPOSE.len()).map(|_| vec![Kind::CorsExpose]),
        4 => {
            let c = &mut base.cors[which];
            (c.max_age.unwrap_or(5) < 7200).then(|| {
                c.max_age = Some(7200);
                vec![Kind::CorsMaxAge]
            })
        }
        5 => set(&mut base.cors[which].credentials, true).map(|_| vec![Kind::CorsCredentials]),
        6 => add(&mut base.ws, [0, 1, 3, 5][b % 4]).map(|_| vec![Kind::WebsocketOrigin]),
        7 => add(&mut base.exempt, b % EXEMPT.len()).map(|_| vec![Kind::CsrfExemption]),
        8 => add(&mut base.trusted, [0, 1, 3, 5][b % 4]).map(|_| vec![Kind::CsrfTrusted]),
        9 => set(&mut base.same_site, true).map(|_| vec![Kind::CsrfSetting]),
        10 => set(&mut base.reject_missing, false).map(|_| vec![Kind::CsrfSetting]),
        11 => set(&mut p.token, false).map(|_| vec![Kind::CsrfSetting]),
        12 => base.guards[route].1.take().map(|_| vec![Kind::Header]),
        13 => (base.guards[route].1 != Some(2)).then(|| {
            base.guards[route].1 = Some(2);
            vec![Kind::Header]
        }),
        14 => set(&mut base.routes[route].2, false).map(|_| vec![Kind::CsrfRemoved]),
        15 => base.routes[route]
            .1
            .take()
            .map(|_| vec![Kind::CorsUnguarded]),
        16 => set(&mut base.ws_routes[route], false).map(|_| vec![Kind::WebsocketOrigin]),
        // A route moving to (or gaining) the set that removes the application's own CSP and
        // X-Frame-Options.
        22 => (base.guards[route].1 != Some(3)).then(|| {
            base.guards[route].1 = Some(3);
            vec![Kind::Header]
        }),
        17 => set(&mut p.provided, true).map(|_| vec![Kind::Provided]),
        18 => {
            let r = &mut p.hosts[a % HOSTS.len()].1[b % HOST_ROUTES.len()];
            set(&mut r.2, false).map(|_| vec![Kind::CsrfRemoved])
        }
        // Edits that may widen one request and narrow another: a new route, a host block's
        // route or the block itself, `hosts dispatched-by-application`.
        19 => set(&mut base.routes[route].0, true).map(|_| vec![]),
        20 => {
            let block = &mut p.hosts[a % HOSTS.len()];
            let r = &mut block.1[b % HOST_ROUTES.len()];
            match (block.0, r.0) {
                (false, _) => set(&mut block.0, true),
                (true, false) => set(&mut r.0, true),
                (true, true) => set(&mut block.0, false),
            }
            .map(|_| vec![])
        }
        21 => set(&mut p.dispatched, true).map(|_| vec![]),
        _ => None,
    }
}

/// [`probes`], and the requests the other kinds of edit show in: preflights of each method and
/// request header, cross-site writes from each exact origin and to each exempt path, a
/// same-site write, one with neither `Sec-Fetch-Site` nor `Origin`, and WebSocket handshakes.
fn every_kind_probes() -> Vec<Probe> {
    let mut out = probes();
    let hosts = [None, Some("one.example.com"), Some("x.two.example.com")];
    let paths = [
        "/api/zz-probe",
        "/api/x",
        "/api/admin/zz-probe",
        "/pub",
        "/zz-probe",
        "/api/hooks/zz-probe",
    ];
    for host in hosts {
        let key = host.map(str::to_string);
        let with = |h: &[(&str, &str)]| -> Vec<(String, String)> {
            host.map(|a| ("Host".to_string(), a.to_string()))
                .into_iter()
                .chain(h.iter().map(|(n, v)| (n.to_string(), v.to_string())))
                .collect()
        };
        for path in paths {
            let mut push = |method: &str, h: &[(&str, &str)]| {
                out.push((key.clone(), method.to_string(), path.to_string(), with(h)));
            };
            for o in [
                "https://a.example",
                "https://b.example",
                "https://x.c.example",
                "https://e.example:8443",
                SUPPLIED,
            ] {
                for m in METHODS {
                    push(
                        "OPTIONS",
                        &[("Origin", o), ("Access-Control-Request-Method", m)],
                    );
                }
                for h in HEADERS {
                    push(
                        "OPTIONS",
                        &[
                            ("Origin", o),
                            ("Access-Control-Request-Method", "GET"),
                            ("Access-Control-Request-Headers", h),
                        ],
                    );
                }
                push("GET", &[("Origin", o)]);
                for m in ["POST", "PUT"] {
                    push(m, &[("Origin", o), ("Sec-Fetch-Site", "cross-site")]);
                }
                push(
                    "GET",
                    &[
                        ("Upgrade", "websocket"),
                        ("Connection", "Upgrade"),
                        ("Origin", o),
                    ],
                );
            }
            push(
                "PUT",
                &[
                    ("Origin", "https://zz.invalid"),
                    ("Sec-Fetch-Site", "cross-site"),
                ],
            );
            push(
                "POST",
                &[
                    ("Origin", "https://zz.example.com"),
                    ("Sec-Fetch-Site", "same-site"),
                ],
            );
            push("POST", &[]);
            push("GET", &[]);
        }
    }
    out
}

static PROBES: std::sync::LazyLock<Vec<Probe>> = std::sync::LazyLock::new(every_kind_probes);

proptest! {
    #![proptest_config(config(36))]

    /// A single edit of a generated policy with host blocks, of every kind of grant (origins,
    /// methods, request and exposed headers, max-age, credentials, WebSocket origins, CSRF
    /// exemptions, trusted origins and settings, security headers, a header set's removals,
    /// a route's guards, routes, host blocks): when a request is decided differently by OLD and NEW, the change is
    /// reported (for an edit that only widens, as new access of its kind), and every
    /// finding's witness is decided differently.
    #[test]
    fn every_kind_of_single_edit_the_runtime_shows_is_reported(
        p in hosted_gen(),
        a in 0usize..8,
        b in 0usize..8,
    ) {
        let Some(old) = try_compile(&p.text()) else { return Ok(()) };
        let before = answers(&old);
        for what in 0..EDITS {
            let edit = (what, a, b);
            let mut q = p.clone();
            let Some(kinds) = apply(&mut q, edit) else { continue };
            let Some(new) = try_compile(&q.text()) else { continue };
            let r = diff(&old, &new, None).unwrap();
            check_witnesses(&old, &new, &r);
            let after = answers(&new);
            let Some(k) = (0..PROBES.len()).find(|k| before[*k] != after[*k]) else { continue };
            let shown = &PROBES[k];
            if kinds.is_empty() {
                prop_assert!(
                    !r.new_access.is_empty() || !r.removed_access.is_empty(),
                    "edit {edit:?}: {shown:?} differs and nothing is reported\nOLD:\n{}\nNEW:\n{}",
                    p.text(), q.text()
                );
            } else {
                prop_assert!(
                    r.new_access.iter().any(|f| kinds.contains(&f.kind) && !f.latent),
                    "edit {edit:?}: {shown:?} differs and no new access of {kinds:?}\nOLD:\n{}\nNEW:\n{}\n{:#?}",
                    p.text(), q.text(), r
                );
            }
        }
    }
}

/// The origin the set supplied at run time `sup` holds when the probes are decided.
const SUPPLIED: &str = "https://s.example";

/// What `explain` answers to each of [`PROBES`] (status, or none when the application is
/// called, and the response headers but the reason: a refusal for another reason grants no
/// more), with `sup` holding [`SUPPLIED`] where the policy has it.
fn answers(c: &Compilation) -> Vec<String> {
    let l = c.lower("default").unwrap();
    if l.policy.provided_set("sup").is_some() {
        let entry = guestlist::SuppliedEntry {
            origin: SUPPLIED.to_string(),
            key: None,
        };
        l.policy.replace_provided("sup", [entry]).unwrap().unwrap();
    }
    PROBES
        .iter()
        .map(|(_, method, path, headers)| {
            let e = guestlist_compiler::explain::explain(&l, method, path, headers).unwrap();
            let headers: Vec<&(String, String)> = e
                .headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case(guestlist::REASON_HEADER))
                .collect();
            format!("{:?} {headers:?} removed {:?}", e.status, e.removed)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The command.

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guestlist"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = bin().current_dir(dir).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn exit_codes_and_formats() {
    let dir = support::tempdir("diff-cli");
    write(&dir, "old.policy", BASE);
    write(
        &dir,
        "new.policy",
        &edit("allow-methods PUT", "allow-methods PUT DELETE"),
    );
    write(&dir, "bad.policy", "route \"/x\" { cors nope }\n");
    let (code, out, _) = run_in(&dir, &["diff", "old.policy", "old.policy"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PASS: no new access"), "{out}");
    let (code, out, _) = run_in(&dir, &["diff", "old.policy", "new.policy"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("cors-method") && out.contains("new.policy:"),
        "{out}"
    );
    // Removed access only: exit 0.
    let (code, out, _) = run_in(&dir, &["diff", "new.policy", "old.policy"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with('-') && l.contains("cors-method")),
        "{out}"
    );
    // Errors in either side, an unreadable file, a bad profile: 2.
    for args in [
        &["diff", "old.policy", "bad.policy"][..],
        &["diff", "bad.policy", "old.policy"],
        &["diff", "old.policy", "missing.policy"],
        &["diff", "old.policy", "new.policy", "--profile", "nope"],
        &["diff", "old.policy"],
    ] {
        let (code, _, err) = run_in(&dir, args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    let (code, out, _) = run_in(
        &dir,
        &["diff", "old.policy", "new.policy", "--format", "json"],
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let item = &v["new_access"][0];
    assert_eq!(item["kind"], "cors-method");
    assert_eq!(item["route"], "/api/*");
    assert_eq!(item["host"], serde_json::Value::Null);
    assert_eq!(item["file"], "new.policy");
    assert_eq!(item["witness"]["method"], "OPTIONS");
    assert_eq!(item["latent"], false);
    assert_eq!(item["legacy"], false);
    let (_, md, _) = run_in(
        &dir,
        &["diff", "old.policy", "new.policy", "--format", "markdown"],
    );
    assert!(md.contains("| + | `cors-method` |"), "{md}");
    // Several entry files per side.
    write(
        &dir,
        "split-a.policy",
        "cors api {\n    allow-origins \"https://a.example\"\n}\n",
    );
    write(&dir, "split-b.policy", "route \"/api/*\" { cors api }\n");
    write(&dir, "one.policy", "cors api {\n    allow-origins \"https://a.example\" \"https://b.example\"\n}\nroute \"/api/*\" { cors api }\n");
    let (code, out, err) = run_in(
        &dir,
        &[
            "diff",
            "--old",
            "split-a.policy",
            "split-b.policy",
            "--new",
            "one.policy",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["new_access"][0]["subject"], "https://b.example");
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn a_side_read_from_git_with_its_imports_at_that_revision() {
    if support::require_tool("git").is_none() {
        return;
    }
    let dir = support::tempdir("diff-git");
    git(&dir, &["init", "-q"]);
    write(&dir, "policies/site.policy", "import \"origins.policy\"\ncors api {\n    allow-origins partners\n}\nroute \"/api/*\" { cors api }\n");
    write(
        &dir,
        "policies/origins.policy",
        "origins partners {\n    \"https://a.example\"\n}\n",
    );
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "one"]);
    // The working tree's import changes; HEAD's does not.
    write(
        &dir,
        "policies/origins.policy",
        "origins partners {\n    \"https://a.example\"\n    \"https://b.example\"\n}\n",
    );
    let (code, out, err) = run_in(
        &dir.join("policies"),
        &[
            "diff",
            "HEAD:policies/site.policy",
            "site.policy",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["new_access"][0]["subject"], "https://b.example", "{out}");
    assert_eq!(v["new_access"][0]["file"], "origins.policy");
    // Both sides from git; ./ is relative to the current directory, as git reads it.
    git(&dir, &["commit", "-qam", "two"]);
    let (code, out, err) = run_in(
        &dir.join("policies"),
        &["diff", "HEAD~1:./site.policy", "HEAD:policies/site.policy"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("HEAD:policies/origins.policy:3"), "{out}");
    // SARIF names the repository-relative path.
    let (_, sarif, _) = run_in(
        &dir,
        &[
            "diff",
            "HEAD~1:policies/site.policy",
            "HEAD:policies/site.policy",
            "--format",
            "sarif",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "policies/origins.policy"
    );
    // From a subdirectory: `REV:./PATH` is relative to it, and so is a file on disk; the uri is
    // repository-relative either way.
    let uri_of = |args: &[&str]| {
        let (code, sarif, err) = run_in(&dir.join("policies"), args);
        assert_eq!(code, 1, "{args:?}: {err}");
        let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        let results = v["runs"][0]["results"].as_array().unwrap().clone();
        assert!(!results.is_empty(), "{sarif}");
        results
            .iter()
            .map(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        uri_of(&[
            "diff",
            "HEAD~1:./site.policy",
            "HEAD:./site.policy",
            "--format",
            "sarif"
        ]),
        ["policies/origins.policy"]
    );
    assert_eq!(
        uri_of(&[
            "diff",
            "HEAD~1:../policies/site.policy",
            "HEAD:./site.policy",
            "--format",
            "sarif"
        ]),
        ["policies/origins.policy"]
    );
    write(
        &dir,
        "policies/origins.policy",
        "origins partners {\n    \"https://a.example\"\n    \"https://b.example\"\n    \"https://c.example\"\n}\n",
    );
    assert_eq!(
        uri_of(&[
            "diff",
            "HEAD:./site.policy",
            "site.policy",
            "--format",
            "sarif"
        ]),
        ["policies/origins.policy"]
    );
    let (code, _, err) = run_in(
        &dir,
        &[
            "diff",
            "nosuchrev:policies/site.policy",
            "policies/site.policy",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a git revision"), "{err}");
    let (code, _, err) = run_in(
        &dir,
        &["diff", "HEAD:policies/none.policy", "policies/site.policy"],
    );
    assert_eq!(code, 2, "{err}");
}

// ---------------------------------------------------------------------------------------------
// SARIF, validated offline.

fn sarif_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sarif")
}

#[test]
fn sarif_of_check_and_diff_is_valid_sarif_2_1_0_for_code_scanning() {
    let dir = support::tempdir("diff-sarif");
    write(&dir, "old.policy", BASE);
    write(
        &dir,
        "new.policy",
        &edit(
            "allow-methods PUT",
            "allow-methods PUT DELETE\n    allow-origins \"https://evil.example\"",
        ),
    );
    write(&dir, "warn.policy", "cors api {\n    allow-origins \"https://a.example\" \"https://a.example\"\n}\nroute \"/x\" { cors api }\nroute \"/y\" { cors nope }\n");
    let (code, diff_sarif, _) = run_in(
        &dir,
        &["diff", "old.policy", "new.policy", "--format", "sarif"],
    );
    assert_eq!(code, 1);
    let (code, check_sarif, _) = run_in(&dir, &["check", "warn.policy", "--format", "sarif"]);
    assert_eq!(code, 1);
    for (name, text) in [("diff.sarif", &diff_sarif), ("check.sarif", &check_sarif)] {
        write(&dir, name, text);
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let run = &v["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert!(!results.is_empty(), "{name}");
        for r in results {
            let id = r["ruleId"].as_str().unwrap();
            let index = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(run["tool"]["driver"]["rules"][index]["id"], id);
            assert!(r["partialFingerprints"]["primaryLocationLineHash"].is_string());
            let loc = &r["locations"][0]["physicalLocation"];
            assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        }
    }
    // Same input, same bytes.
    let (_, again, _) = run_in(
        &dir,
        &["diff", "old.policy", "new.policy", "--format", "sarif"],
    );
    assert_eq!(again, diff_sarif);
    validate_schema(&dir, &["diff.sarif", "check.sarif"]);
    multitool(&dir, &["diff.sarif", "check.sarif"]);
}

/// A heading's anchor as GitHub makes it (github-slugger): lowercase, every character but
/// letters, digits, `-`, `_` and spaces dropped, spaces made `-`; a repeated one gets `-N`.
fn slugs(markdown: &str) -> Vec<(String, String)> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for line in markdown.lines() {
        let Some(text) = line.trim_start_matches('#').strip_prefix(' ') else {
            continue;
        };
        if !line.starts_with('#') {
            continue;
        }
        let slug: String = text
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        let slug = if *n == 0 { slug } else { format!("{slug}-{n}") };
        *n += 1;
        out.push((line.to_string(), slug));
    }
    out
}

/// Every SARIF link is the workspace's `repository` URL and a spec file, with the anchor of
/// the heading that documents the rule; the anchors of diagnostics.md's headings are
/// generated from the file (`BLESS=1` rewrites them).
#[test]
fn sarif_links_come_from_the_repository_and_name_spec_headings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let spec = |f: &str| std::fs::read_to_string(root.join("spec").join(f)).unwrap();
    // The generated anchors of the diagnostic codes.
    let mut table = String::from("# DO NOT EDIT, generated by `BLESS=1 cargo test -p guestlist-compiler --all-features --test diff sarif_links`: the GitHub anchor of each code's heading in spec/diagnostics.md\n");
    for (line, slug) in slugs(&spec("diagnostics.md")) {
        if let Some(code) = line
            .strip_prefix("### ")
            .and_then(|l| l.split_once(':'))
            .map(|(c, _)| c)
        {
            table.push_str(&format!("{code} {slug}\n"));
        }
    }
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli/sarif_anchors.txt");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&file, &table).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        table,
        "stale: BLESS=1 to update"
    );
    // The logs of check and diff.
    let dir = support::tempdir("diff-sarif-links");
    write(&dir, "old.policy", BASE);
    write(
        &dir,
        "new.policy",
        &edit("allow-methods PUT", "allow-methods PUT DELETE"),
    );
    write(&dir, "warn.policy", "cors api {\n    allow-origins \"https://a.example\" \"https://a.example\"\n}\nroute \"/x\" { cors api }\n");
    let repo = env!("CARGO_PKG_REPOSITORY");
    let (_, diff_sarif, _) = run_in(
        &dir,
        &["diff", "old.policy", "new.policy", "--format", "sarif"],
    );
    let (_, check_sarif, _) = run_in(&dir, &["check", "warn.policy", "--format", "sarif"]);
    let mut checked = 0;
    for (doc, text) in [("diff.md", diff_sarif), ("diagnostics.md", check_sarif)] {
        let anchors: Vec<String> = slugs(&spec(doc)).into_iter().map(|(_, s)| s).collect();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let driver = &v["runs"][0]["tool"]["driver"];
        assert_eq!(driver["informationUri"], repo);
        for rule in driver["rules"].as_array().unwrap() {
            let uri = rule["helpUri"].as_str().unwrap();
            let prefix = format!("{repo}/blob/main/spec/{doc}#");
            let anchor = uri.strip_prefix(&prefix).unwrap_or_else(|| panic!("{uri}"));
            assert!(
                anchors.iter().any(|a| a == anchor),
                "{uri}: no such heading in spec/{doc}"
            );
            let id = rule["id"].as_str().unwrap();
            if doc == "diagnostics.md" {
                assert!(anchor.starts_with(&id.to_lowercase()), "{id}: {uri}");
            }
            let markdown = rule["help"]["markdown"].as_str().unwrap();
            assert!(markdown.contains(&format!("({uri})")), "{markdown}");
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
    // The CI example builds guestlist from the same repository.
    let ci = std::fs::read_to_string(root.join("examples/ci/guestlist.yml")).unwrap();
    assert!(
        ci.contains(&format!("GUESTLIST_GIT: {repo}\n")),
        "examples/ci/guestlist.yml"
    );
    // No link is written by hand anywhere else.
    for f in ["sarif.rs", "diff.rs"] {
        let text = std::fs::read_to_string(root.join("compiler/src/cli").join(f)).unwrap();
        assert!(
            !text.contains("example.invalid") && !text.contains("github.com"),
            "{f}"
        );
    }
}

/// The schema shipped with the Multitool, checked by ajv (both from compiler/tests/sarif's
/// lockfile: `npm ci --prefix compiler/tests/sarif`).
/// (ruleId, fingerprint, start line) of each result of a SARIF log.
fn fingerprints(sarif: &str) -> Vec<(String, String, u64)> {
    let v: serde_json::Value = serde_json::from_str(sarif).unwrap();
    v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["partialFingerprints"]["primaryLocationLineHash"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap(),
            )
        })
        .collect()
}

/// `primaryLocationLineHash` comes from the rule, the place (route, block) and the subject:
/// moving a finding down with blank lines and comments, or changing the whitespace on its
/// line, keeps it; two findings on one line, or the same text in two blocks, differ.
#[test]
fn sarif_fingerprints_survive_moved_lines_and_tell_findings_apart() {
    let dir = support::tempdir("diff-fingerprints");
    // Two origins on one line with the same error at the same text (a trailing slash, GL0204),
    // and the same origin in another cors block.
    let check = "cors api {\n    allow-origins \"https://a.example/\" \"https://b.example/\"\n    max-age 600\n}\ncors web {\n    allow-origins \"https://a.example/\"\n    max-age 600\n}\nroute \"/x\" { cors api }\nroute \"/y\" { cors web }\n";
    let moved = format!(
        "# a comment\n\n\n# another\n\n{}",
        check.replace(
            "    allow-origins \"https://a.example/\" \"https://b.example/\"",
            "  allow-origins   \"https://a.example/\"   \"https://b.example/\"   # why"
        )
    );
    write(&dir, "check.policy", check);
    write(&dir, "moved.policy", &moved);
    let (_, before, _) = run_in(&dir, &["check", "check.policy", "--format", "sarif"]);
    let (_, after, _) = run_in(&dir, &["check", "moved.policy", "--format", "sarif"]);
    // The uri is part of the hash: compare the same file name.
    write(&dir, "check.policy", &moved);
    let (_, after_same_file, _) = run_in(&dir, &["check", "check.policy", "--format", "sarif"]);
    let (a, b) = (fingerprints(&before), fingerprints(&after_same_file));
    assert!(a.len() >= 3, "{before}");
    assert_eq!(a.len(), b.len(), "{after}");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (&x.0, &x.1),
            (&y.0, &y.1),
            "a moved finding changed fingerprint"
        );
        assert_eq!(x.2 + 5, y.2, "the finding did not move");
    }
    let distinct: std::collections::BTreeSet<&String> = a.iter().map(|x| &x.1).collect();
    assert_eq!(
        distinct.len(),
        a.len(),
        "two findings share a fingerprint: {a:?}"
    );
    // Fixing the first block's findings leaves the second block's alert as it was (the same
    // text, told apart by its block, not by its position among equal ones).
    let web = |v: &[(String, String, u64)]| v.last().unwrap().1.clone();
    write(
        &dir,
        "check.policy",
        &check.replace(
            "\"https://a.example/\" \"https://b.example/\"",
            "\"https://a.example\"",
        ),
    );
    let (_, fixed, _) = run_in(&dir, &["check", "check.policy", "--format", "sarif"]);
    let f = fingerprints(&fixed);
    assert_eq!(f.len(), 1, "{fixed}");
    assert_eq!(web(&f), web(&a));
    // diff: the same, for a new grant moved down.
    write(&dir, "old.policy", BASE);
    let new = edit(
        "allow-methods PUT",
        "allow-methods PUT DELETE\n    allow-origins \"https://evil.example\"",
    );
    write(&dir, "new.policy", &new);
    let (_, before, _) = run_in(
        &dir,
        &["diff", "old.policy", "new.policy", "--format", "sarif"],
    );
    write(
        &dir,
        "new.policy",
        &format!(
            "# moved\n\n\n\n\n{}",
            new.replace("allow-methods PUT DELETE", "allow-methods   PUT  DELETE")
        ),
    );
    let (_, after, _) = run_in(
        &dir,
        &["diff", "old.policy", "new.policy", "--format", "sarif"],
    );
    let (a, b) = (fingerprints(&before), fingerprints(&after));
    assert!(a.len() >= 2, "{before}");
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((&x.0, &x.1), (&y.0, &y.1));
        assert_eq!(x.2 + 5, y.2);
    }
    let distinct: std::collections::BTreeSet<&String> = a.iter().map(|x| &x.1).collect();
    assert_eq!(distinct.len(), a.len(), "{a:?}");
}

fn validate_schema(dir: &Path, files: &[&str]) {
    let Some(node) = support::require_tool("node") else {
        return;
    };
    let modules = sarif_dir().join("node_modules");
    if !modules.join("ajv").exists() {
        support::skip(
            "compiler/tests/sarif/node_modules is missing (npm ci --prefix compiler/tests/sarif)",
        );
        return;
    }
    let o = Command::new(node)
        .current_dir(dir)
        .arg(sarif_dir().join("validate.js"))
        .args(files)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // The validator refuses what the schema refuses.
    let bad = std::fs::read_to_string(dir.join(files[0]))
        .unwrap()
        .replace("\"level\": \"error\"", "\"level\": \"critical\"");
    write(dir, "bad.sarif", &bad);
    let o = Command::new("node")
        .current_dir(dir)
        .arg(sarif_dir().join("validate.js"))
        .arg("bad.sarif")
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "a level the schema does not have passed"
    );
}

/// The Multitool's SARIF and GitHub rules (`--rule-kind Sarif;Gh`): no error result.
fn multitool(dir: &Path, files: &[&str]) {
    let tool = sarif_dir().join("node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool");
    if !tool.exists() {
        support::skip("the SARIF Multitool is missing (npm ci --prefix compiler/tests/sarif)");
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut perm = std::fs::metadata(&tool).unwrap().permissions();
        if perm.mode() & 0o100 == 0 {
            perm.set_mode(perm.mode() | 0o100);
            std::fs::set_permissions(&tool, perm).unwrap();
        }
    }
    let errors_in = |file: &str| -> Vec<String> {
        let out = dir.join(format!("{file}.validation"));
        let o = Command::new(&tool)
            .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
            .current_dir(dir)
            .args([
                "validate",
                file,
                "--rule-kind",
                "Sarif;Gh",
                "--rich-return-code",
                "true",
                "-o",
            ])
            .arg(&out)
            .args(["--log", "ForceOverwrite"])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["level"] == "error")
            .map(|r| format!("{} {}", r["ruleId"], r["message"]))
            .collect()
    };
    for f in files {
        let errors = errors_in(f);
        assert!(errors.is_empty(), "{f}: {errors:#?}");
    }
    // The Multitool finds what GitHub needs: a result without a location, a rule without help.
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(files[0])).unwrap()).unwrap();
    v["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("locations");
    v["runs"][0]["tool"]["driver"]["rules"][0]
        .as_object_mut()
        .unwrap()
        .remove("help");
    write(dir, "gh-bad.sarif", &serde_json::to_string(&v).unwrap());
    assert!(!errors_in("gh-bad.sarif").is_empty());
}

#[test]
fn every_kind_and_rule_is_documented() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/diff.md")).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for k in Kind::ALL {
        let row = format!("| `{}` | {} |", k.as_str(), k.rule_id());
        assert!(doc.contains(&row), "spec/diff.md has no row {row}");
        assert!(ids.insert(k.rule_id()), "{} twice", k.rule_id());
        assert!(k.rule_id() >= "GL1501" && k.rule_id() <= "GL1599");
    }
}

/// The CI example keeps its security choices: `pull_request` only, no default permissions,
/// every action pinned by a full commit.
#[test]
fn the_ci_example_is_least_privilege_and_pinned() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/ci/guestlist.yml"
    ))
    .unwrap();
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert!(code.iter().all(|l| !l.contains("pull_request_target")));
    assert!(
        text.contains("\npermissions: {}\n"),
        "no top-level `permissions: {{}}`"
    );
    let uses: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("- uses: ")
                .or_else(|| l.trim().strip_prefix("uses: "))
        })
        .collect();
    assert!(uses.len() >= 3, "{uses:?}");
    for u in uses {
        let (_, rest) = u.split_once('@').unwrap();
        let sha = rest.split_whitespace().next().unwrap();
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{u} is not pinned by commit"
        );
    }
    // guestlist itself is pinned the same way: every install is `--locked` at `--rev` of the
    // commit GUESTLIST_REV names (40 hex digits), never a branch or tag.
    let is_sha = |s: &str| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let rev = code
        .iter()
        .find_map(|l| l.trim().strip_prefix("GUESTLIST_REV:"))
        .map(|v| v.trim().trim_matches('"'))
        .unwrap();
    assert!(is_sha(rev), "GUESTLIST_REV {rev} is not a commit");
    let installs: Vec<&&str> = code
        .iter()
        .filter(|l| l.contains("cargo install"))
        .collect();
    assert!(installs.len() >= 3, "{installs:?}");
    for l in installs {
        let words: Vec<&str> = l.split_whitespace().collect();
        assert!(words.contains(&"--locked"), "{l}");
        let pinned = words
            .windows(2)
            .any(|w| w[0] == "--rev" && (w[1] == "\"$GUESTLIST_REV\"" || is_sha(w[1])));
        assert!(pinned, "{l} is not pinned by commit");
        assert!(
            !l.contains("--branch") && !l.contains("--tag"),
            "{l} names a ref that can move"
        );
    }
    for step in [
        "--format sarif",
        "upload-sarif",
        "guestlist diff",
        "GITHUB_STEP_SUMMARY",
        "WAIVER_LABEL",
    ] {
        assert!(text.contains(step), "{step}");
    }
    // The waiver holds for the run the label's application starts, never for a later push
    // (`synchronize`) the maintainer has not seen.
    let waived = text
        .lines()
        .find(|l| l.trim_start().starts_with("WAIVED:"))
        .unwrap_or_default();
    assert!(
        waived.contains("github.event.action == 'labeled'")
            && waived.contains("github.event.label.name == env.WAIVER_LABEL")
            && !waived.contains("labels.*.name"),
        "{waived}"
    );
}

/// The properties skip generated policies with errors: most must have none, or the properties
/// would hold of nothing.
#[test]
fn generated_policies_are_mostly_valid() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::new(config(1));
    let mut valid = 0;
    for _ in 0..100 {
        let p = policy_gen().new_tree(&mut runner).unwrap().current();
        if try_compile(&p.text()).is_some() {
            valid += 1;
        }
    }
    assert!(
        valid >= 60,
        "only {valid} of 100 generated policies are valid"
    );
}

/// A job summary takes 1 MiB: the Markdown stops before it and says how many rows it left out.
#[test]
fn markdown_stays_under_a_job_summarys_limit() {
    let dir = support::tempdir("diff-markdown");
    let policy = |n: usize| {
        let mut s = String::from("cors api {\n");
        for i in 0..n {
            s.push_str(&format!(
                "    allow-origins \"https://tenant-{i:05}.example.com\"\n"
            ));
        }
        s.push_str("}\nroute \"/api/*\" { cors api }\n");
        s
    };
    write(&dir, "old.policy", &policy(1));
    write(&dir, "new.policy", &policy(12_000));
    let (code, md, err) = run_in(
        &dir,
        &["diff", "old.policy", "new.policy", "--format", "markdown"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(md.len() <= 1 << 20, "{} bytes", md.len());
    let shown = md.lines().filter(|l| l.starts_with("| + |")).count();
    assert!(shown > 1000 && shown < 11_999, "{shown} rows");
    assert!(
        md.contains(&format!("_{} more not shown", 11_999 - shown)),
        "{}",
        &md[md.len() - 300..]
    );
}

/// A cors policy whose only origins are supplied at run time: what it lets those origins do
/// (credentials, methods, headers, exposed headers, max-age) is compared through an origin
/// supplied to the set both sides use, and each witness carries that entry.
#[test]
fn a_cors_policy_of_supplied_origins_only_is_compared_through_a_supplied_origin() {
    let old = r#"
origins tenants provided tenant-bound
cors t {
    allow-origins      tenants
    allow-methods      PUT
    allow-headers      X-Api-Key
    expose-headers     X-Total
    max-age            2h
}
route "/api/*" { cors t }
"#;
    let new = old
        .replace("allow-methods      PUT", "allow-methods      PUT DELETE")
        .replace(
            "allow-headers      X-Api-Key",
            "allow-headers      X-Api-Key X-Debug",
        )
        .replace(
            "expose-headers     X-Total",
            "expose-headers     X-Total X-Secret",
        )
        .replace(
            "max-age            2h",
            "max-age            2h\n    allow-credentials  true",
        );
    let r = report(old, &new);
    let mut got = kinds(&r.new_access);
    got.sort();
    let mut want = vec![
        (Kind::CorsCredentials, "credentials".to_string()),
        (Kind::CorsMethod, "DELETE".to_string()),
        (Kind::CorsHeader, "x-debug".to_string()),
        (Kind::CorsExpose, "x-secret".to_string()),
    ];
    want.sort();
    assert_eq!(got, want, "{:#?}", r.new_access);
    for f in &r.new_access {
        let w = f.witness.as_ref().expect("a witness");
        assert_eq!(w.supplied.len(), 1, "{f:#?}");
        assert_eq!(w.supplied[0].0, "tenants", "{f:#?}");
    }
    assert!(report(&new, old).new_access.is_empty());
}

/// A source OLD lists but CSP Level 3 browsers ignore there covers nothing: removing the
/// nonce that switched `'unsafe-inline'` off, or the `'strict-dynamic'` that switched host
/// sources off, is new access (not legacy); a source ignored on both sides is no change.
#[test]
fn removing_what_switched_a_source_off_is_new_access() {
    let style = |sources: &str| {
        edit(
            "    script-src 'self' 'nonce'\n",
            &format!("    script-src 'self' 'nonce'\n    style-src {sources}\n"),
        )
    };
    let r = report(
        &style("'self' 'nonce' 'unsafe-inline'"),
        &style("'self' 'unsafe-inline'"),
    );
    assert_eq!(
        kinds(&r.new_access),
        [(Kind::Csp, "style-src 'unsafe-inline'".to_string())]
    );
    assert!(r.new_access.iter().all(|f| !f.legacy) && r.has_new_access());

    let old = edit(
        "script-src 'self' 'nonce'",
        "script-src 'nonce' 'strict-dynamic' https://cdn.example",
    );
    let new = edit(
        "script-src 'self' 'nonce'",
        "script-src 'nonce' https://cdn.example",
    );
    let r = report(&old, &new);
    assert_eq!(
        kinds(&r.new_access),
        [(Kind::Csp, "script-src https://cdn.example".to_string())]
    );
    assert!(r.has_new_access());

    assert_eq!(
        kinds(
            &report(
                &style("'self' 'nonce' 'unsafe-inline'"),
                &style("'self' 'nonce' 'unsafe-inline' https://x.example"),
            )
            .new_access
        ),
        [(Kind::Csp, "style-src https://x.example".to_string())]
    );
}

/// The 1-based line of the first line of `text` that is `start` (indentation aside, and
/// `start` ending in a newline), else the first that starts with it.
fn line_of(text: &str, start: &str) -> usize {
    let exact = start.strip_suffix('\n');
    let at = text.lines().position(|l| match exact {
        Some(e) => l.trim() == e,
        None => l.trim_start().starts_with(start),
    });
    assert!(at.is_some(), "no line starts with {start:?}");
    at.unwrap() + 1
}

/// A finding is anchored at the line that made it: raising `max-age` at the `max-age` line,
/// a new method, request or exposed header at the entry naming it, a newly named supplied set
/// at the `allow-origins` entry naming it; a route that switched to another, unchanged policy
/// (cors, csrf, websocket, headers, csp) at the route's line naming it, never at the other
/// block's unchanged lines; a weakened header, a trusted origin, a WebSocket origin at its
/// own line.
#[test]
fn findings_are_anchored_at_the_line_that_changed() {
    let raised = edit("max-age 2h", "max-age 4h")
        .replace(
            "expose-headers X-Total",
            "expose-headers X-Total\n    expose-headers X-Secret",
        )
        .replace(
            "allow-methods PUT",
            "allow-methods PUT\n    allow-methods PATCH",
        )
        .replace(
            "allow-headers X-Api-Key",
            "allow-headers X-Api-Key\n    allow-headers X-Trace",
        )
        .replace(
            "cors api {\n",
            "origins tenants provided\ncors api {\n    allow-origins tenants\n",
        )
        .replace(
            "cross-origin-embedder-policy require-corp",
            "cross-origin-embedder-policy unsafe-none",
        )
        .replace(
            "    missing-headers reject\n",
            "    missing-headers reject\n    trusted-origins \"https://sso.example\"\n",
        )
        .replace(
            "websocket live {\n",
            "websocket live {\n    allow-origins \"https://chat.example\"\n",
        );
    let r = report(BASE, &raised);
    let at = |k: Kind| {
        let f = r.new_access.iter().find(|f| f.kind == k);
        assert!(f.is_some(), "no {k:?} in {:#?}", r.new_access);
        f.unwrap().line
    };
    assert_eq!(at(Kind::CorsMaxAge), line_of(&raised, "max-age 4h"));
    assert_eq!(
        at(Kind::CorsExpose),
        line_of(&raised, "expose-headers X-Secret")
    );
    assert_eq!(
        at(Kind::CorsMethod),
        line_of(&raised, "allow-methods PATCH")
    );
    assert_eq!(
        at(Kind::CorsHeader),
        line_of(&raised, "allow-headers X-Trace")
    );
    assert_eq!(
        at(Kind::Provided),
        line_of(&raised, "allow-origins tenants")
    );
    assert_eq!(
        at(Kind::Header),
        line_of(&raised, "cross-origin-embedder-policy unsafe-none")
    );
    assert_eq!(
        at(Kind::CsrfTrusted),
        line_of(&raised, "trusted-origins \"https://sso.example\"")
    );
    assert_eq!(
        at(Kind::WebsocketOrigin),
        line_of(&raised, "allow-origins \"https://chat.example\"")
    );

    let blocks = "cors a {\n    allow-origins \"https://a.example\" \"https://shared.example\"\n}\ncors b {\n    allow-origins \"https://b.example\" \"https://shared.example\"\n    allow-methods PUT\n    allow-headers X-B\n    allow-credentials true\n    max-age 10m\n}\ncsrf tight {\n    missing-headers reject\n}\ncsrf loose {\n    trusted-origins \"https://sso.example\"\n    exempt POST \"/x/hook\"\n}\nwebsocket w1 {\n    allow-origins \"https://a.example\"\n}\nwebsocket w2 {\n    allow-origins \"https://b.example\"\n}\nheaders h1 {\n    x-frame-options DENY\n}\nheaders h2 {\n    x-frame-options SAMEORIGIN\n}\ncsp c1 {\n    default-src 'self'\n}\ncsp c2 {\n    default-src 'self' https://cdn.example\n}\nroute \"/b/*\" { cors b; csrf loose; headers h2; csp c2 }\nroute \"/w2\" { websocket w2 }\n";
    let route = |[cors, csrf, h, csp, ws]: [&str; 5]| {
        format!("{blocks}route \"/x/*\" {{\n    cors {cors}\n    csrf {csrf}\n    headers {h}\n    csp {csp}\n}}\nroute \"/w\" {{\n    websocket {ws}\n}}\n")
    };
    let (old, new) = (
        route(["a", "tight", "h1", "c1", "w1"]),
        route(["b", "loose", "h2", "c2", "w2"]),
    );
    let r = report(&old, &new);
    let cors = line_of(&new, "cors b\n");
    let mut seen = Vec::new();
    for f in &r.new_access {
        let want = match f.kind {
            Kind::WebsocketOrigin => line_of(&new, "websocket w2\n"),
            Kind::CsrfTrusted | Kind::CsrfExemption | Kind::CsrfSetting => {
                line_of(&new, "csrf loose\n")
            }
            Kind::Header => line_of(&new, "headers h2\n"),
            Kind::Csp => line_of(&new, "csp c2\n"),
            _ => cors,
        };
        assert_eq!(f.line, want, "{f:#?}");
        seen.push(f.kind);
    }
    for k in [
        Kind::CorsOrigin,
        Kind::CorsMethod,
        Kind::CorsHeader,
        Kind::CorsCredentials,
        Kind::CorsMaxAge,
        Kind::CsrfTrusted,
        Kind::CsrfExemption,
        Kind::WebsocketOrigin,
        Kind::Header,
        Kind::Csp,
    ] {
        assert!(seen.contains(&k), "{k:?} not in {:#?}", r.new_access);
    }
}

/// More anchors: a method added on an existing line at its own column; an origin a block gets
/// by newly naming a set OLD already had, at the naming entry (the set's lines are unchanged);
/// a route switched to a block OLD did not have, at that block's own lines (they are the
/// change); a CSP made report-only, at its `report-only` line.
#[test]
fn findings_are_anchored_at_entries_naming_sets_and_in_new_blocks() {
    let old = "origins extra {\n    \"https://extra.example\"\n}\ncors a {\n    allow-origins \"https://a.example\"\n    allow-methods PUT\n}\ncsp c {\n    default-src 'self'\n}\nroute \"/a/*\" { cors a; csp c }\nroute \"/x/*\" { }\n";
    let new = "origins extra {\n    \"https://extra.example\"\n}\ncors a {\n    allow-origins \"https://a.example\" extra\n    allow-methods PUT PATCH\n}\ncors fresh {\n    allow-origins \"https://fresh.example\"\n}\ncsp c {\n    default-src 'self'\n    report-only\n}\nroute \"/a/*\" { cors a; csp c }\nroute \"/x/*\" { cors fresh }\n";
    let r = report(old, new);
    let find = |k: Kind, subject: &str| {
        let f = r
            .new_access
            .iter()
            .find(|f| f.kind == k && f.subject == subject);
        assert!(f.is_some(), "no {k:?} {subject} in {:#?}", r.new_access);
        let f = f.unwrap();
        (f.line, f.column)
    };
    let col = |line: usize, what: &str| new.lines().nth(line - 1).unwrap().find(what).unwrap() + 1;
    let naming = line_of(new, "allow-origins \"https://a.example\" extra");
    let at_set = new.lines().nth(naming - 1).unwrap().rfind("extra").unwrap() + 1;
    assert_eq!(
        find(Kind::CorsOrigin, "https://extra.example"),
        (naming, at_set)
    );
    let methods = line_of(new, "allow-methods PUT PATCH");
    assert_eq!(
        find(Kind::CorsMethod, "PATCH"),
        (methods, col(methods, "PATCH"))
    );
    let fresh = line_of(new, "allow-origins \"https://fresh.example\"");
    assert_eq!(find(Kind::CorsOrigin, "https://fresh.example").0, fresh);
    assert_eq!(
        find(Kind::Csp, "report-only").0,
        line_of(new, "report-only")
    );
    // Latent grants (blocks no route uses) at their own entries too.
    let spare = "websocket ws {\n    allow-origins \"https://a.example\"\n}\ncsrf cs {\n    trusted-origins \"https://a.example\"\n}\nroute \"/x/*\" { }\n";
    let grown = spare
        .replace(
            "allow-origins \"https://a.example\"\n",
            "allow-origins \"https://a.example\"\n    allow-origins \"https://ws.example\"\n",
        )
        .replace(
            "trusted-origins \"https://a.example\"\n",
            "trusted-origins \"https://a.example\"\n    trusted-origins \"https://sso.example\"\n",
        );
    let r = report(spare, &grown);
    for (subject, line) in [
        ("https://ws.example", "allow-origins \"https://ws.example\""),
        (
            "https://sso.example",
            "trusted-origins \"https://sso.example\"",
        ),
    ] {
        let f = r.new_access.iter().find(|f| f.subject == subject);
        assert!(
            f.is_some_and(|f| f.latent),
            "{subject}: {:#?}",
            r.new_access
        );
        assert_eq!(f.unwrap().line, line_of(&grown, line), "{subject}");
    }
}
