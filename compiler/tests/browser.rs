//! A real browser agrees with the policy. Headless Chromium (Debian's package) loads pages from
//! several origins (`*.localhost`, mapped to 127.0.0.1) whose scripts `fetch()` an API on
//! another origin: (1) `guestlist serve`, (2) nginx, (3) HAProxy and (4) Caddy with the emitted
//! configuration. For every
//! call the test asserts that the browser let the page read the response, or blocked it,
//! exactly as `guestlist explain` decides, and that the server's log shows each blocked request
//! or preflight arrived (a blocked fetch and a dead server look alike). Each page also makes a
//! same-origin control call that must succeed.
#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use guestlist_compiler::{explain, Compilation, Lowered};

mod support;
use support::{poll_until, require_tool, root, send, setup, start, tempdir, wait_for, Upstream};

/// One `fetch()` a page makes.
struct Call {
    id: &'static str,
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    credentials: bool,
}

const CALLS: &[Call] = &[
    Call {
        id: "c01",
        method: "GET",
        path: "/api/c01",
        headers: &[],
        credentials: false,
    },
    Call {
        id: "c02",
        method: "GET",
        path: "/api/c02",
        headers: &[],
        credentials: true,
    },
    Call {
        id: "c03",
        method: "POST",
        path: "/api/c03",
        headers: &[("Content-Type", "text/plain")],
        credentials: true,
    },
    Call {
        id: "c04",
        method: "PUT",
        path: "/api/c04",
        headers: &[],
        credentials: false,
    },
    Call {
        id: "c05",
        method: "PATCH",
        path: "/api/c05",
        headers: &[],
        credentials: false,
    },
    Call {
        id: "c06",
        method: "DELETE",
        path: "/api/c06",
        headers: &[],
        credentials: true,
    },
    Call {
        id: "c07",
        method: "GET",
        path: "/api/c07",
        headers: &[("X-Request-Id", "7")],
        credentials: true,
    },
    Call {
        id: "c08",
        method: "GET",
        path: "/api/c08",
        headers: &[("X-Secret", "8")],
        credentials: false,
    },
    Call {
        id: "c09",
        method: "POST",
        path: "/api/c09",
        headers: &[("Content-Type", "application/json")],
        credentials: false,
    },
    Call {
        id: "c10",
        method: "GET",
        path: "/public/c10",
        headers: &[],
        credentials: false,
    },
    Call {
        id: "c11",
        method: "GET",
        path: "/public/c11",
        headers: &[],
        credentials: true,
    },
    Call {
        id: "c12",
        method: "PUT",
        path: "/public/c12",
        headers: &[("Authorization", "Bearer x")],
        credentials: false,
    },
    Call {
        id: "c13",
        method: "PUT",
        path: "/public/c13",
        headers: &[("X-Anything", "y")],
        credentials: false,
    },
];

/// The page origins, by host (the port is the page server's).
const PAGES: &[&str] = &[
    "app.localhost",
    "pr-7.preview.localhost",
    "evil.localhost",
    "preview.localhost",
];

fn safelisted(name: &str, value: &str) -> bool {
    match name.to_ascii_lowercase().as_str() {
        "accept" | "accept-language" | "content-language" => true,
        "content-type" => {
            let essence = value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data",
                "text/plain",
            ]
            .contains(&essence.as_str())
        }
        _ => false,
    }
}

