//! Shared by the tests that run real programs (nginx, Chromium): finding and requiring tools
//! (a missing tool fails the test unless skipping is allowed), temporary directories, waiting
//! for a server with a deadline, and an nginx running an emitted policy on 127.0.0.1.
#![expect(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "each test crate uses a part of the helpers; tests fail by panicking"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod differential;

use guestlist_compiler::emit::nginx;
use guestlist_compiler::Compilation;

/// A running `guestlist serve`, killed on drop.
pub struct Server {
    /// The process (its stderr is piped: the log of decisions).
    pub child: Child,
    /// The address it gave on its first line: `http://127.0.0.1:PORT` (`https://` with TLS).
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `guestlist serve POLICY --listen 127.0.0.1:0 EXTRA...` (for test crates built with
/// the `cli` feature, which have the binary) and reads the address from its first line.
pub fn serve_policy(policy: &Path, extra: &[&str]) -> Server {
    let Some(bin) = option_env!("CARGO_BIN_EXE_guestlist") else {
        panic!("serve_policy needs a test crate built with the `cli` feature");
    };
    let mut child = Command::new(bin)
        .arg("serve")
        .arg(policy)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("first line gives the address")
        .to_string();
    assert!(url.contains("://127.0.0.1:"), "{url}");
    Server { child, url }
}

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

/// The tool's path. A missing tool fails the test, in words that say how to install it;
/// outside CI, `GUESTLIST_ALLOW_SKIP=1` turns that into a skip (see [`skip`]).
/// `scripts/test.sh` installs the tools.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    match find_tool(name) {
        Some(p) => Some(p),
        None => {
            skip(&format!(
                "{name} is not installed (scripts/test.sh installs it with apt-get)"
            ));
            None
        }
    }
}

/// A test that cannot run (`why`) fails, unless skipping was allowed explicitly with
/// `GUESTLIST_ALLOW_SKIP=1`, and never in CI (`CI=true`), where it always fails. An allowed
/// skip writes `SKIPPED: why` straight to the process's stderr (past the test harness's
/// capture, so it shows even for a passing test); `scripts/test.sh` counts those lines.
pub fn skip(why: &str) {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let allowed = std::env::var("GUESTLIST_ALLOW_SKIP").as_deref() == Ok("1");
    if ci {
        panic!("{why}: required in CI (CI=true), where no test is skipped");
    }
    if !allowed {
        panic!("{why}; set GUESTLIST_ALLOW_SKIP=1 to skip the tests that need it");
    }
    let _ = writeln!(std::io::stderr().lock(), "\nSKIPPED: {why}");
}

