//! The `guestlist` binary, run as a user runs it: exit codes, formats, files written.

#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

mod support;
use support::tempdir;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_guestlist"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn site() -> PathBuf {
    root().join("examples/policies/site.policy")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_example_is_clean() {
    let o = run(&["check", site().to_str().unwrap(), "--deny", "warnings"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("0 errors, 0 warnings"));
}

#[test]
fn check_json_lists_diagnostics_with_positions() {
    let dir = tempdir("cli-json");
    let p = dir.join("bad.policy");
    std::fs::write(&p, "cors api {\n    allow-origins \"https://App.example.com/\"\n    allow-credentials true\n    max-age 2h\n}\nroute \"/a/*\" { cors api }\n").unwrap();
    let o = run(&["check", p.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let diags = v["diagnostics"].as_array().unwrap();
    let keys = [
        "severity",
        "code",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "help",
    ];
    for d in diags {
        let obj = d.as_object().unwrap();
        for k in keys {
            assert!(obj.contains_key(k), "missing {k} in {d}");
        }
    }
    let upper = diags.iter().find(|d| d["code"] == "GL0206").unwrap();
    assert_eq!(
        (upper["line"].as_u64(), upper["column"].as_u64()),
        (Some(2), Some(28))
    );
    assert_eq!(upper["severity"], "error");
    assert_eq!(upper["help"], "write \"https://app.example.com\"");
    let slash = diags.iter().find(|d| d["code"] == "GL0204").unwrap();
    assert_eq!(
        (slash["column"].as_u64(), slash["end_column"].as_u64()),
        (Some(43), Some(44))
    );
}

#[test]
fn warnings_fail_only_when_denied() {
    let dir = tempdir("cli-deny");
    let p = dir.join("w.policy");
    std::fs::write(
        &p,
        "cors api { allow-origins \"https://a.example.com\" }\nroute \"/a/*\" { cors api }\n",
    )
    .unwrap();
    let ok = run(&["check", p.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(text(&ok.stderr).contains("warning[GL0506]"));
    let denied = run(&["check", p.to_str().unwrap(), "--deny", "warnings"]);
    assert_eq!(denied.status.code(), Some(1));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let o = run(&["check", "/nonexistent/x.policy"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("cannot read /nonexistent/x.policy"));
    let o = run(&["check", root().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("is a directory"));
    let o = run(&["check"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[
        "explain",
        site().to_str().unwrap(),
        "--method",
        "GET",
        "--path",
        "/",
        "--profile",
        "staging",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unknown profile `staging`"));
    let o = run(&[
        "explain",
        site().to_str().unwrap(),
        "--method",
        "GET",
        "--path",
        "/",
        "-H",
        "no colon",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn fix_applies_certain_fixes_atomically() {
    let dir = tempdir("cli-fix");
    let p = dir.join("fix.policy");
    std::fs::write(&p, "cors api {\n    allow-origins \"HTTPS://App.Example.com:443/\" \"https://résumé.example\"\n    allow-methods get PUT\n    max-age -5\n}\nroute \"/a/*\" { cors api }\n").unwrap();
    let o = run(&["check", p.to_str().unwrap(), "--fix"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("fixed 4 problems"),
        "{}",
        text(&o.stderr)
    );
    let fixed = std::fs::read_to_string(&p).unwrap();
    assert_eq!(fixed, "cors api {\n    allow-origins \"https://app.example.com\" \"https://xn--rsum-bpad.example\"\n    allow-methods GET PUT\n    max-age 0\n}\nroute \"/a/*\" { cors api }\n");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temp files left behind: {leftovers:?}");
}

#[test]
fn fmt_check_and_write() {
    let dir = tempdir("cli-fmt");
    let p = dir.join("f.policy");
    std::fs::write(&p, "cors api {\n allow-origins \"https://a.example.com\" # c\n max-age 2h\n}\nroute \"/a/*\" {cors api}\n").unwrap();
    let o = run(&["fmt", "--check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("would reformat"));
    assert_eq!(run(&["fmt", p.to_str().unwrap()]).status.code(), Some(0));
    assert_eq!(
        run(&["fmt", "--check", p.to_str().unwrap()]).status.code(),
        Some(0)
    );
    let bad = dir.join("bad.policy");
    std::fs::write(&bad, "cors api {\n").unwrap();
    let o = run(&["fmt", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[GL0001]"));
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "cors api {\n");
}

#[test]
fn test_command_runs_examples_and_reports_failures() {
    let tests = root().join("examples/policies/site-tests.policy");
    let o = run(&["test", tests.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(text(&o.stdout).contains("8 passed, 0 failed"));
    // The guards' tests check what the layer writes: the CSP with the nonce the application
    // got, the token cookie, refusal reasons.
    let guards = root().join("examples/policies/guards.policy");
    let o = run(&["test", guards.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("14 passed, 0 failed"),
        "{}",
        text(&o.stdout)
    );
    let dir = tempdir("cli-test");
    let p = dir.join("t.policy");
    std::fs::write(&p, format!("import {:?}\ntest \"wrong on purpose\" {{\n    request GET \"/api/x\"\n    header Origin \"https://evil.test\"\n    expect actual-allowed\n    expect-header vary \"Accept\"\n}}\n", site().to_str().unwrap())).unwrap();
    let o = run(&["test", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("test wrong on purpose ... FAILED"), "{out}");
    assert!(
        out.contains("expected actual-allowed, got actual-not-allowed"),
        "{out}"
    );
    assert!(
        out.contains("expected header `vary: Accept`, got `vary: Origin`"),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 failed"));
}

fn explain_json(args: &[&str]) -> serde_json::Value {
    let site = site();
    let mut all = vec!["explain", site.to_str().unwrap()];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let o = bin().args(&all).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn explain_json_contract() {
    let v = explain_json(&[
        "--method",
        "OPTIONS",
        "--path",
        "/api/users/1?x=1",
        "-H",
        "Origin: https://app.example.com",
        "-H",
        "Access-Control-Request-Method: PUT",
        "-H",
        "Access-Control-Request-Headers: content-type,x-request-id",
    ]);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "headers",
            "kind",
            "policies",
            "reason",
            "reason_code",
            "route",
            "status",
            "steps"
        ]
    );
    assert_eq!(v["route"], "/api/*");
    assert_eq!(v["policies"]["cors"], "api");
    assert_eq!(v["kind"], "preflight-ok");
    assert_eq!(v["status"], 204);
    assert_eq!(v["reason_code"], "preflight-allowed");
    assert_eq!(
        v["headers"],
        serde_json::json!([
            ["access-control-allow-origin", "https://app.example.com"],
            ["access-control-allow-credentials", "true"],
            ["access-control-allow-methods", "PUT"],
            [
                "access-control-allow-headers",
                "Content-Type, Authorization, X-Request-Id"
            ],
            ["access-control-max-age", "7200"],
            ["vary", "Origin"]
        ])
    );
    let v = explain_json(&["--method", "GET", "--path", "/elsewhere"]);
    assert_eq!(
        (v["route"].clone(), v["kind"].clone(), v["status"].clone()),
        (
            serde_json::Value::Null,
            "not-cors".into(),
            serde_json::Value::Null
        )
    );
    assert_eq!(v["policies"]["cors"], serde_json::Value::Null);
    let v = explain_json(&[
        "--method",
        "GET",
        "--path",
        "/api/x",
        "-H",
        "Origin: http://localhost:3000",
        "--profile",
        "dev",
    ]);
    assert_eq!(v["kind"], "actual-allowed");
    let v = explain_json(&[
        "--method",
        "GET",
        "--path",
        "/api/x",
        "-H",
        "Origin: http://localhost:3000",
    ]);
    assert_eq!(v["kind"], "actual-not-allowed");
    assert_eq!(v["reason_code"], "origin-not-allowed");
    assert!(v.get("readings").is_none(), "{v}");
}

/// A path that is not structurally normal: `route` is the as-sent reading's, `readings` has
/// both, and each step about one reading says which.
/// A header set's `remove` shows in `explain`: the application's lines the layer took out
/// (`removed`, JSON; a line of the text), only where the route's set removes them.
#[test]
fn explain_shows_what_a_header_set_removes() {
    let dir = tempdir("cli-explain-removed");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "headers bare {\n    x-frame-options DENY\n    remove x-powered-by content-security-policy x-frame-options\n}\nroute \"/app/*\" { headers bare }\nroute \"/open\" { }\n",
    )
    .unwrap();
    let explain = |path: &str, format: &str| {
        let o = bin()
            .args([
                "explain",
                policy.to_str().unwrap(),
                "--method",
                "GET",
                "--path",
                path,
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    let v: serde_json::Value = serde_json::from_str(&explain("/app/x", "json")).unwrap();
    // X-Frame-Options is the set's own (replaced, not removed).
    assert_eq!(
        v["removed"],
        serde_json::json!(["content-security-policy", "x-powered-by"]),
        "{v}"
    );
    assert_eq!(
        v["headers"],
        serde_json::json!([["x-frame-options", "DENY"]]),
        "{v}"
    );
    let v: serde_json::Value = serde_json::from_str(&explain("/open", "json")).unwrap();
    assert!(v.get("removed").is_none(), "{v}");
    assert_eq!(v["headers"], serde_json::json!([]), "{v}");
    assert!(explain("/app/x", "human").contains(
        "removed from the application's response: content-security-policy, x-powered-by\n"
    ));
}

#[test]
fn explain_json_reports_both_readings() {
    let v = explain_json(&[
        "--method",
        "GET",
        "--path",
        "/api%2Fusers",
        "-H",
        "Origin: https://app.example.com",
    ]);
    assert_eq!(v["route"], serde_json::Value::Null, "{v}");
    assert_eq!(
        v["readings"],
        serde_json::json!([
            {"reading": "as-sent", "path": "/api%2Fusers", "route": null},
            {"reading": "normalised", "path": "/api/users", "route": "/api/*"},
        ])
    );
    assert_eq!(v["kind"], "actual-not-allowed");
    assert_eq!(v["reason_code"], "readings-disagree");
    assert_eq!(v["refused_by"], "as-sent");
    let readings: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["reading"].as_str())
        .collect();
    assert_eq!(readings, ["as-sent", "normalised"], "{v}");
    // Both readings in one route: allowed, and still reported.
    let v = explain_json(&[
        "--method",
        "GET",
        "--path",
        "/api//users",
        "-H",
        "Origin: https://app.example.com",
    ]);
    assert_eq!(v["route"], "/api/*");
    assert_eq!(v["readings"][1]["path"], "/api/users");
    assert_eq!(v["kind"], "actual-allowed");
    // Refused before any route.
    for (path, code) in [
        ("/api/../x", "path-not-normal"),
        ("/api/%zz", "path-invalid"),
    ] {
        let v = explain_json(&["--method", "POST", "--path", path]);
        assert_eq!(v["kind"], "path-rejected", "{path}");
        assert_eq!(v["status"], 400, "{path}");
        assert_eq!(v["reason_code"], code, "{path}");
        assert_eq!(
            v["headers"],
            serde_json::json!([["guestlist-reason", code]]),
            "{path}"
        );
    }
}

#[test]
fn explain_human_quotes_policy_lines() {
    let o = run(&[
        "explain",
        site().to_str().unwrap(),
        "--method",
        "OPTIONS",
        "--path",
        "/api/x",
        "-H",
        "Origin: https://app.example.com",
        "-H",
        "Access-Control-Request-Method: PATCH",
        "-H",
        "Access-Control-Request-Headers: x-secret",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(out.contains("1. route \"/api/*\" matches /api/x"), "{out}");
    assert!(
        out.contains("site.policy:3:6\n   |     \"https://app.example.com\""),
        "{out}"
    );
    assert!(
        out.contains("requested header x-secret is not in allow-headers"),
        "{out}"
    );
    assert!(
        out.contains("|     allow-headers      Content-Type Authorization X-Request-Id"),
        "{out}"
    );
    assert!(out.contains("result: preflight-rejected (403"), "{out}");
}

/// `guestlist serve` on a policy, stopped when dropped.
struct Served {
    child: std::process::Child,
    addr: String,
}

impl Served {
    fn start(policy: &Path, extra: &[&str]) -> Served {
        use std::io::BufRead;
        let mut child = bin()
            .arg("serve")
            .arg(policy)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first line gives the address: {line:?}"))
            .to_string();
        Served { child, addr }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one HTTP/1.1 request and reads the status and every header line, in order, but for
/// the transport's own (`date`, `content-length`, `connection`) and the stand-in
/// application's `content-type`. Nonces and new tokens differ on every response: they are read
/// as `{nonce}` and `{token}`, as explain shows them.
fn over_http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> (u64, Vec<(String, String)>) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8_lossy(&raw);
    let head = raw.split("\r\n\r\n").next().unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let nonce = |v: &str| {
        let mut out = String::new();
        let mut rest = v;
        while let Some((before, after)) = rest.split_once("'nonce-") {
            let (n, tail) = after.split_once('\'').unwrap();
            assert_eq!(n.len(), 22, "{v}");
            out.push_str(&format!("{before}'nonce-{{nonce}}'"));
            rest = tail;
        }
        out + rest
    };
    let token = |v: &str| match v.split_once('=') {
        Some((name, rest)) => match rest.split_once(';') {
            Some((t, attrs)) if t.len() == 97 => format!("{name}={{token}};{attrs}"),
            _ => v.to_string(),
        },
        None => v.to_string(),
    };
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .filter(|(n, v)| {
            let transport = matches!(n.as_str(), "date" | "content-length" | "connection");
            let app = n == "content-type" && v == "application/json";
            !transport && !app
        })
        .map(|(n, v)| match n.as_str() {
            "content-security-policy" => (n, nonce(&v)),
            "set-cookie" => (n, token(&v)),
            _ => (n, v),
        })
        .collect();
    (status, headers)
}

/// Header lines by name, each name's values in order.
fn by_name(
    lines: impl IntoIterator<Item = (String, String)>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut m = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (n, v) in lines {
        m.entry(n).or_default().push(v);
    }
    m
}

type Req = (&'static str, String, Vec<(String, String)>);

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = vec![("Host".to_string(), "localhost".to_string())];
    v.extend(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    v
}

/// Requests on site.policy: every route (and none), allowed and refused origins, preflights
/// with methods and headers, no Origin.
fn site_requests() -> Vec<Req> {
    let mut out = Vec::new();
    let origins = [
        "https://app.example.com",
        "https://x.preview.example.com",
        "https://evil.test",
        "null",
    ];
    let paths = ["/api/x", "/assets/a.css", "/", "/api", "/api/../assets/b"];
    for p in paths {
        out.push(("GET", p.to_string(), h(&[])));
        for o in origins {
            for m in ["GET", "PUT"] {
                out.push((m, p.to_string(), h(&[("Origin", o)])));
            }
            out.push((
                "OPTIONS",
                p.to_string(),
                h(&[("Origin", o), ("Access-Control-Request-Method", "DELETE")]),
            ));
            out.push((
                "OPTIONS",
                p.to_string(),
                h(&[
                    ("Origin", o),
                    ("Access-Control-Request-Method", "PUT"),
                    (
                        "Access-Control-Request-Headers",
                        "content-type,x-request-id",
                    ),
                ]),
            ));
        }
    }
    out
}

/// Requests on guards.policy: the CSP with its nonce and the header sets, CSRF refusals and
/// passes, WebSocket handshakes, CSRF tokens (a new one on a safe request, a valid one, one
/// for another session).
fn guards_requests(secret: &guestlist::CsrfSecret) -> Vec<Req> {
    let valid = guestlist::mint_csrf_token(secret, b"alice").unwrap();
    let other = guestlist::mint_csrf_token(secret, b"mallory").unwrap();
    let with_token = |t: &str| {
        h(&[
            ("Cookie", &format!("session=alice; __Host-csrf={t}")),
            ("X-CSRF-Token", t),
            ("Sec-Fetch-Site", "same-origin"),
        ])
    };
    vec![
        ("GET", "/page".into(), h(&[])),
        (
            "POST",
            "/page".into(),
            h(&[
                ("Origin", "https://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ]),
        ),
        (
            "OPTIONS",
            "/page".into(),
            h(&[
                ("Origin", "https://evil.example"),
                ("Access-Control-Request-Method", "PUT"),
            ]),
        ),
        (
            "POST",
            "/form".into(),
            h(&[
                ("Origin", "https://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ]),
        ),
        (
            "POST",
            "/form".into(),
            h(&[
                ("Origin", "https://partner.example.com"),
                ("Sec-Fetch-Site", "cross-site"),
            ]),
        ),
        ("POST", "/form".into(), h(&[("Origin", "http://localhost")])),
        (
            "POST",
            "/webhooks/github".into(),
            h(&[("Sec-Fetch-Site", "cross-site")]),
        ),
        (
            "GET",
            "/live".into(),
            h(&[
                ("Upgrade", "websocket"),
                ("Origin", "https://app.example.com"),
            ]),
        ),
        (
            "GET",
            "/live".into(),
            h(&[("Upgrade", "websocket"), ("Origin", "https://evil.example")]),
        ),
        ("GET", "/live".into(), h(&[("Upgrade", "websocket")])),
        (
            "GET",
            "/account/x".into(),
            h(&[("Cookie", "session=alice")]),
        ),
        ("GET", "/account/x".into(), with_token(&valid)),
        ("POST", "/account/x".into(), with_token(&valid)),
        ("POST", "/account/x".into(), with_token(&other)),
        (
            "POST",
            "/account/x".into(),
            h(&[("Sec-Fetch-Site", "same-origin")]),
        ),
        // Form posts without the header, sent without a body: the layer reads an empty form
        // (refused), or, on the deferring route, hands the post on.
        (
            "POST",
            "/account/x".into(),
            h(&[
                ("Cookie", &format!("session=alice; __Host-csrf={valid}")),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Sec-Fetch-Site", "same-origin"),
            ]),
        ),
        (
            "POST",
            "/legacy/x".into(),
            h(&[
                ("Cookie", &format!("session=alice; __Host-csrf={valid}")),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Sec-Fetch-Site", "same-origin"),
            ]),
        ),
    ]
}

/// `explain` against an independent source: the tower layer's actual HTTP answers, from
/// `guestlist serve` (hyper, the runtime's layer, a stand-in application) on 127.0.0.1. For
/// every request, the status explain gives (or the application's 200) and the headers it shows,
/// name by name, are what the server sends; a refusal's reason code is its `Guestlist-Reason`.
#[test]
fn explain_agrees_with_the_layer_over_http() {
    let hex = "ab".repeat(32);
    let secret = guestlist::CsrfSecret::from_hex(&hex).unwrap();
    let guards = root().join("examples/policies/guards.policy");
    let mut checked = std::collections::BTreeMap::<String, usize>::new();
    for (policy, requests) in [
        (site(), site_requests()),
        (guards, guards_requests(&secret)),
    ] {
        let server = Served::start(&policy, &["--csrf-secret-hex", &hex]);
        for (m, p, hs) in &requests {
            let mut args = vec!["explain".to_string(), policy.to_str().unwrap().to_string()];
            for (n, v) in hs {
                args.extend(["-H".to_string(), format!("{n}: {v}")]);
            }
            args.extend(
                [
                    "--method",
                    m,
                    "--path",
                    p,
                    "--csrf-secret-hex",
                    &hex,
                    "--format",
                    "json",
                ]
                .map(str::to_string),
            );
            let o = bin().args(&args).output().unwrap();
            assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let shown = by_name(v["headers"].as_array().unwrap().iter().map(|x| {
                (
                    x[0].as_str().unwrap().to_string(),
                    x[1].as_str().unwrap().to_string(),
                )
            }));
            let (status, sent) = over_http(&server.addr, m, p, hs);
            let at = format!("{m} {p} {hs:?}: explain {v}");
            assert_eq!(status, v["status"].as_u64().unwrap_or(200), "status: {at}");
            assert_eq!(by_name(sent), shown, "headers: {at}");
            if matches!(
                v["kind"].as_str(),
                Some("csrf-rejected" | "websocket-rejected")
            ) {
                assert_eq!(
                    shown["guestlist-reason"],
                    [v["reason_code"].as_str().unwrap()],
                    "{at}"
                );
            }
            *checked
                .entry(v["kind"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    // Every kind of answer was compared.
    assert_eq!(checked.len(), 9, "{checked:?}");
}

#[test]
fn emit_rust_is_what_build_rs_writes() {
    let dir = tempdir("cli-emit");
    let out = dir.join("policy.rs");
    let o = run(&[
        "emit",
        "rust",
        site().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let emitted = std::fs::read_to_string(&out).unwrap();
    assert!(
        emitted.starts_with(&format!(
            "// DO NOT EDIT, generated by `guestlist emit rust {} -o {}`.\n",
            site().display(),
            out.display()
        )),
        "{emitted}"
    );
    let built = guestlist_compiler::Build::new()
        .policy(site())
        .cargo_output(false)
        .generate()
        .unwrap()
        .code;
    let body = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("// DO NOT EDIT"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&emitted), body(&built));
    assert!(emitted.contains("pub static GUESTLIST_POLICY: ::guestlist::Policy = {"));
    assert!(emitted.contains(&format!(
        "::guestlist::__private::check_table_format({});",
        guestlist::__private::TABLE_FORMAT
    )));
    // Deterministic: byte-identical on a second run, to stdout too.
    let again = run(&[
        "emit",
        "rust",
        site().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), emitted);
    let stdout = run(&["emit", "rust", site().to_str().unwrap()]);
    assert_eq!(body(&text(&stdout.stdout)), body(&emitted));
    // A policy with errors emits nothing.
    let bad = dir.join("bad.policy");
    std::fs::write(
        &bad,
        "cors a { allow-origins * ; allow-credentials true }\nroute \"/x\" { cors a }\n",
    )
    .unwrap();
    let out2 = dir.join("never.rs");
    let o = run(&[
        "emit",
        "rust",
        bad.to_str().unwrap(),
        "-o",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out2.exists());
}

#[test]
fn explain_json_names_every_guard_and_its_headers() {
    let guards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/guards.policy");
    let explain = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["explain", guards.to_str().unwrap()];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        let o = bin().args(&all).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let v = explain(&["--method", "GET", "--path", "/page"]);
    assert_eq!(
        v["policies"],
        serde_json::json!({"cors": null, "csp": "app", "headers": "hardened", "csrf": "forms", "websocket": null})
    );
    let names: Vec<&str> = v["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap())
        .collect();
    assert!(names.contains(&"content-security-policy"), "{names:?}");
    assert!(names.contains(&"reporting-endpoints"), "{names:?}");
    assert!(names.contains(&"strict-transport-security"), "{names:?}");
    let csp = v["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "content-security-policy")
        .unwrap();
    assert!(
        csp[1].as_str().unwrap().contains("'nonce-{nonce}'"),
        "{csp}"
    );
    let v = explain(&[
        "--method",
        "POST",
        "--path",
        "/form",
        "-H",
        "Origin: https://evil.example",
        "-H",
        "Sec-Fetch-Site: cross-site",
    ]);
    assert_eq!(
        (v["kind"].as_str(), v["status"].as_u64()),
        (Some("csrf-rejected"), Some(403))
    );
    assert_eq!(v["reason_code"], "csrf-cross-site");
    assert_eq!(
        v["headers"][0],
        serde_json::json!(["guestlist-reason", "csrf-cross-site"])
    );
    let v = explain(&[
        "--method",
        "GET",
        "--path",
        "/live",
        "-H",
        "Origin: https://evil.example",
        "-H",
        "Upgrade: websocket",
    ]);
    assert_eq!(v["kind"], "websocket-rejected");
    assert_eq!(v["policies"]["websocket"], "live");
    let v = explain(&[
        "--method",
        "GET",
        "--path",
        "/live",
        "-H",
        "Origin: https://app.example.com",
        "-H",
        "Upgrade: websocket",
    ]);
    assert_eq!(
        (v["kind"].as_str(), v["reason_code"].as_str()),
        (Some("websocket-allowed"), Some("websocket-origin-allowed"))
    );
}

#[test]
fn token_routes_are_a_loss_for_nginx_and_explain_checks_tokens() {
    let guards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/guards.policy");
    let dir = support::tempdir("cli-token");
    // The example has a nonce CSP (refused for nginx); a token-only policy is exported.
    let p = dir.join("t.policy");
    std::fs::write(
        &p,
        "csrf account {\n    token  header \"X-CSRF-Token\"  cookie \"__Host-csrf\"  bind-to cookie \"session\"\n}\nroute \"/account/*\" { csrf account }\n",
    )
    .unwrap();
    let out = dir.join("out");
    let emit = |extra: &[&str]| {
        let mut args = vec![
            "emit",
            "nginx",
            p.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    // Not accepted: GL1202 at the token line, exit 1, nothing written.
    let o = emit(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("error[GL1202]"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stderr).contains("t.policy:2:"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.join("guestlist-server.conf").exists());
    // An unknown kind is a usage error.
    let o = emit(&["--accept-loss", "csrf-tokens"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    // Accepted: written, the loss named in every file's header comment.
    let o = emit(&["--accept-loss", "csrf-token"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let server = std::fs::read_to_string(out.join("guestlist-server.conf")).unwrap();
    assert!(
        server.contains(
            "# Accepted losses (--accept-loss):\n#   csrf-token: csrf policy `account` ("
        ),
        "{server}"
    );
    let snippet = std::fs::read_to_string(out.join("routes/prefix-account.conf")).unwrap();
    assert!(
        snippet.contains("nginx cannot verify an\n# HMAC"),
        "{snippet}"
    );
    // The docs list what each edge loses once accepted, and nothing otherwise.
    let docs = |extra: &[&str]| {
        let mut args = vec!["emit", "docs", p.to_str().unwrap()];
        args.extend_from_slice(extra);
        text(&run(&args).stdout)
    };
    let md = docs(&["--accept-loss", "csrf-token"]);
    assert!(md.contains("## Accepted losses"), "{md}");
    assert!(
        md.contains("- nginx:\n  - `csrf-token`: csrf policy `account` ("),
        "{md}"
    );
    assert!(!docs(&[]).contains("Accepted losses"));
    // explain with a test secret: a token minted for another session is named as such.
    let hex = "ab".repeat(32);
    let secret = guestlist::CsrfSecret::from_hex(&hex).unwrap();
    let other = guestlist::mint_csrf_token(&secret, b"mallory").unwrap();
    let mine = guestlist::mint_csrf_token(&secret, b"alice").unwrap();
    let explain = |token: &str| -> serde_json::Value {
        let cookie = format!("Cookie: session=alice; __Host-csrf={token}");
        let header = format!("X-CSRF-Token: {token}");
        let o = run(&[
            "explain",
            guards.to_str().unwrap(),
            "--method",
            "POST",
            "--path",
            "/account/x",
            "-H",
            &cookie,
            "-H",
            &header,
            "--csrf-secret-hex",
            &hex,
            "--format",
            "json",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let v = explain(&other);
    assert_eq!(
        (v["kind"].as_str(), v["reason_code"].as_str()),
        (Some("csrf-rejected"), Some("csrf-token-other-session"))
    );
    let v = explain(&mine);
    assert_eq!(v["kind"], "not-cors");
    let o = run(&[
        "explain",
        guards.to_str().unwrap(),
        "--method",
        "GET",
        "--path",
        "/",
        "--csrf-secret-hex",
        "abcd",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a short secret is a usage error: {}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stderr).contains("at least 32"),
        "{}",
        text(&o.stderr)
    );
}

/// `explain --format json` reports the token check of a route whose csrf policy signs tokens:
/// its outcome or refusal (`null` when it did not run), and whether a cookie is set; the key
/// is absent on other routes. The text step names the form field the layer reads.
#[test]
fn explain_json_reports_the_token_check() {
    let guards = root().join("examples/policies/guards.policy");
    let hex = "cd".repeat(32);
    let secret = guestlist::CsrfSecret::from_hex(&hex).unwrap();
    let token = guestlist::mint_csrf_token(&secret, b"alice").unwrap();
    let cookie = format!("Cookie: session=alice; __Host-csrf={token}");
    let explain = |method: &str, path: &str, headers: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "explain",
            guards.to_str().unwrap(),
            "--method",
            method,
            "--path",
            path,
            "--csrf-secret-hex",
            &hex,
            "--format",
            "json",
        ];
        for h in headers {
            args.extend_from_slice(&["-H", h]);
        }
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let urlencoded = "Content-Type: application/x-www-form-urlencoded";
    let multipart = "Content-Type: multipart/form-data; boundary=x";
    for (method, path, headers, kind, token) in [
        // Explained without a body, as the layer is given it: an empty form, no token field.
        (
            "POST",
            "/account/x",
            vec![cookie.as_str(), urlencoded],
            "csrf-rejected",
            serde_json::json!({"reason": "csrf-token-missing", "issue": false}),
        ),
        (
            "POST",
            "/account/x",
            vec![cookie.as_str(), multipart],
            "csrf-rejected",
            serde_json::json!({"reason": "csrf-token-form-unsupported", "issue": false}),
        ),
        (
            "POST",
            "/account/x",
            vec![cookie.as_str(), "Content-Type: application/json"],
            "csrf-rejected",
            serde_json::json!({"reason": "csrf-token-missing", "issue": false}),
        ),
        (
            "POST",
            "/legacy/x",
            vec![cookie.as_str(), multipart],
            "not-cors",
            serde_json::json!({"reason": "csrf-token-deferred", "issue": false}),
        ),
        (
            "GET",
            "/account/x",
            vec!["Cookie: session=alice"],
            "not-cors",
            serde_json::json!({"reason": "csrf-token-issued", "issue": true}),
        ),
        (
            "POST",
            "/account/x",
            vec![cookie.as_str(), urlencoded, "Sec-Fetch-Site: cross-site"],
            "csrf-rejected",
            serde_json::json!({"reason": null, "issue": false}),
        ),
    ] {
        let v = explain(method, path, &headers);
        assert_eq!(v["kind"], kind, "{method} {path} {headers:?}: {v}");
        assert_eq!(v["csrf_token"], token, "{method} {path} {headers:?}: {v}");
    }
    let v = explain("POST", "/form", &[urlencoded]);
    assert!(v.get("csrf_token").is_none(), "{v}");
    let v = explain("POST", "/account/x", &[cookie.as_str(), urlencoded]);
    assert!(
        v["steps"].as_array().unwrap().iter().any(|s| s["text"]
            .as_str()
            .unwrap()
            .contains("or form field csrf_token of an urlencoded body up to 64 KiB")),
        "{v}"
    );
}

/// GL1010: nginx answers 400 to a method with a byte other than A-Z, `_` and `-`, so `emit
/// nginx` and `build` refuse a policy that allows one, with the method underlined, and write
/// nothing; `check` only warns (GL0304).
#[test]
fn nginx_export_refuses_a_method_nginx_refuses() {
    let dir = support::tempdir("gl1010");
    let policy = dir.join("m.policy");
    std::fs::write(
        &policy,
        "cors api {\n    allow-origins  \"https://app.example.com\"\n    allow-methods  PUT patch X.Y\n    max-age        2h\n}\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let o = run(&["check", p]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for (args, out) in [
        (vec!["emit", "nginx", p, "-o"], dir.join("nginx")),
        (vec!["build", p, "-o"], dir.join("build")),
    ] {
        let mut args = args;
        let out_s = out.to_str().unwrap().to_string();
        args.push(&out_s);
        let o = run(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("error[GL1010]: nginx answers 400 to the method `patch`"),
            "{err}"
        );
        assert!(err.contains("m.policy:3:24"), "{err}");
        assert!(err.contains("help: write `PATCH`"), "{err}");
        assert!(
            err.contains("error[GL1010]: nginx answers 400 to the method `X.Y`"),
            "{err}"
        );
        assert!(!err.contains("`PUT`"), "{err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

/// GL1011: nginx picks a location by the normalised path, so `emit nginx` and `build` refuse
/// `paths { non-normal two-readings }` at the setting and write nothing; `check` and `emit
/// rust` (the runtime applies both readings) accept it.
#[test]
fn nginx_export_refuses_two_readings() {
    let dir = support::tempdir("gl1011");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "paths { non-normal two-readings }\ncors api {\n    allow-origins  \"https://app.example.com\"\n    max-age        2h\n}\nroute \"/api/*\" { cors api }\nroute \"/*\" { }\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let o = run(&["check", p]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let rust = dir.join("rust");
    let o = run(&["emit", "rust", p, "-o", rust.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for (args, out) in [
        (vec!["emit", "nginx", p, "-o"], dir.join("nginx")),
        (vec!["build", p, "-o"], dir.join("build")),
    ] {
        let mut args = args;
        let out_s = out.to_str().unwrap().to_string();
        args.push(&out_s);
        let o = run(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(
                "error[GL1011]: nginx cannot apply both readings of a path with dot segments"
            ),
            "{err}"
        );
        assert!(err.contains("p.policy:1:9"), "{err}");
        assert!(
            err.contains("help: keep `paths { non-normal reject }`"),
            "{err}"
        );
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

/// `--origins NAME=FILE` supplies a set declared `origins NAME provided`: `check` reports each
/// bad entry at its file, line and column with its code (exit 1) and passes a good file;
/// `explain` decides with the entries; a set that is unknown, not provided or named twice, an
/// unreadable file and a malformed argument are usage errors (exit 2).
#[test]
fn origins_files_are_checked_and_supplied() {
    let dir = support::tempdir("origins-files");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins tenants provided tenant-bound\norigins fixed { \"https://fixed.example.com\" }\ncors api {\n    allow-origins      tenants fixed\n    allow-credentials  true\n    max-age            10m\n}\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let good = dir.join("good.txt");
    std::fs::write(
        &good,
        "\u{feff}# tenants\r\nhttps://a.example.com  tenant-a  # the first\r\nhttps://b.example.com tenant-b\n",
    )
    .unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(
        &bad,
        "https://a.example.com tenant-a\nhttp://b.example.com tenant-b\nhttps://C.example.com tenant-c\nhttps://d.example.com\nhttps://e.example.com k extra\nhttps://a.example.com tenant-x\nhttps://fixed.example.com tenant-f\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let arg = |name: &str, f: &std::path::Path| format!("{name}={}", f.display());
    let o = run(&["check", p, "--origins", &arg("tenants", &good)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(&["check", p, "--origins", &arg("tenants", &bad)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for (code, at) in [
        ("GL0214", "bad.txt:2:1"),
        ("GL0206", "bad.txt:3:9"),
        ("GL1405", "bad.txt:4:1"),
        ("GL1405", "bad.txt:5:1"),
        ("GL1405", "bad.txt:6:1"),
        ("GL1408", "bad.txt:7:1"),
    ] {
        assert!(
            err.lines()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[0].starts_with(&format!("error[{code}]")) && w[1].ends_with(at)),
            "{code} at {at}: {err}"
        );
    }
    assert!(!err.contains("bad.txt:1:"), "{err}");
    for (args, why) in [
        (arg("nosuch", &good), "no origins set `nosuch`"),
        (arg("fixed", &good), "is written in the policy"),
        (arg("tenants", &dir.join("missing.txt")), "cannot read"),
        ("tenants".to_string(), "write NAME=FILE"),
    ] {
        let o = run(&["check", p, "--origins", &args]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args}: {err}");
        assert!(err.contains(why), "{args}: {err}");
    }
    // nginx gets no entry of the set, with a warning.
    let out = dir.join("nginx");
    let o = run(&["emit", "nginx", p, "-o", out.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning[GL1407]: origins set `tenants` is empty in the nginx configuration"),
        "{err}"
    );
    assert!(std::fs::read_to_string(out.join("origins/tenants.conf"))
        .unwrap()
        .contains("EMPTY: no entries were supplied"),);
    // `emit nginx` and `build` take the file: its entries go to origins/tenants.conf alone,
    // never to the Rust output; bad entries and usage errors write nothing.
    for cmd in [&["emit", "nginx"][..], &["build"][..]] {
        let out = dir.join(format!("out-{}", cmd.len()));
        let o_arg = out.to_str().unwrap();
        let with = |origins: &str| {
            let mut args = cmd.to_vec();
            args.extend([p, "-o", o_arg, "--origins", origins]);
            run(&args)
        };
        for (args, code) in [
            (arg("tenants", &bad), 1),
            (arg("nosuch", &good), 2),
            (arg("fixed", &good), 2),
            (arg("tenants", &dir.join("missing.txt")), 2),
        ] {
            let o = with(&args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(code), "{cmd:?} {args}: {err}");
            assert!(!out.exists(), "{cmd:?} {args}: wrote {}", out.display());
            if code == 1 {
                assert!(
                    err.contains("bad.txt:2:1") && err.contains("GL0214"),
                    "{err}"
                );
            }
        }
        let o = with(&arg("tenants", &good));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{cmd:?}: {err}");
        assert!(!err.contains("GL1407"), "{err}");
        let nginx = if cmd.len() == 1 {
            out.join("nginx")
        } else {
            out.clone()
        };
        let set = std::fs::read_to_string(nginx.join("origins/tenants.conf")).unwrap();
        let http = std::fs::read_to_string(nginx.join("guestlist-http.conf")).unwrap();
        for origin in ["https://a.example.com", "https://b.example.com"] {
            assert!(set.contains(&format!("\"{origin}\" 1;")), "{set}");
            assert!(!http.contains(origin), "{http}");
            assert!(!set.contains("tenant-a"), "keys stay out of nginx: {set}");
        }
        assert!(
            http.contains(&format!(
                "include {}/origins/tenants.conf;",
                std::fs::canonicalize(&nginx).unwrap().display()
            )),
            "{http}"
        );
        if cmd.len() == 1 {
            let rust = std::fs::read_to_string(out.join("guestlist_policy.rs")).unwrap();
            assert!(
                !rust.contains("a.example.com") && !rust.contains("b.example.com"),
                "{rust}"
            );
            assert!(rust.contains("tenants"), "{rust}");
        }
    }
    let o = run(&["emit", "rust", p, "--origins", &arg("tenants", &good)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    // The docs show the set as supplied at run time, tenant-bound.
    let o = run(&["emit", "docs", p]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout)
            .contains("| every entry of `tenants`, supplied at run time | exactly; tenant-bound"),
        "{}",
        text(&o.stdout)
    );
    let twice = arg("tenants", &good);
    let o = run(&["check", p, "--origins", &twice, "--origins", &twice]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    // `explain` decides with the supplied entries, and without them the set is empty.
    for (origins, want) in [(Some(arg("tenants", &good)), true), (None, false)] {
        let mut args = vec![
            "explain",
            p,
            "--method",
            "GET",
            "--path",
            "/api/x",
            "-H",
            "Origin: https://b.example.com",
            "--format",
            "json",
        ];
        if let Some(o) = &origins {
            args.extend(["--origins", o.as_str()]);
        }
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["kind"] == "actual-allowed", want, "{origins:?}: {v}");
        // The entry's file and line (the BOM and the comment line come first).
        if want {
            let src = &v["origin_source"];
            assert_eq!(src["set"], "tenants", "{v}");
            assert_eq!(src["entry"], "https://b.example.com", "{v}");
            assert_eq!(src["line"], 3, "{v}");
            assert!(
                src["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("good.txt")),
                "{v}"
            );
        } else {
            assert!(v.get("origin_source").is_none(), "{v}");
        }
    }
}

/// In a tenant-bound set, an entry that allows, or is allowed by, an entry with another key is
/// refused at its line (GL1409), naming the earlier line; entries with the same key may
/// overlap, and an apex is not under its own `*.` pattern.
#[test]
fn overlapping_entries_of_two_tenants_are_refused() {
    let dir = support::tempdir("tenant-overlap");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins tenants provided tenant-bound patterns\ncors api {\n    allow-origins      tenants\n    allow-credentials  true\n    max-age            10m\n}\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let file = dir.join("tenants.txt");
    std::fs::write(
        &file,
        [
            "https://*.a.example.com tenant-a",
            "https://*.x.a.example.com tenant-b",
            "https://p.a.example.com tenant-b",
            "https://q.a.example.com tenant-a",
            "https://a.example.com tenant-b",
            "https://w.d.example.com tenant-c",
            "https://b.example.com:* tenant-c",
            "https://b.example.com:8443 tenant-d",
            "https://b.example.com:8444 tenant-c",
            "https://*.d.example.com tenant-e",
            "https://*.e.example.com:* tenant-e",
            "https://*.e.example.com tenant-f",
            "",
        ]
        .join("\n"),
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let o = run(&[
        "check",
        p,
        "--origins",
        &format!("tenants={}", file.display()),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let at: Vec<&str> = lines
        .windows(2)
        .filter(|w| w[0].starts_with("error[GL1409]"))
        .filter_map(|w| w[1].rsplit_once("tenants.txt:").map(|x| x.1))
        .collect();
    assert_eq!(at, ["2:1", "3:1", "8:1", "10:1", "12:1"], "{err}");
    for (entry, line) in [
        ("https://*.a.example.com", 1),
        ("https://b.example.com:*", 7),
        ("https://w.d.example.com", 6),
        ("https://*.e.example.com:*", 11),
    ] {
        assert!(
            err.contains(&format!(
                "error[GL1409]: a supplied entry overlapping `{entry}` of another tenant (line {line})"
            )),
            "{entry}: {err}"
        );
    }
    assert!(
        err.contains("key `tenant-b` here, `tenant-a` there"),
        "{err}"
    );
    // Without the overlapping lines the file is good.
    let all = std::fs::read_to_string(&file).unwrap();
    let good: Vec<&str> = all
        .lines()
        .enumerate()
        .filter(|(i, _)| ![1, 2, 7, 9, 11].contains(i))
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&file, good.join("\n")).unwrap();
    let o = run(&[
        "check",
        p,
        "--origins",
        &format!("tenants={}", file.display()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// Without `--origins`, `explain` and `test` note (GL1403) that a provided set their decisions
/// use is empty; with it, no note, and `explain`'s human format names the entry's `FILE:LINE`.
#[test]
fn explain_and_test_note_empty_sets_and_name_the_entry_line() {
    let dir = support::tempdir("empty-set-notes");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins tenants provided tenant-bound\ncors api {\n    allow-origins      tenants\n    allow-credentials  true\n    max-age            10m\n}\ncors other { allow-origins \"https://o.example.com\" }\nroute \"/api/*\" { cors api }\nroute \"/other/*\" { cors other }\ntest \"not supplied\" {\n    request  GET \"/api/x\"\n    header   Origin \"https://b.example.com\"\n    expect   actual-not-allowed\n}\n",
    )
    .unwrap();
    let good = dir.join("good.txt");
    std::fs::write(
        &good,
        "# tenants\nhttps://a.example.com tenant-a\nhttps://b.example.com tenant-b  # B\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let supplied = format!("tenants={}", good.display());
    let note = "note[GL1403]: origins set `tenants` is supplied at run time";
    let explain = |path: &str, format: &str, origins: Option<&str>| {
        let mut args = vec![
            "explain",
            p,
            "--method",
            "GET",
            "--path",
            path,
            "-H",
            "Origin: https://b.example.com",
            "--format",
            format,
        ];
        if let Some(o) = origins {
            args.extend(["--origins", o]);
        }
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        (text(&o.stdout), text(&o.stderr))
    };
    for format in ["human", "json"] {
        // The decision uses the empty set: a note, on stderr (JSON stays one value).
        let (out, err) = explain("/api/x", format, None);
        assert!(err.contains(note), "{format}: {err}");
        assert!(err.contains("p.policy:1:9"), "{format}: {err}");
        assert!(!out.contains("GL1403"), "{format}: {out}");
        // A route whose policy names no provided set: no note.
        let (_, err) = explain("/other/x", format, None);
        assert!(!err.contains("GL1403"), "{format}: {err}");
        // Supplied: no note.
        let (_, err) = explain("/api/x", format, Some(&supplied));
        assert!(!err.contains("GL1403"), "{format}: {err}");
    }
    let (out, _) = explain("/api/x", "human", Some(&supplied));
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("is an entry of `tenants`, supplied at run time"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        lines[at + 1].trim_start().starts_with("-->") && lines[at + 1].ends_with("good.txt:3"),
        "{out}"
    );
    assert_eq!(
        lines[at + 2].trim(),
        "| https://b.example.com tenant-b  # B",
        "{out}"
    );
    // `test`: a test that does not supply the set runs with it empty.
    let o = run(&["test", p]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains(note), "{}", text(&o.stderr));
    let o = run(&["test", p, "--origins", &supplied]);
    assert!(!text(&o.stderr).contains("GL1403"), "{}", text(&o.stderr));
}

/// A `test` block's `origins NAME "ORIGIN"...` line supplies the set for that test only; an
/// entry the set refuses fails the test, naming it.
#[test]
fn test_blocks_supply_sets() {
    let dir = support::tempdir("test-origins");
    let policy = dir.join("p.policy");
    let write = |extra: &str| {
        std::fs::write(
            &policy,
            format!(
                "origins tenants provided tenant-bound\ncors api {{\n    allow-origins      tenants\n    allow-credentials  true\n    max-age            10m\n}}\nroute \"/api/*\" {{ cors api }}\ntest \"supplied\" {{\n    origins  tenants \"https://a.example.com\" \"https://b.example.com\"\n    request  GET \"/api/x\"\n    header   Origin \"https://b.example.com\"\n    expect   actual-allowed\n}}\ntest \"not supplied here\" {{\n    request  GET \"/api/x\"\n    header   Origin \"https://b.example.com\"\n    expect   actual-not-allowed\n}}\n{extra}"
            ),
        )
        .unwrap();
    };
    write("");
    let p = policy.to_str().unwrap();
    let o = run(&["test", p]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    // "not supplied here" runs with the set empty: a note says so.
    assert!(
        text(&o.stderr).contains("note[GL1403]"),
        "{}",
        text(&o.stderr)
    );
    write("test \"refused\" {\n    origins  tenants \"http://c.example.com\"\n    request  GET \"/api/x\"\n    header   Origin \"http://c.example.com\"\n    expect   actual-allowed\n}\n");
    let o = run(&["test", p]);
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(all.contains("\"http://c.example.com\" refused"), "{all}");
}

/// A header only the route above sets or removes, which nginx could not hide for the paths
/// that read as it only (a removed CSP, a header of your own): `emit nginx` and `build` refuse
/// with GL1012 at the route above, exit 1 and write nothing; a one-value header the route
/// above sets (X-Frame-Options) is emitted. The same with a
/// host block whose routes answer as the top-level ones: GL1012 still (the two readings
/// differ), never GL1110 (no two hosts do).
#[test]
fn nginx_export_refuses_a_header_it_cannot_apply_to_one_reading() {
    let dir = support::tempdir("gl1012");
    let cases = [
        (
            "remove content-security-policy",
            Some("remove `content-security-policy`"),
        ),
        (
            "remove permissions-policy",
            Some("remove `permissions-policy`"),
        ),
        // Added beside the application's, its other members would still apply.
        (
            "permissions-policy camera=()",
            Some("set `permissions-policy`"),
        ),
        ("referrer-policy no-referrer", None),
        ("remove x-own.header", Some("remove `x-own.header`")),
        ("remove set-cookie", Some("remove `set-cookie`")),
        ("x-frame-options DENY", None),
        ("remove x-powered-by", None),
    ];
    let blocks = [
        "",
        "host \"x.example.com\" {\n    route \"/api/*\" { headers above }\n    route \"/api/b/*\" { }\n}\n",
    ];
    for (i, (block, (set, want))) in blocks
        .iter()
        .flat_map(|b| cases.iter().map(move |c| (b, *c)))
        .enumerate()
    {
        let policy = dir.join(format!("p{i}.policy"));
        std::fs::write(
            &policy,
            format!("headers above {{\n    {set}\n}}\nroute \"/api/*\" {{ headers above }}\nroute \"/api/b/*\" {{ }}\n{block}"),
        )
        .unwrap();
        let p = policy.to_str().unwrap();
        let o = run(&["check", p]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        for (args, out) in [
            (
                vec!["emit", "nginx", p, "-o"],
                dir.join(format!("nginx{i}")),
            ),
            (vec!["build", p, "-o"], dir.join(format!("build{i}"))),
        ] {
            let mut args = args;
            let out_s = out.to_str().unwrap().to_string();
            args.push(&out_s);
            let o = run(&args);
            let err = text(&o.stderr);
            match want {
                Some(what) => {
                    assert_eq!(o.status.code(), Some(1), "{set}: {args:?}: {err}");
                    // Without host blocks the route is `route "/api/b/*"`; with them, the
                    // answer's name (`top-level route "/api/b/*"`).
                    assert!(
                        err.contains(&format!(
                            "error[GL1012]: nginx cannot {what} only for the paths of "
                        )) && err.contains("route \"/api/b/*\" that read as this route when sent"),
                        "{set}: {err}"
                    );
                    assert!(err.contains(&format!("p{i}.policy:4:8")), "{set}: {err}");
                    assert!(err.contains("help: "), "{set}: {err}");
                    assert!(!err.contains("GL1110"), "{set}: {err}");
                    assert!(!out.exists(), "{args:?} wrote {}", out.display());
                }
                None => {
                    assert_eq!(o.status.code(), Some(0), "{set}: {args:?}: {err}");
                    assert!(out.exists(), "{set}: {args:?}");
                }
            }
        }
    }
}

/// The reverse of the above: the route below (`/api/b/*`) removes a header that holds several
/// lines, which the routes above leave to the upstream. nginx hides it on every
/// request of `/api/b/*`, where the paths that read as a route above when sent (`/api/b%2Fx`)
/// must get the upstream's lines whole: GL1012 at the route below, exit 1, nothing written. A
/// one-value header, and a list-valued one such as a CSP (its first line passed whole), are
/// emitted.
#[test]
fn nginx_export_refuses_a_header_the_route_below_hides_from_the_route_above() {
    let dir = support::tempdir("gl1012-below");
    for (i, (set, want)) in [
        ("remove set-cookie", Some("remove `set-cookie`")),
        ("remove link", Some("remove `link`")),
        ("remove x-frame-options", None),
        ("x-frame-options DENY", None),
        // Passed on from its first line, whole (spec/nginx.md, "Where nginx and the runtime
        // can differ").
        ("remove content-security-policy", None),
    ]
    .into_iter()
    .enumerate()
    {
        let policy = dir.join(format!("p{i}.policy"));
        std::fs::write(
            &policy,
            format!("headers below {{\n    {set}\n}}\nroute \"/*\" {{ }}\nroute \"/api/*\" {{ }}\nroute \"/api/b/*\" {{ headers below }}\n"),
        )
        .unwrap();
        let p = policy.to_str().unwrap();
        let out = dir.join(format!("nginx{i}"));
        let o = run(&["emit", "nginx", p, "-o", out.to_str().unwrap()]);
        let err = text(&o.stderr);
        match want {
            Some(what) => {
                assert_eq!(o.status.code(), Some(1), "{set}: {err}");
                assert!(
                    err.contains(&format!(
                        "error[GL1012]: nginx cannot {what} on route \"/api/b/*\" and pass the upstream's whole on its paths that read as route \""
                    )),
                    "{set}: {err}"
                );
                assert!(err.contains(&format!("p{i}.policy:6:8")), "{set}: {err}");
                assert!(!out.exists(), "{set}: wrote {}", out.display());
            }
            None => {
                assert_eq!(o.status.code(), Some(0), "{set}: {err}");
                assert!(out.exists(), "{set}");
            }
        }
    }
}

/// Values no target can carry, which a later stage would otherwise be the first to meet: a
/// control byte in a CSP string (explain, emit rust, build and include_policy! would fail with
/// "internal error building tables"), a non-ASCII CSP value (generated Rust that would not
/// compile) and a non-ASCII report-to URL (generated Rust without the header, an empty nginx
/// add_header), with an empty csp block (an empty header, which nginx never sends). Each is a
/// GL0839 error at the string, from `check` and from every command that reads the policy; none
/// reaches a stage that could fail another way.
#[test]
fn values_no_target_carries_are_check_errors_everywhere() {
    let dir = tempdir("cli-header-values");
    let head = "csp e {\n    script-src 'self'\n    object-src 'none'\n";
    let cases = [
        (
            "control.policy",
            format!("{head}    report-uri \"https://a.example/r\u{1}x\"\n}}\nroute \"/\" {{ csp e }}\n"),
            "control.policy:4:17",
        ),
        (
            "non-ascii.policy",
            format!("{head}    report-uri \"https://\u{e4}.example/r\"\n}}\nroute \"/\" {{ csp e }}\n"),
            "non-ascii.policy:4:17",
        ),
        (
            "report-to.policy",
            format!(
                "{head}    report-to ep \"https://\u{e4}.example/r\"\n}}\nroute \"/\" {{ csp e }}\n"
            ),
            "report-to.policy:4:19",
        ),
        (
            "empty.policy",
            "csp e {\n    dangerously-allow GL0809 \"x\"\n    dangerously-allow GL0810 \"x\"\n}\nroute \"/\" { csp e }\n".to_string(),
            "empty.policy:1:5",
        ),
    ];
    for (name, policy, at) in &cases {
        let p = dir.join(name);
        std::fs::write(&p, policy).unwrap();
        let p = p.to_str().unwrap();
        let out = dir.join(format!("{name}.out"));
        let out = out.to_str().unwrap();
        let commands: [&[&str]; 7] = [
            &["check", p],
            &["explain", p, "--method", "GET", "--path", "/"],
            &["emit", "rust", p],
            &["emit", "nginx", p, "-o", out],
            &["emit", "docs", p],
            &["build", p, "-o", out],
            &["test", p],
        ];
        for args in commands {
            let o = run(args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains("error[GL0839]") && err.contains(at),
                "{args:?}: {err}"
            );
            assert!(!err.contains("internal error"), "{args:?}: {err}");
            assert!(!Path::new(out).exists(), "{args:?} wrote {out}");
        }
        // build.rs users get the same diagnostic.
        let e = guestlist_compiler::Build::new()
            .policy(p)
            .out_dir(&dir)
            .cargo_output(false)
            .compile()
            .unwrap_err()
            .to_string();
        assert!(e.contains("error[GL0839]") && e.contains(at), "{e}");
    }
}

#[test]
fn a_supplied_entry_never_overlaps_a_static_origin() {
    let dir = support::tempdir("origins-overlap");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins partners provided patterns\norigins own { \"https://app.example.com\" \"https://*.x.example.net\" }\ncors api {\n    allow-origins  partners own\n    max-age        10m\n}\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let file = dir.join("partners.txt");
    std::fs::write(
        &file,
        "https://*.example.com\nhttps://a.x.example.net\nhttps://*.x.example.net\nhttps://*.other.example.org\nhttps://b.example.org\nhttps://*.a.x.example.net\n",
    )
    .unwrap();
    let o = run(&[
        "check",
        policy.to_str().unwrap(),
        "--origins",
        &format!("partners={}", file.display()),
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let at = |line: usize| {
        lines.windows(2).any(|w| {
            w[0].starts_with("error[GL1408]") && w[1].ends_with(&format!("partners.txt:{line}:1"))
        })
    };
    // A pattern over a static origin, an origin a static pattern allows, the same pattern, a
    // pattern a static pattern allows.
    assert!(at(1) && at(2) && at(3) && at(6), "{err}");
    // Entries beside the static ones pass.
    assert!(!at(4) && !at(5), "{err}");
}

/// `check --origins` and the runtime's `replace_provided` take the same entries: the same
/// entries, each alone, go to both, in a credentialed cors set that takes patterns and in a
/// set named by a csrf policy and a cors policy without credentials.
#[test]
fn check_origins_and_the_runtime_accept_the_same_entries() {
    let dir = tempdir("origins-agree");
    let entries = [
        "https://a.example.com",
        "https://a.example.com:8443",
        "http://a.example.com",
        "http://localhost:3000",
        "http://127.0.0.1:8080",
        "http://[::1]:3000",
        "ws://a.example.com",
        "wss://a.example.com",
        "ws://localhost:3000",
        "ftp://a.example.com",
        "FTP://a.example.com",
        "chrome-extension://abcdefghijklmnop",
        "moz-extension://1b2c3d4e-aaaa-bbbb-cccc-0123456789ab",
        "file:///etc/passwd",
        "https://*.example.com",
        "https://*.b.example.com:*",
        "https://c.example.com:*",
        "wss://*.example.com",
        "https://*.github.io",
        "https://*.co.uk",
        "https://A.example.com",
        "https://a.example.com/",
        "https://a.example.com.",
        "https://a.example.com:443",
        "https://xn--bcher-kva.example",
        "https://bücher.example",
        "https://[::ffff:7f00:1]",
        "https://1.2.3.4",
        "https://a_b.example.com",
        "https://-a.example.com",
        "https://foo.com:0",
        "null",
        "*",
        "example.com",
        "a+b.c-d://example.com",
    ];
    let policies = [
        (
            "credentials",
            "origins tenants provided patterns\ncors api {\n    allow-origins      tenants\n    allow-credentials  true\n}\nroute \"/api/*\" { cors api }\n",
        ),
        (
            "csrf",
            "origins tenants provided patterns\ncors api {\n    allow-origins  tenants\n}\ncsrf forms {\n    trusted-origins  tenants\n}\nroute \"/api/*\" { cors api }\nroute \"/form/*\" { csrf forms }\n",
        ),
    ];
    let file = dir.join("entries.txt");
    std::fs::write(&file, entries.join("\n") + "\n").unwrap();
    let mut accepted_somewhere = 0;
    for (what, text_) in policies {
        let policy = dir.join(format!("{what}.policy"));
        std::fs::write(&policy, text_).unwrap();
        // The policy alone is clean, so every error below is an entry's.
        let o = run(&["check", policy.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", text(&o.stderr));
        let o = run(&[
            "check",
            policy.to_str().unwrap(),
            "--format",
            "json",
            "--origins",
            &format!("tenants={}", file.display()),
        ]);
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let refused_lines: std::collections::BTreeSet<u64> = json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["severity"] == "error")
            .map(|d| {
                assert!(d["file"].as_str().unwrap().ends_with("entries.txt"), "{d}");
                d["line"].as_u64().unwrap()
            })
            .collect();
        let lowered = guestlist_compiler::Compilation::load(std::slice::from_ref(&policy))
            .unwrap()
            .lower("default")
            .unwrap();
        for (i, e) in entries.iter().enumerate() {
            let by_cli = !refused_lines.contains(&(i as u64 + 1));
            let by_runtime = lowered
                .policy
                .replace_provided(
                    "tenants",
                    [guestlist::SuppliedEntry {
                        origin: (*e).to_string(),
                        key: None,
                    }],
                )
                .unwrap();
            assert_eq!(
                by_cli,
                by_runtime.is_ok(),
                "{what}: {e}: check --origins {} it, the runtime {}",
                if by_cli { "accepts" } else { "refuses" },
                match &by_runtime {
                    Ok(_) => "accepts it".to_string(),
                    Err(x) => format!("refuses it: {x}"),
                }
            );
            accepted_somewhere += usize::from(by_cli);
        }
        assert_eq!(o.status.code(), Some(1), "{what}: some entries are bad");
    }
    // Both sides accept some entries: the comparison is not of two refusals.
    assert!(accepted_somewhere >= 6, "{accepted_somewhere}");
}

/// Relative to the repository root, where the host tests run, so that lines read
/// `compiler/tests/fixtures/hosts.policy:N:C`.
fn hosts_fixture() -> PathBuf {
    PathBuf::from("compiler/tests/fixtures/hosts.policy")
}

fn run_at_root(args: &[&str]) -> Output {
    bin().current_dir(root()).args(args).output().unwrap()
}

/// `fixtures/hosts.policy` with `hosts dispatched-by-application` added, in a temporary file.
fn hosts_dispatched_fixture(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join(hosts_fixture())).unwrap();
    // Its tests assume the guards follow the path; only the policy is wanted here.
    let policy = text.split("\ntest ").next().unwrap();
    let p = dir.join("dispatched.policy");
    std::fs::write(&p, format!("hosts dispatched-by-application\n{policy}")).unwrap();
    p
}

const CROSS_SITE_POST: [&str; 10] = [
    "--method",
    "POST",
    "--path",
    "/account/delete",
    "-H",
    "Host: x.tenants.example.com",
    "-H",
    "Origin: https://evil.example",
    "-H",
    "Sec-Fetch-Site: cross-site",
];

fn explain_file(file: &Path, args: &[&str], json: bool) -> Output {
    let mut all = vec!["explain", file.to_str().unwrap()];
    all.extend_from_slice(args);
    if json {
        all.extend_from_slice(&["--format", "json"]);
    }
    run_at_root(&all)
}

/// A cross-site POST to a tenant host is refused by the api block's csrf on the same path:
/// explain names the block the host selected, and the other block's route that refused it,
/// with their lines.
#[test]
fn explain_names_the_host_block_and_the_block_that_refused() {
    let f = hosts_fixture();
    let o = explain_file(&f, &CROSS_SITE_POST, false);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let sel = out
        .find("1. host x.tenants.example.com selects host block \"*.tenants.example.com\" \"tenants.example.net:8443\"\n   --> compiler/tests/fixtures/hosts.policy:28:1")
        .unwrap_or_else(|| panic!("{out}"));
    let by = out
        .find("guards follow the path on every host: host block \"api.example.com\"'s route \"/account/*\" decides too: csrf policy `app` refused it with 403: Sec-Fetch-Site says the request comes from another site\n   --> compiler/tests/fixtures/hosts.policy:20:12")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(sel < by, "{out}");
    assert!(out.contains("result: csrf-rejected (403"), "{out}");
    // The selected route's own step does not claim the refusal.
    assert!(!out.contains("route \"/*\" matches /account/delete (longest matching prefix)\n   --> compiler/tests/fixtures/hosts.policy:29:12\n   |     route \"/*\" {\n2. csrf"), "{out}");

    let o = explain_file(&f, &CROSS_SITE_POST, true);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let h = &v["host"];
    assert_eq!(h["authority"], "x.tenants.example.com");
    assert_eq!(h["ambiguous"], false);
    assert_eq!(h["dispatched_by_application"], false);
    assert_eq!(
        h["block"],
        serde_json::json!({
            "patterns": ["*.tenants.example.com", "tenants.example.net:8443"],
            "line": "compiler/tests/fixtures/hosts.policy:28:1",
        })
    );
    assert_eq!(
        h["contributing"],
        serde_json::json!([{
            "patterns": ["api.example.com"],
            "host_line": "compiler/tests/fixtures/hosts.policy:19:1",
            "route": "/account/*",
            "line": "compiler/tests/fixtures/hosts.policy:20:12",
            "reading": null,
            "adds": ["csrf", "cors"],
            "policies": {"cors": null, "csrf": "app", "websocket": null},
            "kind": "csrf-rejected",
            "reason_code": "csrf-cross-site",
            "refused": true,
        }])
    );
    assert_eq!(v["kind"], "csrf-rejected");
    assert_eq!(v["route"], "/*");

    // A same-origin POST passes the api block's csrf; its missing cors policy still refuses
    // CORS on the tenant host.
    let o = explain_file(
        &f,
        &[
            "--method",
            "POST",
            "--path",
            "/account/delete",
            "-H",
            "Host: x.tenants.example.com",
            "-H",
            "Origin: https://x.tenants.example.com",
        ],
        true,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["reason_code"], "hosts-disagree");
    let c = &v["host"]["contributing"][0];
    assert_eq!(
        (c["refused"].clone(), c["kind"].clone()),
        (true.into(), "not-cors".into()),
        "{v}"
    );
    assert_eq!(
        v["host"]["contributing"].as_array().unwrap().len(),
        1,
        "{v}"
    );

    // A preflight the api block's cors allows, refused by the tenants block's cors on the
    // same path.
    let args = [
        "--method",
        "OPTIONS",
        "--path",
        "/api/x",
        "-H",
        "Host: api.example.com",
        "-H",
        "Origin: https://app.example.com",
        "-H",
        "Access-Control-Request-Method: PUT",
    ];
    let v: serde_json::Value =
        serde_json::from_slice(&explain_file(&f, &args, true).stdout).unwrap();
    assert_eq!(v["kind"], "preflight-rejected");
    let c = &v["host"]["contributing"][0];
    assert_eq!(c["route"], "/*", "{v}");
    assert_eq!(c["adds"], serde_json::json!(["cors"]), "{v}");
    assert_eq!(c["policies"]["cors"], "public", "{v}");
    assert_eq!(c["refused"], true, "{v}");
    assert_eq!(c["reason_code"], "method-not-allowed", "{v}");
    let out = text(&explain_file(&f, &args, false).stdout);
    assert!(out.contains("host block \"*.tenants.example.com\" \"tenants.example.net:8443\"'s route \"/*\" decides too: cors policy `public` refused it: the requested method is not allowed\n   --> compiler/tests/fixtures/hosts.policy:29:12"), "{out}");
    assert!(out.contains("the selected route has cors policy `app` (by itself: origin, method and headers are all allowed)"), "{out}");
}

/// No pattern matches: the top-level routes, and every block contributes; two `Host` lines:
/// host-rejected; `hosts dispatched-by-application`: the selected block alone.
#[test]
fn explain_top_level_ambiguous_and_dispatched_hosts() {
    let f = hosts_fixture();
    let o = explain_file(
        &f,
        &[
            "--method",
            "POST",
            "--path",
            "/account/x",
            "-H",
            "Host: www.example.org",
            "-H",
            "Sec-Fetch-Site: cross-site",
        ],
        false,
    );
    let out = text(&o.stdout);
    assert!(
        out.contains("1. host www.example.org: top-level routes (no host pattern matches)\n2. route \"/*\" matches /account/x"),
        "{out}"
    );
    assert!(out.contains("host block \"api.example.com\"'s route \"/account/*\" decides too: csrf policy `app` refused it"), "{out}");
    let o = explain_file(
        &f,
        &[
            "--method",
            "GET",
            "--path",
            "/api/x",
            "-H",
            "Host: www.example.org",
        ],
        true,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["host"]["block"], serde_json::Value::Null);
    let routes: Vec<&str> = v["host"]["contributing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["route"].as_str().unwrap())
        .collect();
    assert_eq!(routes, ["/api/*", "/*"], "{v}");

    let o = explain_file(
        &f,
        &[
            "--method",
            "GET",
            "--path",
            "/api/x",
            "-H",
            "Host: api.example.com",
            "-H",
            "Host: x.tenants.example.com",
        ],
        false,
    );
    let out = text(&o.stdout);
    assert!(out.contains("result: host-rejected (400"), "{out}");
    assert!(out.contains("[host-ambiguous]"), "{out}");
    assert!(out.contains("1. the request has two Host lines"), "{out}");
    let o = explain_file(
        &f,
        &[
            "--method",
            "GET",
            "--path",
            "/api/x",
            "-H",
            "Host: api.example.com",
            "-H",
            "Host: x.tenants.example.com",
        ],
        true,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["host"]["ambiguous"], true);
    assert_eq!(v["host"]["authority"], serde_json::Value::Null);
    assert_eq!(v["kind"], "host-rejected");

    let dir = tempdir("cli-hosts");
    let d = hosts_dispatched_fixture(&dir);
    let o = explain_file(&d, &CROSS_SITE_POST, true);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["host"]["dispatched_by_application"], true, "{v}");
    assert_eq!(v["host"]["contributing"], serde_json::json!([]));
    assert_eq!(v["kind"], "actual-allowed", "{v}");
    let o = explain_file(&d, &CROSS_SITE_POST, false);
    assert!(
        text(&o.stdout)
            .contains("`hosts dispatched-by-application`: the application routes by host itself"),
        "{}",
        text(&o.stdout)
    );
}

/// The selected block has no route for the path: the other blocks' routes decide, and CORS is
/// refused (`hosts-disagree`).
#[test]
fn explain_a_host_block_without_a_route_for_the_path() {
    let dir = tempdir("cli-hosts-assets");
    let text_of = std::fs::read_to_string(root().join(hosts_fixture())).unwrap();
    let policy = text_of.split("\ntest ").next().unwrap().replace(
        "route \"/*\" {\n        cors  public",
        "route \"/assets/*\" {\n        cors  public",
    );
    assert!(policy.contains("/assets/*"));
    let p = dir.join("assets.policy");
    std::fs::write(&p, policy).unwrap();
    let args = [
        "--method",
        "POST",
        "--path",
        "/account/delete",
        "-H",
        "Host: x.tenants.example.com",
        "-H",
        "Sec-Fetch-Site: cross-site",
    ];
    let out = text(&explain_file(&p, &args, false).stdout);
    assert!(out.contains("2. no route of host block \"*.tenants.example.com\" \"tenants.example.net:8443\" matches /account/delete\n3. guards follow the path on every host: host block \"api.example.com\"'s route \"/account/*\" decides too: csrf policy `app` refused it with 403"), "{out}");
    let v: serde_json::Value =
        serde_json::from_slice(&explain_file(&p, &args, true).stdout).unwrap();
    assert_eq!(v["route"], serde_json::Value::Null);
    assert_eq!(v["host"]["contributing"][0]["refused"], true, "{v}");
    let args = [
        "--method",
        "GET",
        "--path",
        "/api/x",
        "-H",
        "Host: x.tenants.example.com",
        "-H",
        "Origin: https://app.example.com",
    ];
    let out = text(&explain_file(&p, &args, false).stdout);
    assert!(out.contains("4. the request's host has no route for the path; CORS is allowed only where every host block's route"), "{out}");
    assert!(out.contains("[hosts-disagree]"), "{out}");
}

/// `test` blocks set the request's host with `host`.
#[test]
fn test_blocks_set_the_host() {
    let f = hosts_fixture();
    let o = run_at_root(&["test", f.to_str().unwrap()]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    assert!(out.contains("5 passed, 0 failed"), "{out}");
    // The same request with another host decides otherwise: the line is read.
    let dir = tempdir("cli-test-host");
    let p = dir.join("t.policy");
    std::fs::write(&p, format!("import {:?}\ntest \"the tenant host refuses the api block's credentials\" {{\n    request GET \"/api/x\"\n    host \"x.tenants.example.com\"\n    header Origin \"https://app.example.com\"\n    expect actual-allowed\n}}\ntest \"no value\" {{\n    request GET \"/\"\n    host\n    expect not-cors\n}}\n", root().join(&f).to_str().unwrap())).unwrap();
    let o = run_at_root(&["test", p.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    assert!(
        err.contains("GL0601") && err.contains("malformed `host` line"),
        "{err}"
    );
    std::fs::write(&p, format!("import {:?}\ntest \"the tenant host's public cors and the api block's cors both allow\" {{\n    request GET \"/api/x\"\n    host \"x.tenants.example.com\"\n    header Origin \"https://app.example.com\"\n    expect actual-not-allowed\n}}\n", root().join(&f).to_str().unwrap())).unwrap();
    let o = run_at_root(&["test", p.to_str().unwrap()]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("expected actual-not-allowed, got actual-allowed"),
        "{out}"
    );
}

/// `emit docs` groups the routes by host block and says how the blocks combine.
#[test]
fn docs_group_routes_by_host_block() {
    let f = hosts_fixture();
    let o = run_at_root(&["emit", "docs", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let md = text(&o.stdout);
    let api = md.find("### Host block `api.example.com`\n\nDefined at `compiler/tests/fixtures/hosts.policy:19`. Matches: exactly `api.example.com`.").unwrap_or_else(|| panic!("{md}"));
    let tenants = md.find("### Host block `*.tenants.example.com` `tenants.example.net:8443`\n\nDefined at `compiler/tests/fixtures/hosts.policy:28`. Matches: one or more labels under `tenants.example.com` (never `tenants.example.com` itself); exactly `tenants.example.net` on port 8443.").unwrap_or_else(|| panic!("{md}"));
    let top = md.find("### Top-level routes").unwrap();
    assert!(api < tenants && tenants < top, "{md}");
    let account = md
        .find("| `/account/*` | every path below `/account/` |")
        .unwrap();
    let public = md
        .find("| `/*` | every path below `/` | `public` |")
        .unwrap();
    let default = md
        .find("| `/*` | every path below `/` | — (no CORS headers) | — | `default` |")
        .unwrap();
    assert!(
        api < account && account < tenants && tenants < public && public < top && top < default,
        "{md}"
    );
    assert_eq!(
        md.matches("**Guards from every block apply.**").count(),
        2,
        "{md}"
    );
    assert!(!md.contains("Dispatched by the application"), "{md}");
    // The worked headers of a host block's cors policy name one of its hosts.
    assert!(
        md.contains("Host: tenant.tenants.example.com\nOrigin: https://any-site.example"),
        "{md}"
    );

    let dir = tempdir("cli-docs-hosts");
    let d = hosts_dispatched_fixture(&dir);
    let o = run_at_root(&["emit", "docs", d.to_str().unwrap()]);
    let md = text(&o.stdout);
    assert_eq!(
        md.matches("**Dispatched by the application** (`hosts dispatched-by-application`)")
            .count(),
        2,
        "{md}"
    );
    assert!(
        md.contains("a router per host serving only this block's paths"),
        "{md}"
    );
    assert!(!md.contains("Guards from every block apply"), "{md}");
    assert!(md.contains("decided under these routes alone"), "{md}");
}

/// `emit haproxy` and `emit caddy` write their files; `build` writes `haproxy/` always and
/// `caddy/` only with `--caddy-upstream-include`; an option of another target is a usage
/// error, and a target without `-o` too.
#[test]
fn haproxy_and_caddy_are_emitted_and_built() {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/site.policy");
    let p = site.to_str().unwrap();
    let dir = support::tempdir("cli-edges");
    let h = dir.join("h");
    let o = run(&[
        "emit",
        "haproxy",
        p,
        "-o",
        h.to_str().unwrap(),
        "--include-root",
        "/srv/gl",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let cfg = std::fs::read_to_string(h.join("guestlist.cfg")).unwrap();
    assert!(cfg.contains("/srv/gl/maps/"), "{cfg}");
    let c = dir.join("c");
    let o = run(&[
        "emit",
        "caddy",
        p,
        "-o",
        c.to_str().unwrap(),
        "--upstream-include",
        "/srv/up.caddy",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let snippet = std::fs::read_to_string(c.join("guestlist.caddy")).unwrap();
    assert!(snippet.contains("import /srv/up.caddy"), "{snippet}");
    for args in [
        vec!["emit", "haproxy", p, "-o", "x", "--upstream-include", "u"],
        vec!["emit", "rust", p, "--include-root", "/x"],
        vec!["emit", "caddy", p],
        vec!["emit", "haproxy", p, "-o", "x", "--accept-loss", "nonce"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
    let b = dir.join("b");
    let o = run(&["build", p, "-o", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(b.join("haproxy/guestlist.cfg").exists());
    assert!(b.join("nginx/guestlist-server.conf").exists());
    assert!(!b.join("caddy").exists());
    let o = run(&[
        "build",
        p,
        "-o",
        b.to_str().unwrap(),
        "--caddy-upstream-include",
        "/srv/up.caddy",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let snippet = std::fs::read_to_string(b.join("caddy/guestlist.caddy")).unwrap();
    assert!(snippet.contains("import /srv/up.caddy"), "{snippet}");
}

/// `emit gateway-api` refuses what Gateway API loses unless accepted, prints the fidelity
/// report to stderr, and writes `httproutes.yaml`; `build` writes `DIR/gateway-api/` only with
/// both `--parent-ref` and `--backend`, and its docs carry the fidelity report.
#[test]
fn gateway_api_is_emitted_and_built_with_its_fidelity_report() {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/site.policy");
    let p = site.to_str().unwrap();
    let dir = support::tempdir("cli-gateway");
    let g = dir.join("g");
    let gs = g.to_str().unwrap();
    let base = [
        "emit",
        "gateway-api",
        p,
        "-o",
        gs,
        "--parent-ref",
        "infra/public:https",
        "--backend",
        "app:8080",
    ];
    let o = run(&base);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("error[GL1305]"),
        "{}",
        text(&o.stderr)
    );
    assert!(!g.join("httproutes.yaml").exists());
    let mut accepted = base.to_vec();
    accepted.extend(["--accept-loss", "path-form", "upstream-cors"]);
    let o = run(&accepted);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("warning[GL1320]"),
        "{}",
        text(&o.stderr)
    );
    let yaml = std::fs::read_to_string(g.join("httproutes.yaml")).unwrap();
    assert!(yaml.contains("kind: HTTPRoute"), "{yaml}");
    assert!(yaml.contains("path-form: "), "{yaml}");
    for args in [
        vec!["emit", "gateway-api", p, "-o", gs],
        vec!["emit", "nginx", p, "-o", gs, "--backend", "app:8080"],
        vec![
            "emit",
            "gateway-api",
            p,
            "-o",
            gs,
            "--parent-ref",
            "a",
            "--backend",
            "app",
        ],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
    }
    let b = dir.join("b");
    let bs = b.to_str().unwrap();
    let o = run(&["build", p, "-o", bs, "--parent-ref", "public"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!b.join("gateway-api").exists());
    let o = run(&[
        "build",
        p,
        "-o",
        bs,
        "--parent-ref",
        "public",
        "--backend",
        "app:8080",
        "--accept-loss",
        "path-form",
        "upstream-cors",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(b.join("gateway-api/httproutes.yaml").exists());
    let md = std::fs::read_to_string(b.join("policy.md")).unwrap();
    assert!(md.contains("## Gateway API fidelity"), "{md}");
    assert!(md.contains("- Gateway API:\n  - `upstream-cors`"), "{md}");
    assert!(md.contains("  - `path-form`: the path-form rule"), "{md}");
}

/// With host blocks, a list-valued header the top-level route sets is accepted where every
/// host's route for the path sets it too (only paths that are not structurally normal, such
/// as `/%61pi/x`, which read as no route when sent, get the application's first line), and
/// refused (GL1110) once one host's route leaves it.
#[test]
fn nginx_export_accepts_a_list_valued_header_every_hosts_route_sets() {
    let dir = support::tempdir("gl1110-list-accepted");
    for (i, (block, code)) in [
        ("route \"/api/*\" { headers rp }", Some(0)),
        ("route \"/api/*\" { }", Some(1)),
    ]
    .into_iter()
    .enumerate()
    {
        let policy = dir.join(format!("p{i}.policy"));
        std::fs::write(
            &policy,
            format!("headers rp {{\n    referrer-policy no-referrer\n}}\nroute \"/api/*\" {{ headers rp }}\nhost \"x.example.com\" {{\n    {block}\n}}\n"),
        )
        .unwrap();
        let out = dir.join(format!("out{i}"));
        let o = run(&[
            "emit",
            "nginx",
            policy.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), code, "{block}: {err}");
        assert_eq!(err.contains("GL1110"), code == Some(1), "{block}: {err}");
        assert_eq!(out.exists(), code == Some(0), "{block}");
    }
}