fn header<'a>(e: &'a explain::Explanation, name: &str) -> Option<&'a str> {
    e.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Whether the policy lets the page read the response (the Fetch CORS check applied to the
/// runtime's decisions), and whether a preflight is sent.
fn expected(lowered: &Lowered, origin: &str, call: &Call) -> (bool, bool) {
    let cors_ok = |e: &explain::Explanation| {
        let acao = header(e, "access-control-allow-origin");
        if call.credentials {
            acao == Some(origin) && header(e, "access-control-allow-credentials") == Some("true")
        } else {
            acao == Some(origin) || acao == Some("*")
        }
    };
    let preflight = !matches!(call.method, "GET" | "HEAD" | "POST")
        || call.headers.iter().any(|(n, v)| !safelisted(n, v));
    if preflight {
        let mut names: Vec<String> = call
            .headers
            .iter()
            .filter(|(n, v)| !safelisted(n, v))
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        names.sort();
        let mut h = vec![
            ("Origin".to_string(), origin.to_string()),
            (
                "Access-Control-Request-Method".to_string(),
                call.method.to_string(),
            ),
        ];
        if !names.is_empty() {
            h.push((
                "Access-Control-Request-Headers".to_string(),
                names.join(","),
            ));
        }
        let pf = explain::explain(lowered, "OPTIONS", call.path, &h).unwrap();
        if pf.kind != guestlist::Kind::PreflightOk || !cors_ok(&pf) {
            return (false, true);
        }
    }
    let mut h = vec![("Origin".to_string(), origin.to_string())];
    for (n, v) in call.headers {
        h.push(((*n).to_string(), (*v).to_string()));
    }
    let actual = explain::explain(lowered, call.method, call.path, &h).unwrap();
    (
        actual.kind == guestlist::Kind::ActualAllowed && cors_ok(&actual),
        preflight,
    )
}

fn page(api: &str) -> String {
    let mut calls = String::new();
    for c in CALLS {
        let headers: Vec<String> = c
            .headers
            .iter()
            .map(|(n, v)| format!("{n:?}: {v:?}"))
            .collect();
        calls.push_str(&format!(
            "{{id: {:?}, method: {:?}, path: {:?}, headers: {{{}}}, credentials: {:?}}},\n",
            c.id,
            c.method,
            c.path,
            headers.join(", "),
            if c.credentials { "include" } else { "omit" }
        ));
    }
    format!(
        r#"<!doctype html><html><head><title>running</title></head><body><script>
{REPORT_JS}
const api = {api:?};
const calls = [
{calls}];
(async () => {{
  const out = {{}};
  try {{ const r = await fetch("/control"); out.control = r.ok ? "ok" : "status " + r.status; }} catch (e) {{ out.control = "blocked"; }}
  for (const c of calls) {{
    const init = {{method: c.method, headers: c.headers, credentials: c.credentials}};
    if (c.method === "POST" || c.method === "PUT") init.body = "x";
    try {{ const r = await fetch(api + c.path, init); await r.text(); out[c.id] = "ok"; }}
    catch (e) {{ out[c.id] = "blocked"; }}
  }}
  await report(out);
}})();
</script></body></html>"#
    )
}

/// Serves the page (any path but `/control`) and the same-origin control call.
fn page_server(html: Arc<String>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let html = html.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(s.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    return;
                }
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                        break;
                    }
                }
                let (ctype, body) = if first.contains(" /control ") {
                    ("application/json", "{\"control\":true}".to_string())
                } else {
                    ("text/html", html.to_string())
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    addr
}

/// The script every page holds: `report(out)` posts the page's results (a flat JSON object of
/// strings) to the collector whose port the page's URL fragment names (`#report=PORT`).
const REPORT_JS: &str = r#"async function report(out) {
  const port = new URLSearchParams(location.hash.slice(1)).get("report");
  await fetch("http://127.0.0.1:" + port + "/results", {method: "POST", mode: "no-cors", body: JSON.stringify(out)});
}"#;

/// How long a page may take, in real time, to report its results.
const PAGE_DEADLINE: Duration = Duration::from_secs(60);

/// Loads `url` in headless Chromium and returns the results the page reported. The page posts
/// them to a collector on 127.0.0.1 and the browser is stopped once they arrive: the wait is
/// in real time (no `--virtual-time-budget`, which can count a page idle while it awaits
/// something that is not a network request, such as the Cookie Store API, and dump it
/// unfinished on a loaded machine). A page that reports nothing within [`PAGE_DEADLINE`] is
/// loaded once more in a fresh profile; only reporting is retried, what a page reported is
/// what the callers check.
fn run_page(chromium: &Path, url: &str, profile_dir: &Path) -> BTreeMap<String, String> {
    let (port, results) = collector();
    let mut json = None;
    for attempt in 0..2 {
        let mut browser = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-features=HttpsUpgrades",
                "--host-resolver-rules=MAP *.localhost 127.0.0.1",
            ])
            .arg(format!(
                "--user-data-dir={}",
                profile_dir.join(format!("attempt-{attempt}")).display()
            ))
            .arg(format!("{url}#report={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        json = results.recv_timeout(PAGE_DEADLINE).ok();
        // The browser's renderers and helpers share its process group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", browser.id())])
            .status();
        let _ = browser.kill();
        let _ = browser.wait();
        if json.is_some() {
            break;
        }
    }
    assert!(
        json.is_some(),
        "{url} reported no results in two loads of {PAGE_DEADLINE:?} each"
    );
    let json = json.unwrap();
    // {"control":"ok","c01":"blocked",...}: flat string values, no escapes.
    json.trim()
        .trim_matches(['{', '}'])
        .split(',')
        .filter_map(|kv| kv.split_once(':'))
        .map(|(k, v)| {
            (
                k.trim_matches('"').to_string(),
                v.trim_matches('"').to_string(),
            )
        })
        .collect()
}

