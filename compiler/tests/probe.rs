//! `guestlist probe` against real servers on 127.0.0.1: `guestlist serve` and nginx running
//! the emitted configuration answer as the policy decides (no looser mismatch); nginx
//! configurations written wrong on purpose are each caught by the request that shows it;
//! https with `--ca-file` and a certificate error; a redirect; a WebSocket server that accepts
//! any origin; an unreachable target; `--max-requests`, the unique queries and
//! `--unsafe-methods` counted in the server's own log.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking; a JSON value indexed where it has no key is null"
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

#[test]
fn a_redirect_is_reported_not_followed() {
    let Some(bin) = support::require_tool("nginx") else {
        return;
    };
    let dir = support::tempdir("probe-redirect");
    let policy = policy_file(&dir, POLICY);
    let nginx = support::start_config(&bin, &dir, |d, port| {
        support::own_config(
            d,
            port,
            "",
            "location / { return 301 https://elsewhere.example/; }",
        )
    });
    let (code, v, err) = probe_json(&policy, &format!("http://{}", nginx.addr), &[]);
    // Nothing is granted by a redirect; each is reported.
    assert_eq!(code, 0, "{v:#}\n{err}");
    let all = v["mismatches"].as_array().unwrap();
    assert_eq!(all.len() as u64, v["requests"].as_u64().unwrap());
    assert!(all.iter().all(|m| m["got"]["status"] == 301
        && m["got"]["headers"]["location"] == "https://elsewhere.example/"
        && m["message"].as_str().unwrap().contains(
            "redirected (301 to https://elsewhere.example/); redirects are not followed"
        )));
}

/// A server on 127.0.0.1 that answers every WebSocket handshake with a well-formed key with
/// 101 (whatever its `Origin`; 400 for a malformed key, as servers do) and keeps the
/// connection open, and every other request with an empty 200; it
/// records each request's head.
fn accepting_websocket_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let upgrade = head.to_ascii_lowercase().contains("\r\nupgrade: websocket");
            // RFC 6455: a key that is not 16 bytes in base64 is refused before anything else.
            let key_ok = head.lines().any(|l| {
                l.to_ascii_lowercase().starts_with("sec-websocket-key:")
                    && l[18..].trim().len() == 24
                    && l[18..].trim().ends_with("==")
            });
            seen.lock().unwrap().push(head);
            if upgrade && !key_ok {
                let _ = s.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            } else if upgrade {
                let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n");
                open.push(s); // never closed by this side
            } else {
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        }
    });
    (url, heads)
}

#[test]
fn a_websocket_server_accepting_any_origin_is_looser() {
    let dir = support::tempdir("probe-ws");
    let policy = policy_file(&dir, POLICY);
    let (url, heads) = accepting_websocket_server();
    // The handshakes' connections stay open on the server's side: the probe closes them.
    let (code, v, err) = probe_json(&policy, &url, &["--path", "/live"]);
    assert_eq!(code, 1, "{err}");
    let hits = looser_from(&v, "GET", |o| {
        o == Some("https://guestlist-probe-sibling.example.com")
    });
    assert!(
        hits.iter()
            .any(|m| m["request"]["headers"]["Upgrade"] == "websocket"
                && m["request"]["headers"]["Sec-WebSocket-Version"] == "13"
                && m["expected"]["status"] == 403
                && m["got"]["status"] == 101),
        "{v:#}"
    );
    let seen = heads.lock().unwrap().clone();
    assert_eq!(seen.len() as u64, v["requests"].as_u64().unwrap());
    assert!(seen
        .iter()
        .all(|h| h.contains("\r\nCache-Control: no-cache\r\n")));
    assert_eq!(heads_with(&heads, "POST "), 0);
    // The text and Markdown reports: a table per route.
    let p = policy.to_str().unwrap();
    let (code, text, _) = probe(&[p, "--target", &url, "--rate", "1000"]);
    assert_eq!(code, 1);
    assert!(text.contains("route \"/live\": "), "{text}");
    assert!(
        text.contains("looser    GET /live?guestlist-probe="),
        "{text}"
    );
    let (code, md, _) = probe(&[
        p, "--target", &url, "--rate", "1000", "--format", "markdown",
    ]);
    assert_eq!(code, 1);
    assert!(md.contains("### route \"/live\": "), "{md}");
    assert!(
        md.contains("| Severity | Request | Expected | Got | Difference |"),
        "{md}"
    );
    assert!(
        md.contains("| `looser` | `GET /live?guestlist-probe="),
        "{md}"
    );
    // Cross-site POSTs only with --unsafe-methods; the csrf check they find missing.
    let (code, v, _) = probe_json(&policy, &url, &["--unsafe-methods"]);
    assert_eq!(code, 1);
    assert!(!looser_from(&v, "POST", |o| o == Some("https://guestlist-probe.example")).is_empty());
    assert!(heads_with(&heads, "POST ") > 0);
}