/// A fresh, empty temporary directory, unique to this call (process, call count and `name`).
pub fn tempdir(name: &str) -> PathBuf {
    // Tests in one binary run in parallel and may ask for the same name: a counter keeps each
    // call's directory its own, so one test never removes another's files.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("guestlist-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A port on 127.0.0.1 that was free a moment ago. Only for a program that binds it itself
/// (nginx): another process can take it before that, so [`start`] retries with new ports when
/// nginx cannot bind. A server in this process binds port 0 and reports its port instead.
fn candidate_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `ready` every few milliseconds until it gives a value; fails the test after
/// `deadline` with `what`: tests wait for a condition, never a fixed time.
pub fn poll_until<T>(what: &str, deadline: Duration, mut ready: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = ready() {
            return v;
        }
        assert!(Instant::now() < end, "{what}: still not after {deadline:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until something accepts connections on `addr`.
pub fn wait_for(addr: SocketAddr) {
    poll_until(
        &format!("a server listening on {addr}"),
        Duration::from_secs(15),
        || TcpStream::connect(addr).ok(),
    );
}

/// A running nginx, stopped on drop. It runs as one process (`master_process off`), so
/// killing it leaves no worker behind holding the port; or, set up
/// [`NginxSetup::with_master_process`], as a master and one worker, which it stops with
/// `nginx -s stop` (the master stops its worker).
pub struct Nginx {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The binary, prefix, configuration and error log, for `-s` signals.
    paths: [PathBuf; 4],
    master: bool,
}

impl Nginx {
    /// The process id of nginx (the master, with [`NginxSetup::with_master_process`]).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How many processes `pid` has as their parent (Linux: from `/proc`).
    pub fn children(pid: u32) -> usize {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return 0;
        };
        dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
            .filter(|stat| {
                // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .is_some_and(|ppid| ppid == pid.to_string())
            })
            .count()
    }

    /// Sends `signal` (`reload`, `stop`) with the test's own nginx binary (`-s`), through the
    /// pid file of its configuration; `true` when nginx delivered it.
    pub fn signal(&self, signal: &str) -> bool {
        let [bin, dir, conf, log] = &self.paths;
        Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(conf)
            .arg("-e")
            .arg(log)
            .args(["-s", signal])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if self.master && self.signal("stop") {
            let _ = self.child.wait();
            return;
        }
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
    /// The same with a URI part (`proxy_pass http://backend/app/;`): the upstream sees the
    /// normalised path with the location's prefix replaced.
    ProxiedWithUri,
    /// `return 200` with a small JSON body, for the browser.
    Json,
    /// `proxy_pass` to a backend that sends two lines of `Permissions-Policy`,
    /// `Referrer-Policy`, `Content-Security-Policy`, `Strict-Transport-Security` and
    /// `Set-Cookie`, and one `X-Frame-Options: SAMEORIGIN`.
    ProxiedRepeating,
    /// `proxy_pass` (no URI part) to an [`echo_upstream`] at this address.
    Echo(SocketAddr),
}

/// An nginx configuration around an emitted policy, checked with `nginx -t`; [`start`] runs
/// it. The ports are chosen when it starts.
pub struct NginxSetup {
    dir: PathBuf,
    upstream: Upstream,
    access_log: bool,
    catch_all: bool,
    /// Lines of the user's own in the guestlist server block (after the include).
    own: String,
    /// Lines of the user's own at the `http` level.
    http_own: String,
    /// A master process and one worker, as nginx runs in production.
    master: bool,
}

impl NginxSetup {
    /// The same setup with `lines` of the user's own in the server block (own locations).
    pub fn with_own_lines(mut self, lines: &str) -> NginxSetup {
        self.own = lines.to_string();
        self
    }

    /// The same setup run as a master process and one worker (as in production; a reload
    /// starts a new worker and lets the old one finish its requests).
    pub fn with_master_process(mut self) -> NginxSetup {
        self.master = true;
        self
    }

    /// The same setup with `lines` of the user's own at the `http` level.
    pub fn with_http_lines(mut self, lines: &str) -> NginxSetup {
        self.http_own = lines.to_string();
        self
    }

    /// Writes `dir/upstream.conf` and `dir/nginx.conf` for the server on `port` and the
    /// proxied backend on `backend`; returns the configuration file.
    fn write(&self, port: u16, backend: u16) -> PathBuf {
        let dir = &self.dir;
        let upstream_file = dir.join("upstream.conf");
        let body = match self.upstream {
            Upstream::Return => {
                "add_header X-App \"yes\" always;\nreturn 200 \"app\\n\";\n".to_string()
            }
            Upstream::Proxied => format!(
                "add_header X-App \"yes\" always;\nproxy_pass http://127.0.0.1:{backend};\n"
            ),
            Upstream::ProxiedWithUri => format!(
                "add_header X-App \"yes\" always;\nproxy_pass http://127.0.0.1:{backend}/app/;\n"
            ),
            Upstream::Json => {
                "default_type application/json;\nreturn 200 '{\"ok\":true}';\n".to_string()
            }
            Upstream::ProxiedRepeating => {
                format!("proxy_pass http://127.0.0.1:{backend}/repeating/;\n")
            }
            Upstream::Echo(echo) => format!("proxy_pass http://{echo};\n"),
        };
        std::fs::write(&upstream_file, body).unwrap();
        let d = dir.to_string_lossy();
        let log = if self.access_log {
            format!("log_format gl '$request_method $uri $http_origin $status';\n    access_log {d}/logs/access.log gl;")
        } else {
            "access_log off;".to_string()
        };
        let conf = format!(
            "daemon off;\nmaster_process {};\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log warn;\nevents {{ worker_connections 256; }}\nhttp {{\n    {log}\n    {}\n    client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;\n    include {d}/out/guestlist-tuning.conf;\n    include {d}/out/guestlist-http.conf;\n    server {{\n        listen 127.0.0.1:{port};\n        include {d}/out/guestlist-server.conf;\n        {}\n{}    }}\n    server {{\n        listen 127.0.0.1:{backend};\n        location / {{ add_header Access-Control-Allow-Origin \"*\" always; add_header X-Powered-By \"PHP/5\" always; add_header Content-Security-Policy \"default-src *\" always; add_header X-Frame-Options \"ALLOWALL\" always; return 200 \"app\\n\"; }}\n        location /repeating/ {{ add_header Permissions-Policy \"camera=(), microphone=()\" always; add_header Permissions-Policy \"usb=()\" always; add_header Referrer-Policy \"no-referrer\" always; add_header Referrer-Policy \"same-origin\" always; add_header Content-Security-Policy \"img-src *\" always; add_header Content-Security-Policy \"script-src 'self'\" always; add_header Strict-Transport-Security \"max-age=1\" always; add_header Strict-Transport-Security \"max-age=2\" always; add_header Set-Cookie \"a=1\" always; add_header Set-Cookie \"b=2\" always; add_header X-Frame-Options \"SAMEORIGIN\" always; return 200 \"app\\n\"; }}\n    }}\n}}\n",
            if self.master { "on" } else { "off" },
            self.http_own,
            self.own,
            match (self.catch_all, self.upstream) {
                (true, _) => String::new(),
                (false, Upstream::Echo(a)) => format!("        location / {{ proxy_pass http://{a}; }}\n"),
                (false, _) => "        location / { return 200 \"unrouted\\n\"; }\n".to_string(),
            }
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        conf_path
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
    let opts = nginx::Options {
        include_root: out.to_string_lossy().into_owned(),
        upstream_include: Some(dir.join("upstream.conf").to_string_lossy().into_owned()),
        generated_by: "guestlist test harness".into(),
        accepted: Vec::new(),
    };
    let files = nginx::emit(c, &lowered, &opts).unwrap();
    nginx::write(&out, &files).unwrap();
    let setup = NginxSetup {
        dir: dir.to_path_buf(),
        upstream,
        access_log,
        catch_all: lowered.policy.routes().iter().any(|r| r.pattern() == "/*"),
        own: String::new(),
        http_own: String::new(),
        master: false,
    };
    // `nginx -t` does not bind: any ports do for the check.
    let conf_path = setup.write(candidate_port(), candidate_port());
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
    setup
}

/// Starts nginx with a configuration made by [`setup`], on ports free a moment before; when
/// another process took one of them first (nginx exits with "Address already in use"), again
/// on new ports. Ready when nginx has written its pid file, which it does after binding.
pub fn start(bin: &Path, setup: &NginxSetup) -> Nginx {
    start_with(bin, setup, candidate_port)
}

/// [`start`], trying `port` first for the server (a test of the retry gives a port it holds).
pub fn start_trying(bin: &Path, setup: &NginxSetup, port: u16) -> Nginx {
    let mut first = Some(port);
    start_with(bin, setup, || first.take().unwrap_or_else(candidate_port))
}

fn start_with(bin: &Path, setup: &NginxSetup, server_port: impl FnMut() -> u16) -> Nginx {
    run_nginx(bin, &setup.dir, setup.master, server_port, |port| {
        setup.write(port, candidate_port())
    })
}

/// Starts nginx with a configuration of the test's own: `conf(dir, port)` gives the text of
/// `dir/nginx.conf` for a server on 127.0.0.1:`port` (one process, `pid dir/nginx.pid`, logs
/// under `dir/logs/`, temporary files under `dir/tmp/`, as [`own_config`] writes them).
pub fn start_config(bin: &Path, dir: &Path, conf: impl Fn(&Path, u16) -> String) -> Nginx {
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    run_nginx(bin, dir, false, candidate_port, |port| {
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf(dir, port)).unwrap();
        path
    })
}

/// A whole nginx configuration for [`start_config`]: `http_lines` at the `http` level and
/// one server on 127.0.0.1:`port` holding `server_lines`.
pub fn own_config(dir: &Path, port: u16, http_lines: &str, server_lines: &str) -> String {
    let d = dir.to_string_lossy();
    format!("daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log warn;\nevents {{ worker_connections 64; }}\nhttp {{\n    access_log {d}/logs/access.log;\n    client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy;\n    fastcgi_temp_path {d}/tmp/fastcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;\n    {http_lines}\n    server {{\n        listen 127.0.0.1:{port};\n        {server_lines}\n    }}\n}}\n")
}

fn run_nginx(
    bin: &Path,
    dir: &Path,
    master: bool,
    mut server_port: impl FnMut() -> u16,
    write: impl Fn(u16) -> PathBuf,
) -> Nginx {
    let dir = &dir.to_path_buf();
    let pid_file = dir.join("nginx.pid");
    let error_log = dir.join("logs/error.log");
    for _attempt in 0..10 {
        let port = server_port();
        let conf = write(port);
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(&error_log);
        let mut child = Command::new(bin)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(&error_log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id().to_string();
        let exited = poll_until("nginx to start", Duration::from_secs(15), || {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(Some(status));
            }
            let written = std::fs::read_to_string(&pid_file).unwrap_or_default();
            (written.trim() == pid).then_some(None)
        });
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        match exited {
            None => {
                return Nginx {
                    child,
                    addr,
                    paths: [bin.to_path_buf(), dir.clone(), conf, error_log],
                    master,
                }
            }
            Some(status) => {
                let log = std::fs::read_to_string(&error_log).unwrap_or_default();
                assert!(
                    log.contains("Address already in use"),
                    "nginx exited ({status}) before it was ready:\n{log}"
                );
            }
        }
    }
    panic!("nginx found no free port in 10 attempts");
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
    let (status, mut hs) = send_raw(addr, method, path, headers);
    hs.retain(|(n, _)| is_policy_header(n));
    hs.sort();
    (status, hs)
}

/// [`send`], returning every response header in the order sent (lowercase names).
pub fn send_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> (u16, Vec<(String, String)>) {
    let mut all = headers.to_vec();
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        all.insert(0, ("Host".to_string(), "localhost".to_string()));
    }
    send_line(addr, &format!("{method} {path} HTTP/1.1"), &all)
}

/// Sends the request line `line` (any target and version) with exactly `headers`, and returns
/// the status and every response header in the order sent (lowercase names).
pub fn send_line(
    addr: SocketAddr,
    line: &str,
    headers: &[(String, String)],
) -> (u16, Vec<(String, String)>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{line}\r\nConnection: close\r\n");
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
    let hs: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, hs)
}

/// The response header in which [`echo_upstream`] reports the request target it received,
/// byte for byte.
pub const UPSTREAM_TARGET: &str = "x-upstream-target";
/// The response header in which [`echo_upstream`] reports each `Guestlist-Csp-Nonce` line it
/// received (one line each, in order; none when it received none).
pub const UPSTREAM_NONCE: &str = "x-upstream-nonce";

/// An HTTP/1.1 upstream on 127.0.0.1 (a port of its own) that answers every request 200 with
/// `X-App: yes` and says what reached it: the request target ([`UPSTREAM_TARGET`]) and every
/// `Guestlist-Csp-Nonce` line ([`UPSTREAM_NONCE`]). Keep-alive connections are served (one
/// thread each); it runs until the test process exits.
pub fn echo_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || echo_connection(stream));
        }
    });
    addr
}

/// Serves one connection of [`echo_upstream`] until the peer closes it or asks to.
fn echo_connection(mut s: TcpStream) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // One request head (and a `Content-Length` body, read and dropped).
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        };
        let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
        buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        let target = request_line.split(' ').nth(1).unwrap_or("").to_string();
        let http10 = request_line.ends_with("HTTP/1.0");
        let fields: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = fields
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < length {
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
        buf.drain(..length);
        let close = http10
            || fields
                .iter()
                .any(|(n, v)| n == "connection" && v.to_ascii_lowercase().contains("close"));
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nX-App: yes\r\n{UPSTREAM_TARGET}: {target}\r\nContent-Length: 4\r\n"
        );
        for (_, v) in fields.iter().filter(|(n, _)| n == "guestlist-csp-nonce") {
            resp.push_str(&format!("{UPSTREAM_NONCE}: {v}\r\n"));
        }
        if close {
            resp.push_str("Connection: close\r\n");
        }
        resp.push_str("\r\napp\n");
        if s.write_all(resp.as_bytes()).is_err() || close {
            return;
        }
    }
}