/// A listener on 127.0.0.1 that passes on the body of each `POST /results` it receives and
/// answers every request 204: the port and the receiving end.
fn collector() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                    break;
                }
                if let Some((name, value)) = l.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = write!(
                s,
                "HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n"
            );
            if first.starts_with("POST /results ") {
                // The receiver is gone once `run_page` has its results.
                let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
            }
        }
    });
    (port, rx)
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs every page against the API at `api_port` and checks results and the server log.
fn check_server(
    chromium: &Path,
    lowered: &Lowered,
    api_port: u16,
    log: &dyn Fn() -> String,
    kind: &str,
) -> usize {
    let api = format!("http://api.localhost:{api_port}");
    let html = Arc::new(page(&api));
    let pages = page_server(html);
    let mut checked = 0;
    let mut readable_calls = 0;
    let mut failures = Vec::new();
    for host in PAGES {
        let origin = format!("http://{host}:{}", pages.port());
        let profile = tempdir(&format!("chromium-{kind}-{host}"));
        let results = run_page(chromium, &format!("{origin}/page.html"), &profile);
        assert_eq!(
            results.get("control").map(String::as_str),
            Some("ok"),
            "{kind} {origin}: control call failed: {results:?}"
        );
        for call in CALLS {
            let (readable, _) = expected(lowered, &origin, call);
            let got = results.get(call.id).map(String::as_str);
            let want = if readable { "ok" } else { "blocked" };
            readable_calls += usize::from(readable);
            if got != Some(want) {
                failures.push(format!(
                    "{kind} {origin} {} {} {:?} credentials={}: browser {got:?}, policy {want}",
                    call.method, call.path, call.headers, call.credentials
                ));
            }
            checked += 1;
        }
    }
    // The log proves every blocked call reached the server: its preflight, or the request.
    let log = log();
    for host in PAGES {
        let origin = format!("http://{host}:{}", pages.port());
        for call in CALLS {
            let (readable, preflight) = expected(lowered, &origin, call);
            let first = if preflight { "OPTIONS" } else { call.method };
            let seen = log
                .lines()
                .any(|l| l.starts_with(&format!("{first} {} ", call.path)) && l.contains(&origin));
            if !seen {
                failures.push(format!(
                    "{kind}: no {first} {} from {origin} in the server log",
                    call.path
                ));
            }
            if readable || !preflight {
                continue;
            }
            // A refused preflight: the actual request must never have been sent.
            let actual = log.lines().any(|l| {
                l.starts_with(&format!("{} {} ", call.method, call.path)) && l.contains(&origin)
            });
            if actual && call.method != "OPTIONS" {
                failures.push(format!(
                    "{kind}: {} {} from {origin} was sent after a refused preflight",
                    call.method, call.path
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{kind}: {readable_calls} calls readable, {} blocked",
        checked - readable_calls
    );
    assert!(
        readable_calls >= 10 && checked - readable_calls >= 10,
        "both outcomes must be exercised"
    );
    checked
}

fn lowered() -> (Compilation, Lowered) {
    let c = Compilation::load(&[root().join("spec/policies/browser.policy")]).unwrap();
    assert!(!c.has_errors(), "{}", c.render());
    let l = c.lower("default").unwrap();
    (c, l)
}

#[test]
fn chromium_agrees_with_guestlist_serve() {
    let Some(chromium) = require_tool("chromium") else {
        return;
    };
    let (_, lowered) = lowered();
    let dir = tempdir("browser-serve");
    let log_path = dir.join("serve.log");
    let policy = root().join("spec/policies/browser.policy");
    let (_guard, addr) = start_serve(&[policy.to_str().unwrap()], &log_path);
    let log = || std::fs::read_to_string(&log_path).unwrap();
    let n = check_server(&chromium, &lowered, addr.port(), &log, "serve");
    println!("Chromium and guestlist serve agree on {n} calls");
    assert!(n >= 40);
}

#[test]
fn chromium_agrees_with_nginx() {
    let Some(chromium) = require_tool("chromium") else {
        return;
    };
    let Some(nginx) = require_tool("nginx") else {
        return;
    };
    let (c, lowered) = lowered();
    let dir = tempdir("browser-nginx");
    let server = start(
        &nginx,
        &setup(&nginx, &c, "default", &dir, Upstream::Json, true),
    );
    let log_path = dir.join("logs/access.log");
    let log = || {
        // nginx writes a request's line once it has answered it. A request of our own, sent
        // after Chromium got every answer, is logged after those: wait for its line.
        let marker = "/guestlist-log-marker";
        send(server.addr, "GET", marker, &[]);
        poll_until(
            "the access log to reach the marker request",
            Duration::from_secs(10),
            || {
                let s = std::fs::read_to_string(&log_path).ok()?;
                s.lines()
                    .any(|l| l.starts_with(&format!("GET {marker} ")))
                    .then_some(s)
            },
        )
    };
    let n = check_server(&chromium, &lowered, server.addr.port(), &log, "nginx");
    println!("Chromium and nginx agree on {n} calls");
    assert!(n >= 40);
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until a request of our own, sent after Chromium got every answer, is in the log that
/// `read` gives (engines write a request's line once they answered it), and returns the log.
fn log_after_marker(addr: SocketAddr, read: &dyn Fn() -> Option<String>) -> String {
    let marker = "/guestlist-log-marker";
    send(addr, "GET", marker, &[]);
    poll_until(
        "the access log to reach the marker request",
        Duration::from_secs(10),
        || {
            let s = read()?;
            s.lines()
                .any(|l| l.starts_with(&format!("GET {marker} ")))
                .then_some(s)
        },
    )
}

#[test]
fn chromium_agrees_with_haproxy() {
    let Some(chromium) = require_tool("chromium") else {
        return;
    };
    let Some(haproxy) = require_tool("haproxy") else {
        return;
    };
    let (c, lowered) = lowered();
    let dir = tempdir("browser-haproxy");
    let opts = guestlist_compiler::emit::haproxy::Options {
        include_root: dir.to_string_lossy().into_owned(),
        generated_by: "browser test".into(),
        accepted: Vec::new(),
    };
    let files = guestlist_compiler::emit::haproxy::emit(&c, &lowered, &opts).unwrap();
    guestlist_compiler::emit::haproxy::write(&dir, &files).unwrap();
    let lines = std::fs::read_to_string(dir.join("guestlist.cfg")).unwrap();
    let indented: String = lines.lines().map(|l| format!("    {l}\n")).collect();
    let (port, up) = (free_port(), free_port());
    // The application answers JSON with a CORS header of its own, which the edge replaces;
    // the edge logs `METHOD URI ORIGIN STATUS` to standard output.
    let cfg = format!(
        "global\n    nbthread 1\n    log stdout format raw local0\n\ndefaults d\n    mode http\n    log global\n    timeout client 10s\n    timeout server 10s\n    timeout connect 5s\n\n\
         frontend upstream\n    bind 127.0.0.1:{up}\n    no log\n    http-request return status 200 content-type application/json string \"{{\\\"ok\\\":true}}\" hdr Access-Control-Allow-Origin \"*\"\n\n\
         frontend edge\n    bind 127.0.0.1:{port}\n    capture request header Origin len 200\n    log-format \"%HM %HU %[capture.req.hdr(0)] %ST\"\n{indented}    default_backend app\n\n\
         backend app\n    server app 127.0.0.1:{up}\n"
    );
    let cfg_path = dir.join("haproxy.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let log_path = dir.join("haproxy.log");
    let child = Command::new(&haproxy)
        .args(["-db", "-f"])
        .arg(&cfg_path)
        .stdout(std::fs::File::create(&log_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = Serve(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for(addr);
    let log = || log_after_marker(addr, &|| std::fs::read_to_string(&log_path).ok());
    let n = check_server(&chromium, &lowered, port, &log, "haproxy");
    println!("Chromium and HAProxy agree on {n} calls");
    assert!(n >= 40);
}

#[test]
fn chromium_agrees_with_caddy() {
    let Some(chromium) = require_tool("chromium") else {
        return;
    };
    let Some(caddy) = require_tool("caddy") else {
        return;
    };
    let (c, lowered) = lowered();
    let dir = tempdir("browser-caddy");
    let (port, up) = (free_port(), free_port());
    let out = dir.join("out");
    let upstream = dir.join("upstream.caddy");
    std::fs::write(&upstream, format!("reverse_proxy 127.0.0.1:{up}\n")).unwrap();
    let opts = guestlist_compiler::emit::caddy::Options {
        include_root: out.to_string_lossy().into_owned(),
        upstream_include: Some(upstream.to_string_lossy().into_owned()),
        generated_by: "browser test".into(),
        accepted: Vec::new(),
    };
    let files = guestlist_compiler::emit::caddy::emit(&c, &lowered, &opts).unwrap();
    guestlist_compiler::emit::caddy::write(&out, &files).unwrap();
    let d = dir.to_string_lossy();
    let log_path = dir.join("access.log");
    // The application answers JSON with a CORS header of its own, which the edge replaces;
    // the edge's access log is JSON, one request per line.
    let conf = format!(
        "{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {d}/data\n}}\n\
         http://:{port} {{\n\tbind 127.0.0.1\n\tlog {{\n\t\toutput file {}\n\t\tformat json\n\t}}\n\timport {d}/out/guestlist.caddy\n}}\n\
         http://:{up} {{\n\tbind 127.0.0.1\n\theader Access-Control-Allow-Origin \"*\"\n\theader Content-Type application/json\n\trespond `{{\"ok\":true}}` 200\n}}\n",
        log_path.display()
    );
    let conf_path = dir.join("Caddyfile");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(&caddy)
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("caddy.log")).unwrap())
        .spawn()
        .unwrap();
    let _guard = Serve(child);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for(addr);
    // Each JSON line as `METHOD URI ORIGIN STATUS`, the form the checks read.
    let read = || -> Option<String> {
        let text = std::fs::read_to_string(&log_path).ok()?;
        let mut lines = String::new();
        for l in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
                continue;
            };
            let r = &v["request"];
            let origin = r["headers"]["Origin"][0].as_str().unwrap_or("-");
            lines.push_str(&format!(
                "{} {} {origin} {}\n",
                r["method"].as_str().unwrap_or("?"),
                r["uri"].as_str().unwrap_or("?"),
                v["status"]
            ));
        }
        Some(lines)
    };
    let log = || log_after_marker(addr, &read);
    let n = check_server(&chromium, &lowered, port, &log, "caddy");
    println!("Chromium and Caddy agree on {n} calls");
    assert!(n >= 40);
}

/// Starts `guestlist serve` with `args`; returns the process guard, its address and its log.
fn start_serve(args: &[&str], log_path: &Path) -> (Serve, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guestlist"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr: SocketAddr = line
        .trim()
        .trim_start_matches("listening on http://")
        .parse()
        .unwrap();
    wait_for(addr);
    (Serve(child), addr)
}

/// Signed double-submit CSRF tokens in a real browser: a page on the site reads its token
/// (from the API's answer and from the `__Host-` cookie, which the page can read), posts with
/// it and succeeds, and is refused without it; it posts a form body with the token field and
/// succeeds, and without the field is refused; a page on another site posts a form without
/// the token and is refused before the application.
#[test]
fn chromium_csrf_tokens() {
    let Some(chromium) = require_tool("chromium") else {
        return;
    };
    let dir = tempdir("browser-tokens");
    let policy = dir.join("tokens.policy");
    std::fs::write(
        &policy,
        "csrf account {\n    token  header \"X-CSRF-Token\"  cookie \"__Host-csrf\"  bind-to cookie \"session\"\n}\nroute \"/account/*\" { csrf account }\n",
    )
    .unwrap();
    let pages = dir.join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(
        pages.join("site.html"),
        r#"<!doctype html><html><head><title>running</title></head><body><script>
{REPORT_JS}
(async () => {
  const out = {};
  try {
    // The Cookie Store API resolves once the cookie is stored: a `document.cookie` write
    // reaches Chromium's network service asynchronously, and a fetch right after it was
    // once sent without it (on a loaded machine).
    await cookieStore.set({name: "session", value: "alice", path: "/"});
    let r = await fetch("/account/token");
    const tok = (await r.json()).csrf_token || "";
    out.token = tok.length === 97 ? "ok" : "none";
    out.cookie = document.cookie.includes("__Host-csrf=" + tok) ? "ok" : "missing";
    r = await fetch("/account/save", {method: "POST", headers: {"X-CSRF-Token": tok, "Content-Type": "application/json"}, body: "{}"});
    out.with_token = String(r.status);
    r = await fetch("/account/save", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
    out.without_token = String(r.status) + " " + r.headers.get("guestlist-reason");
    r = await fetch("/account/save", {method: "POST", headers: {"X-CSRF-Token": tok.replace(/^./, tok[0] === "0" ? "1" : "0"), "Content-Type": "application/json"}, body: "{}"});
    out.tampered = String(r.status) + " " + r.headers.get("guestlist-reason");
    await cookieStore.set({name: "session", value: "mallory", path: "/"});
    r = await fetch("/account/save", {method: "POST", headers: {"X-CSRF-Token": tok, "Content-Type": "application/json"}, body: "{}"});
    out.other_session = String(r.status) + " " + r.headers.get("guestlist-reason");
    await cookieStore.set({name: "session", value: "alice", path: "/"});
    // A form body (URLSearchParams: application/x-www-form-urlencoded;charset=UTF-8) with the
    // token field and no header: the layer reads the field.
    r = await fetch("/account/save", {method: "POST", body: new URLSearchParams({note: "a b&c=d", csrf_token: tok})});
    out.form_field = String(r.status);
    r = await fetch("/account/save", {method: "POST", body: new URLSearchParams({note: "a b&c=d"})});
    out.form_without_field = String(r.status) + " " + r.headers.get("guestlist-reason");
  } catch (e) { out.error = String(e).replace(/[",:]/g, " "); }
  await report(out);
})();
</script></body></html>"#
            .replace("{REPORT_JS}", REPORT_JS),
    )
    .unwrap();
    let hex = "5a".repeat(32);
    let log_path = dir.join("serve.log");
    let (_serve, addr) = start_serve(
        &[
            policy.to_str().unwrap(),
            "--csrf-secret-hex",
            &hex,
            "--pages",
            pages.to_str().unwrap(),
        ],
        &log_path,
    );
    let site = format!("http://site.localhost:{}", addr.port());
    let results = run_page(
        &chromium,
        &format!("{site}/site.html"),
        &tempdir("chromium-tokens-site"),
    );
    let want: BTreeMap<String, String> = [
        ("token", "ok"),
        ("cookie", "ok"),
        ("with_token", "200"),
        ("without_token", "403 csrf-token-missing"),
        ("tampered", "403 csrf-token-mismatch"),
        ("other_session", "403 csrf-token-other-session"),
        ("form_field", "200"),
        ("form_without_field", "403 csrf-token-missing"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        results,
        want,
        "log:\n{}",
        std::fs::read_to_string(&log_path).unwrap()
    );
    // Another site posts a form (no token, no header) with the user's cookies: refused.
    let evil = Arc::new(format!(
        r#"<!doctype html><html><head><title>running</title></head><body><script>
{REPORT_JS}
(async () => {{
  const out = {{}};
  try {{
    await fetch("{site}/account/save", {{method: "POST", mode: "no-cors", credentials: "include", body: new URLSearchParams("amount=1000")}});
    out.sent = "ok";
  }} catch (e) {{ out.sent = "failed"; }}
  await report(out);
}})();
</script></body></html>"#
    ));
    let evil_addr = page_server(evil);
    let evil_origin = format!("http://evil.localhost:{}", evil_addr.port());
    let results = run_page(
        &chromium,
        &format!("{evil_origin}/page.html"),
        &tempdir("chromium-tokens-evil"),
    );
    assert_eq!(
        results.get("sent").map(String::as_str),
        Some("ok"),
        "{results:?}"
    );
    let log = std::fs::read_to_string(&log_path).unwrap();
    let refused = log.lines().any(|l| {
        l.starts_with("POST /account/save ")
            && l.contains(&format!("origin={evil_origin}"))
            && l.contains("-> csrf-rejected (csrf-cross-site) 403")
    });
    assert!(
        refused,
        "the cross-site post must reach the server and be refused:\n{log}"
    );
}
