//! Shared by the tests that run real programs (nginx, Chromium): finding and requiring tools,
//! temporary directories, free ports on 127.0.0.1, and an nginx running an emitted policy.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests fail by panicking

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use guestlist_compiler::emit::nginx;
use guestlist_compiler::Compilation;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn find_tool(name: &str) -> Option<PathBuf> {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
        "/bin",
    ] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return Some(p);
        }
    }
    None
}

/// The tool's path; in CI (`CI=true`) a missing tool fails the test, elsewhere it says loudly
/// that the test is skipped. `scripts/test.sh` installs the tools.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    match find_tool(name) {
        Some(p) => Some(p),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{name} is required in CI (scripts/test.sh installs it with apt-get)")
        }
        None => {
            eprintln!("SKIPPED: {name} is not installed; run scripts/test.sh to install it");
            None
        }
    }
}

/// A fresh, empty temporary directory, unique to this test process and `name`.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("guestlist-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `addr`.
pub fn wait_for(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running nginx, stopped on drop. It runs as one process (`master_process off`), so
/// killing it leaves no worker behind holding the port.
pub struct Nginx {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the generated locations include after the route snippet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// `return 200 "app\n"` (plus an `add_header` of the user's own).
    Return,
    /// `proxy_pass` to a backend that sends its own `Access-Control-Allow-Origin: *`.
    Proxied,
    /// `return 200` with a small JSON body, for the browser.
    Json,
}

/// An nginx configuration around an emitted policy.
pub struct NginxSetup {
    /// The configuration file.
    pub conf: PathBuf,
    /// The guestlist server's port.
    pub port: u16,
}

impl NginxSetup {
    /// `(conf, port)`.
    pub fn into_parts(self) -> (PathBuf, u16) {
        (self.conf, self.port)
    }
}

/// Emits `c` (profile) into `dir/out`, writes `dir/nginx.conf` around it and checks it with
/// `nginx -t`. With `access_log`, requests are logged to `dir/logs/access.log` as
/// `METHOD URI ORIGIN STATUS`.
pub fn setup(
    bin: &Path,
    c: &Compilation,
    profile: &str,
    dir: &Path,
    upstream: Upstream,
    access_log: bool,
) -> NginxSetup {
    let lowered = c.lower(profile).unwrap();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let out = dir.join("out");
    let backend = free_port();
    let port = free_port();
    let upstream_file = dir.join("upstream.conf");
    let body = match upstream {
        Upstream::Return => {
            "add_header X-App \"yes\" always;\nreturn 200 \"app\\n\";\n".to_string()
        }
        Upstream::Proxied => {
            format!("add_header X-App \"yes\" always;\nproxy_pass http://127.0.0.1:{backend};\n")
        }
        Upstream::Json => {
            "default_type application/json;\nreturn 200 '{\"ok\":true}';\n".to_string()
        }
    };
    std::fs::write(&upstream_file, body).unwrap();
    let opts = nginx::Options {
        include_root: out.to_string_lossy().into_owned(),
        upstream_include: Some(upstream_file.to_string_lossy().into_owned()),
        generated_by: "guestlist test harness".into(),
    };
    let files = nginx::emit(&lowered, &c.sources, &c.program, &opts).unwrap();
    nginx::write(&out, &files).unwrap();
    let catch_all = lowered.policy.routes().iter().any(|r| r.pattern() == "/*");
    let d = dir.to_string_lossy();
    let log = if access_log {
        format!("log_format gl '$request_method $uri $http_origin $status';\n    access_log {d}/logs/access.log gl;")
    } else {
        "access_log off;".to_string()
    };
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log warn;\nevents {{ worker_connections 256; }}\nhttp {{\n    {log}\n    client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;\n    map_hash_max_size 32768; map_hash_bucket_size 128; variables_hash_bucket_size 128;\n    include {d}/out/guestlist-http.conf;\n    server {{\n        listen 127.0.0.1:{port};\n        include {d}/out/guestlist-server.conf;\n{}    }}\n    server {{\n        listen 127.0.0.1:{backend};\n        location / {{ add_header Access-Control-Allow-Origin \"*\" always; add_header X-Powered-By \"PHP/5\" always; add_header Content-Security-Policy \"default-src *\" always; add_header X-Frame-Options \"ALLOWALL\" always; return 200 \"app\\n\"; }}\n    }}\n}}\n",
        if catch_all { String::new() } else { "        location / { return 200 \"unrouted\\n\"; }\n".to_string() }
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let t = Command::new(bin)
        .args(["-t", "-q", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(dir.join("logs/error.log"))
        .output()
        .unwrap();
    assert!(
        t.status.success(),
        "nginx -t failed:\n{}",
        String::from_utf8_lossy(&t.stderr)
    );
    NginxSetup {
        conf: conf_path,
        port,
    }
}

/// Starts nginx with a configuration made by [`setup`].
pub fn start(bin: &Path, dir: &Path, conf: &Path, port: u16) -> Nginx {
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg(dir.join("logs/error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for(addr);
    Nginx { child, addr }
}

/// The response headers a guestlist policy sets: CORS, Vary, the refusal reason, CSP and the
/// security headers (lowercase).
pub fn is_policy_header(n: &str) -> bool {
    n.starts_with("access-control-")
        || n.starts_with("cross-origin-")
        || n.starts_with("content-security-policy")
        || matches!(
            n,
            "vary"
                | "guestlist-reason"
                | "reporting-endpoints"
                | "origin-agent-cluster"
                | "referrer-policy"
                | "strict-transport-security"
                | "x-content-type-options"
                | "x-dns-prefetch-control"
                | "x-frame-options"
                | "x-permitted-cross-domain-policies"
                | "permissions-policy"
                | "x-xss-protection"
        )
}

/// Sends one HTTP/1.1 request (with `Host: localhost` unless `headers` has a Host) and returns
/// the status and the headers a policy sets (lowercase names, sorted).
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> (u16, Vec<(String, String)>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        req.push_str("Host: localhost\r\n");
    }
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut hs: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(n, _)| is_policy_header(n))
        .collect();
    hs.sort();
    (status, hs)
}
