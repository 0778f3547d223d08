//! `guestlist probe` against real servers on 127.0.0.1: `guestlist serve` and nginx running
//! the emitted configuration answer as the policy decides (no looser mismatch); nginx
//! configurations written wrong on purpose are each caught by the request that shows it;
//! https with `--ca-file` and a certificate error; a redirect; a WebSocket server that accepts
//! any origin; an unreachable target; `--max-requests`, the unique queries and
//! `--unsafe-methods` counted in the server's own log.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The policy of the nginx and wrong-server tests.
const POLICY: &str = r#"origins web {
    "https://app.example.com"
    "https://*.preview.example.com"
}
cors api {
    allow-origins      web
    allow-methods      GET PUT DELETE
    allow-headers      Content-Type X-Request-Id
    expose-headers     X-Total
    allow-credentials  true
    max-age            10m
}
cors public {
    allow-origins  *
    allow-methods  GET
}
headers hard {
    include          default
    x-frame-options  DENY
}
csrf forms {
    trusted-origins  "https://partner.example.com"
}
websocket live {
    allow-origins  "https://app.example.com"
}
route "/api/*"     { cors api; headers hard; csrf forms }
route "/assets/*"  { cors public }
route "/live"      { websocket live }
route "/open"      { }
"#;

fn policy_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("p.policy");
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `guestlist probe ARGS`: the exit code, stdout, stderr.
fn probe(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_guestlist"))
        .arg("probe")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `guestlist probe POLICY --target TARGET --format json --rate 1000 EXTRA...`.
fn probe_json(policy: &Path, target: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        policy.to_str().unwrap(),
        "--target",
        target,
        "--format",
        "json",
        "--rate",
        "1000",
    ];
    args.extend(extra);
    let (code, out, err) = probe(&args);
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}), exit {code}:\n{out}\n{err}"));
    (code, v, err)
}

fn mismatches<'a>(v: &'a Value, severity: &str) -> Vec<&'a Value> {
    v["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["severity"] == severity)
        .collect()
}

/// The looser mismatches of requests with `method` whose `Origin` passes `origin`.
fn looser_from<'a>(
    v: &'a Value,
    method: &str,
    origin: impl Fn(Option<&str>) -> bool,
) -> Vec<&'a Value> {
    mismatches(v, "looser")
        .into_iter()
        .filter(|m| {
            m["request"]["method"] == method && origin(m["request"]["headers"]["Origin"].as_str())
        })
        .collect()
}

#[test]
fn guestlist_serve_answers_as_the_policy_decides() {
    let dir = support::tempdir("probe-serve");
    let policies = [
        policy_file(&dir, POLICY),
        support::root().join("examples/policies/guards.policy"),
        support::root().join("examples/policies/hosts.policy"),
    ];
    for policy in &policies {
        let server = support::serve_policy(policy, &[]);
        let (code, v, err) = probe_json(policy, &server.url, &["--unsafe-methods"]);
        assert_eq!(code, 0, "{v:#}\n{err}");
        assert!(mismatches(&v, "looser").is_empty(), "{v:#}");
        assert!(mismatches(&v, "stricter").is_empty(), "{v:#}");
        assert_eq!(v["truncated"], false);
        assert!(v["requests"].as_u64().unwrap() > 50, "{v}");
        assert_eq!(v["target"], server.url.as_str());
    }
}