fn heads_with(heads: &std::sync::Mutex<Vec<String>>, start: &str) -> usize {
    heads
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.starts_with(start))
        .count()
}

#[test]
fn an_unreachable_target_is_an_error() {
    let dir = support::tempdir("probe-unreachable");
    let policy = policy_file(
        &dir,
        "origins tenants provided\ncors api {\n    allow-origins  tenants\n}\nroute \"/api/*\" { cors api }\n",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = format!("http://127.0.0.1:{port}");
    let (code, out, err) = probe(&[policy.to_str().unwrap(), "--target", &target]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains(&format!("error: cannot probe {target}")),
        "{err}"
    );
    assert!(
        err.contains("warning[GL1601]: origins set `tenants` is empty for the probe"),
        "{err}"
    );
    // A policy with errors is not probed.
    let broken = dir.join("broken.policy");
    std::fs::write(&broken, "route \"/api/*\" { cors missing }\n").unwrap();
    let (code, _, err) = probe(&[broken.to_str().unwrap(), "--target", &target]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not probing: the policy has errors"), "{err}");
    // Usage errors.
    for bad in [
        vec!["--target", "ftp://x.example"],
        vec!["--target", "https://x.example/app"],
        vec!["--target", &target, "--rate", "0"],
        vec!["--target", &target, "--resolve", "x.example"],
        vec!["--target", &target, "--max-requests", "0"],
        vec!["--target", &target, "-H", "no colon"],
    ] {
        let mut args = vec![policy.to_str().unwrap()];
        args.extend(bad.iter().copied());
        let (code, _, err) = probe(&args);
        assert_eq!(code, 2, "{bad:?}: {err}");
    }
}

/// `--resolve HOST:PORT:IP` pins HOST for that port only, as curl's: a pin for the target's
/// port reaches the server; a pin for another port leaves the name to DNS, where a `.invalid`
/// name never resolves (exit 2).
#[test]
fn a_resolve_with_a_port_pins_that_port_only() {
    let dir = support::tempdir("probe-pin");
    let policy = policy_file(&dir, POLICY);
    let server = support::serve_policy(&policy, &[]);
    let port: u16 = server.url.rsplit_once(':').unwrap().1.parse().unwrap();
    let target = format!("http://probe-pin.invalid:{port}");
    let pin = format!("probe-pin.invalid:{port}:127.0.0.1");
    let (code, v, err) = probe_json(&policy, &target, &["--resolve", &pin]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert!(v["requests"].as_u64().unwrap() > 10, "{v}");
    let other = format!(
        "probe-pin.invalid:{}:127.0.0.1",
        port.wrapping_add(1).max(1)
    );
    let (code, out, err) = probe(&[
        policy.to_str().unwrap(),
        "--target",
        &target,
        "--resolve",
        &other,
    ]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("cannot resolve probe-pin.invalid"), "{err}");
}

#[test]
fn https_with_a_ca_file_and_a_certificate_error() {
    let Some(openssl) = support::require_tool("openssl") else {
        return;
    };
    let dir = support::tempdir("probe-tls");
    let policy = policy_file(&dir, POLICY);
    let run = |args: &[&str]| {
        let o = Command::new(&openssl)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-days",
            "1",
            "-subj",
            "/CN=probe test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-subj",
            "/CN=localhost",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "2",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let server = support::serve_policy(
        &policy,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let port = server.url.rsplit_once(':').unwrap().1;
    let target = format!("https://localhost:{port}");
    let ca = dir.join("ca.pem");
    let (code, v, err) = probe_json(
        &policy,
        &target,
        &[
            "--resolve",
            "localhost:127.0.0.1",
            "--ca-file",
            ca.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert!(mismatches(&v, "looser").is_empty() && mismatches(&v, "stricter").is_empty());
    // Without the CA the certificate is not trusted: an error, never a pass.
    let (code, out, err) = probe(&[
        policy.to_str().unwrap(),
        "--target",
        &target,
        "--resolve",
        "localhost:127.0.0.1",
    ]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("certificate"), "{err}");
}

/// The CI example probes the staging deployment once it succeeded, failing on exit 1 and 2.
#[test]
fn the_ci_example_probes_staging_after_a_deploy() {
    let text = std::fs::read_to_string(support::root().join("examples/ci/guestlist.yml")).unwrap();
    for want in [
        "deployment_status:",
        "github.event.deployment_status.state == 'success'",
        "guestlist probe \"$POLICY\" --target \"$STAGING_URL\" --format markdown",
        "ref: ${{ github.event.deployment.sha }}",
    ] {
        assert!(text.contains(want), "{want}");
    }
    assert!(!text.contains("--unsafe-methods"));
}

#[test]
fn a_server_repeating_its_csp_nonce_is_looser() {
    let Some(bin) = support::require_tool("nginx") else {
        return;
    };
    let dir = support::tempdir("probe-nonce");
    let policy = policy_file(
        &dir,
        "csp page {\n    default-src 'self'\n    script-src 'nonce' 'strict-dynamic'\n    object-src 'none'\n    base-uri 'none'\n}\nroute \"/page\" { csp page }\n",
    );
    // The policy's own CSP, with one nonce for every response.
    let c = guestlist_compiler::Compilation::load(&[&policy]).unwrap();
    let lowered = c.lower("default").unwrap();
    let e = guestlist_compiler::explain::explain(&lowered, "GET", "/page", &[]).unwrap();
    let (_, csp) = e
        .headers
        .iter()
        .find(|(n, _)| n == "content-security-policy")
        .unwrap();
    let fixed = csp.replace("{nonce}", "c2FtZS1ub25jZS1ldmVyeQ");
    let nginx = support::start_config(&bin, &dir, |d, port| {
        support::own_config(
            d,
            port,
            "",
            &format!("location / {{ add_header Content-Security-Policy \"{fixed}\" always; return 200 \"page\\n\"; }}"),
        )
    });
    let (code, v, err) = probe_json(&policy, &format!("http://{}", nginx.addr), &[]);
    assert_eq!(code, 1, "{err}");
    let hits = looser_from(&v, "GET", |o| o.is_none());
    assert!(
        hits.iter().any(|m| m["path"] == "/page"
            && m["message"]
                .as_str()
                .unwrap()
                .contains("the same CSP nonce `c2FtZS1ub25jZS1ldmVyeQ` on two responses")),
        "{v:#}"
    );
    // The value itself is the policy's: no other mismatch at the route's own path.
    assert_eq!(
        mismatches(&v, "looser")
            .iter()
            .filter(|m| m["path"] == "/page")
            .count(),
        1,
        "{v:#}"
    );
}

/// Sets supplied with `--origins` are probed like the policy's own origins: a server given
/// the same entries answers as the policy decides; one that was not given them refuses the
/// supplied origin, which the probe reports (stricter), naming that origin.
#[test]
fn supplied_origins_are_probed_as_allowed_origins() {
    let dir = support::tempdir("probe-supplied");
    let policy = policy_file(
        &dir,
        "origins tenants provided\n\ncors t {\n    allow-origins  tenants\n    allow-methods  GET PUT\n    max-age        600\n}\n\nroute \"/api/*\" { cors t }\n",
    );
    let entries = dir.join("tenants.txt");
    std::fs::write(&entries, "https://shop.customer.example\n").unwrap();
    let supplied = format!("tenants={}", entries.display());
    let server = support::serve_policy(&policy, &["--origins", &supplied]);
    let (code, v, err) = probe_json(&policy, &server.url, &["--origins", &supplied]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    assert!(mismatches(&v, "looser").is_empty(), "{v:#}");
    assert!(mismatches(&v, "stricter").is_empty(), "{v:#}");
    drop(server);
    let bare = support::serve_policy(&policy, &[]);
    let (code, v, err) = probe_json(&policy, &bare.url, &["--origins", &supplied]);
    assert_eq!(code, 0, "{v:#}\n{err}");
    let stricter = mismatches(&v, "stricter");
    assert!(
        stricter.iter().any(|m| m["message"]
            .as_str()
            .unwrap()
            .contains("from `https://shop.customer.example`")),
        "{v:#}"
    );
}
