//! Real HTTP on 127.0.0.1 for the example tests: a minimal HTTP/1.1 client over a TCP socket
//! (so the test sees exactly the bytes on the wire), and the checks both examples run.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "shared by several test crates, each using part of it; tests fail by panicking"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A parsed response: status and header lines (lowercase names, in order).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }
    /// The CORS-relevant headers, as the runtime's decision lists them.
    pub fn cors_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(n, _)| n.starts_with("access-control-") || n == "vary")
            .cloned()
            .collect()
    }
}

/// Sends one request and reads the whole response (`Connection: close`).
pub fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    let body = if method != "GET" && method != "OPTIONS" && method != "HEAD" {
        Some(&b""[..])
    } else {
        None
    };
    send_body(addr, method, path, headers, body)
}

/// Sends one request with `body` (and its `Content-Length`; none for `None`).
pub fn send_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut req = head(addr, method, path, headers);
    if let Some(b) = body {
        req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", b.len()).as_bytes());
        req.extend_from_slice(b);
    } else {
        req.extend_from_slice(b"\r\n");
    }
    send_raw(addr, &req)
}

/// Sends one request whose body is `chunks` in chunked transfer coding, one chunk each.
pub fn send_chunked(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    chunks: &[&[u8]],
) -> Reply {
    let mut req = head(addr, method, path, headers);
    req.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
    for c in chunks {
        req.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        req.extend_from_slice(c);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    send_raw(addr, &req)
}

fn head(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.into_bytes()
}

/// Writes `request` and reads the response until the server closes the connection. A
/// response the server sends before it read the whole body may be followed by a reset (the
/// unread bytes): what arrived before it is the response.
pub fn send_raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may answer and close before it read everything (a refused body).
    let _ = s.write_all(request);
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => break,
            Err(e) => panic!("reading the response: {e} (after {} bytes)", raw.len()),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// The checks both examples run against their running server.
pub fn check_site(addr: SocketAddr) {
    // A preflight from the app: answered by the layer (the route has no OPTIONS handler).
    let r = send(
        addr,
        "OPTIONS",
        "/api/users/7",
        &[
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            (
                "Access-Control-Request-Headers",
                "authorization,content-type",
            ),
        ],
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        r.get("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(r.get("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.get("access-control-allow-methods"), Some("PUT"));
    assert_eq!(r.get("access-control-max-age"), Some("7200"));
    assert_eq!(r.get("vary"), Some("Origin"));
    // A look-alike origin: 403, no CORS headers, never reaches the app.
    let r = send(
        addr,
        "OPTIONS",
        "/api/users/7",
        &[
            ("Origin", "https://app.example.com.evil.net"),
            ("Access-Control-Request-Method", "PUT"),
        ],
    );
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        r.headers
            .iter()
            .all(|(n, _)| !n.starts_with("access-control-")),
        "{r:?}"
    );
    // An actual request from a preview deployment: the app's own `*` is replaced.
    let r = send(
        addr,
        "GET",
        "/api/users/7",
        &[("Origin", "https://pr-9.preview.example.com")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.all("access-control-allow-origin"),
        ["https://pr-9.preview.example.com"]
    );
    assert_eq!(
        r.get("access-control-expose-headers"),
        Some("X-Total-Count")
    );
    assert!(r.body.contains("\"user\":\"7\""), "{r:?}");
    // Not allowed: reaches the app, which answers, but no CORS headers (the app's `*` removed).
    let r = send(
        addr,
        "GET",
        "/api/users/7",
        &[("Origin", "https://evil.test")],
    );
    assert_eq!(r.status, 200);
    assert!(r.get("access-control-allow-origin").is_none(), "{r:?}");
    assert_eq!(r.get("vary"), Some("Origin"));
    // OPTIONS without Access-Control-Request-Method is not a preflight: it reaches the router.
    let r = send(
        addr,
        "OPTIONS",
        "/api/users/7",
        &[("Origin", "https://app.example.com")],
    );
    assert_eq!(r.status, 405, "{r:?}");
    // Public assets: `*`, no Vary.
    let r = send(
        addr,
        "GET",
        "/assets/app.css",
        &[("Origin", "https://anyone.test")],
    );
    assert_eq!(r.get("access-control-allow-origin"), Some("*"));
    assert!(r.get("vary").is_none());
    // No route in the policy: untouched.
    let r = send(
        addr,
        "GET",
        "/login",
        &[("Origin", "https://app.example.com")],
    );
    assert_eq!(r.status, 200);
    assert!(r.cors_headers().is_empty(), "{r:?}");
}