#[test]
fn the_emitted_nginx_answers_as_the_policy_decides() {
    let Some(bin) = support::require_tool("nginx") else {
        return;
    };
    let dir = support::tempdir("probe-nginx");
    let policy = policy_file(&dir, POLICY);
    let c = guestlist_compiler::Compilation::load(&[&policy]).unwrap();
    // The upstream sends `Access-Control-Allow-Origin: *` and its own security headers.
    let front_log = dir.join("logs/front.log");
    let setup = support::setup(&bin, &c, "default", &dir, support::Upstream::Proxied, false)
        .with_http_lines("log_format probe '$request_method $request_uri';")
        .with_own_lines(&format!("access_log {} probe;", front_log.display()));
    let nginx = support::start(&bin, &setup);
    let target = format!("http://{}", nginx.addr);
    let (code, v, err) = probe_json(&policy, &target, &["--unsafe-methods"]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert!(mismatches(&v, "looser").is_empty(), "{v:#}");
    assert!(mismatches(&v, "stricter").is_empty(), "{v:#}");
    // The upstream's own `*` passes on the routes without a cors policy: the application's.
    let unmanaged = mismatches(&v, "unmanaged");
    assert!(unmanaged.iter().any(|m| m["path"] == "/open"));
    assert!(
        unmanaged.iter().all(|m| {
            let p = m["path"].as_str().unwrap();
            p.ends_with("/open") || p.ends_with("/live")
        }),
        "{unmanaged:#?}"
    );
    // Every request reached nginx once, each with its own query; no POST without the flag.
    let sent = v["requests"].as_u64().unwrap() as usize;
    // nginx writes a line once it has answered: wait for the last (a count over is a failure).
    let log = support::poll_until("the front log", std::time::Duration::from_secs(10), || {
        let log = std::fs::read_to_string(&front_log).unwrap();
        (log.lines().count() >= sent).then_some(log)
    });
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), sent, "{log}");
    let mut queries: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .map(|uri| uri.rsplit_once("guestlist-probe=").unwrap().1)
        .collect();
    queries.sort_unstable();
    queries.dedup();
    assert_eq!(queries.len(), sent);
    assert!(lines.iter().any(|l| l.starts_with("POST ")));
    std::fs::write(&front_log, "").unwrap();
    let (code, v, err) = probe_json(&policy, &target, &["--max-requests", "20"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (v["requests"].as_u64(), v["truncated"].as_bool()),
        (Some(20), Some(true))
    );
    let log = support::poll_until("the front log", std::time::Duration::from_secs(10), || {
        let log = std::fs::read_to_string(&front_log).unwrap();
        (log.lines().count() >= 20).then_some(log)
    });
    assert_eq!(log.lines().count(), 20, "{log}");
    assert!(!log.lines().any(|l| l.starts_with("POST ")), "{log}");
    assert!(err.contains("GL1602"), "{err}");
}

/// Starts nginx with `server_lines` (and `http_lines`) of a deliberately wrong
/// configuration and probes it: exit 1 and the report.
fn wrong(name: &str, http_lines: &str, server_lines: &str) -> Value {
    let bin = support::require_tool("nginx").unwrap();
    let dir = support::tempdir(name);
    let policy = policy_file(&dir, POLICY);
    let nginx = support::start_config(&bin, &dir, |d, port| {
        support::own_config(d, port, http_lines, server_lines)
    });
    let (code, v, err) = probe_json(&policy, &format!("http://{}", nginx.addr), &[]);
    assert_eq!(code, 1, "{v:#}\n{err}");
    v
}

#[test]
fn a_server_reflecting_any_origin_with_credentials_is_looser() {
    let Some(v) = wrong_or_skip(
        "reflect",
        "",
        r#"location / {
            add_header Access-Control-Allow-Origin $http_origin always;
            add_header Access-Control-Allow-Credentials true always;
            add_header Vary Origin always;
            return 200 "app\n";
        }"#,
    ) else {
        return;
    };
    let hits = looser_from(&v, "GET", |o| {
        o == Some("https://app.example.com.guestlist-probe.test")
    });
    assert!(
        hits.iter().any(|m| m["message"]
            .as_str()
            .unwrap()
            .contains("access-control-allow-origin: https://app.example.com.guestlist-probe.test")
            && m["got"]["headers"]["access-control-allow-credentials"] == "true"),
        "{v:#}"
    );
    assert!(!looser_from(&v, "GET", |o| o == Some("https://APP.EXAMPLE.COM")).is_empty());
}

#[test]
fn a_server_without_vary_origin_is_looser() {
    let Some(v) = wrong_or_skip(
        "novary",
        r#"map $http_origin $allowed { default ""; "https://app.example.com" $http_origin; }
    map $http_origin $creds { default ""; "https://app.example.com" "true"; }"#,
        r#"location / {
            add_header Access-Control-Allow-Origin $allowed always;
            add_header Access-Control-Allow-Credentials $creds always;
            add_header X-Frame-Options DENY always;
            return 200 "app\n";
        }"#,
    ) else {
        return;
    };
    let hits = looser_from(&v, "GET", |o| o == Some("https://app.example.com"));
    assert!(
        hits.iter().any(
            |m| m["message"].as_str().unwrap().contains("no `Vary: Origin`")
                && m["path"] == "/api/guestlist-probe"
        ),
        "{v:#}"
    );
}

#[test]
fn a_server_allowing_null_is_looser() {
    let Some(v) = wrong_or_skip(
        "null",
        r#"map $http_origin $allowed { default ""; "https://app.example.com" $http_origin; "null" "null"; }"#,
        r#"location / {
            add_header Access-Control-Allow-Origin $allowed always;
            add_header Vary Origin always;
            return 200 "app\n";
        }"#,
    ) else {
        return;
    };
    let hits = looser_from(&v, "GET", |o| o == Some("null"));
    assert!(
        hits.iter().any(
            |m| m["got"]["headers"]["access-control-allow-origin"] == "null"
                && m["expected"]["headers"]["access-control-allow-origin"].is_null()
        ),
        "{v:#}"
    );
    // Only `null` is granted wrongly at the route's own path (its other forms, which the
    // policy refuses with 400, are served), and the uppercase look-alike: nginx compares a
    // map's strings without case.
    let uppercase = looser_from(&v, "GET", |o| o == Some("https://APP.EXAMPLE.COM"));
    assert!(!uppercase.is_empty(), "{v:#}");
    let others: Vec<&Value> = looser_from(&v, "GET", |o| {
        !matches!(o, Some("null" | "https://APP.EXAMPLE.COM"))
    })
    .into_iter()
    .filter(|m| {
        m["path"] == "/api/guestlist-probe"
            && m["message"].as_str().unwrap().contains("allow-origin")
    })
    .collect();
    assert!(others.is_empty(), "{others:#?}");
}

#[test]
fn a_server_answering_every_options_permissively_is_looser() {
    let Some(v) = wrong_or_skip(
        "options",
        "",
        r#"location / {
            if ($request_method = OPTIONS) {
                add_header Access-Control-Allow-Origin $http_origin;
                add_header Access-Control-Allow-Methods "GET, PUT, DELETE, PATCH, PROPFIND";
                add_header Access-Control-Allow-Headers "*";
                add_header Access-Control-Allow-Credentials true;
                add_header Vary Origin;
                return 204;
            }
            return 200 "app\n";
        }"#,
    ) else {
        return;
    };
    let hits = looser_from(&v, "OPTIONS", |o| o == Some("http://app.example.com"));
    assert!(
        hits.iter().any(|m| m["got"]["status"] == 204
            && m["expected"]["status"] == 403
            && m["request"]["headers"]["Access-Control-Request-Method"] == "PUT"),
        "{v:#}"
    );
    // A refused method from an allowed origin.
    let refused = looser_from(&v, "OPTIONS", |o| o == Some("https://app.example.com"));
    assert!(
        refused.iter().any(
            |m| m["request"]["headers"]["Access-Control-Request-Method"] == "PATCH"
                && m["message"].as_str().unwrap().contains("answered 204")
        ),
        "{v:#}"
    );
}

#[test]
fn an_application_adding_its_own_star_is_looser_on_governed_routes_only() {
    let Some(v) = wrong_or_skip(
        "star",
        "",
        r#"location / {
            add_header Access-Control-Allow-Origin "*" always;
            return 200 "app\n";
        }"#,
    ) else {
        return;
    };
    let hits = looser_from(&v, "GET", |o| o == Some("https://guestlist-probe.example"));
    assert!(
        hits.iter().any(|m| m["path"] == "/api/guestlist-probe"
            && m["got"]["headers"]["access-control-allow-origin"] == "*"),
        "{v:#}"
    );
    let unmanaged = mismatches(&v, "unmanaged");
    assert!(unmanaged.iter().any(|m| m["path"] == "/open"), "{v:#}");
    assert!(mismatches(&v, "looser")
        .iter()
        .all(|m| m["path"] != "/open"));
    // `*` on a `*` route is the policy's own answer.
    assert!(looser_from(&v, "GET", |_| true)
        .iter()
        .all(|m| m["path"] != "/assets/guestlist-probe"
            || !m["message"].as_str().unwrap().contains("allow-origin")));
}

/// [`wrong`], or `None` when nginx is missing and skipping is allowed.
fn wrong_or_skip(name: &str, http_lines: &str, server_lines: &str) -> Option<Value> {
    support::require_tool("nginx")?;
    Some(wrong(name, http_lines, server_lines))
}
