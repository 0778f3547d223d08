//! The compiled tables against a deliberately naive reference model of the semantics
//! (spec/language.md section 7): linear scans, owned strings, no hashing. Any difference in
//! kind, reason or headers is a crash.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

const ORIGINS: &[&str] = &[
    "https://app.example.com",
    "https://admin.example.com:8443",
    "https://*.preview.example.com",
    "http://localhost:*",
    "https://*.example.org:*",
    "http://127.0.0.1:3000",
];
const REQUEST_ORIGINS: &[&str] = &[
    "https://app.example.com",
    "https://APP.example.com",
    "https://app.example.com.evil.net",
    "https://admin.example.com:8443",
    "https://a.preview.example.com",
    "https://a..preview.example.com",
    "https://preview.example.com",
    "https://x.y.example.org:9",
    "https://x.example.org:09",
    "https://x.example.org:65536",
    "http://localhost",
    "http://localhost:5173",
    "null",
];
const METHODS: &[&str] = &["PUT", "DELETE", "patch"];
const HEADERS: &[&str] = &["Content-Type", "Authorization", "X-Id"];
const REQ_METHODS: &[&str] = &["GET", "POST", "PUT", "patch", "PATCH", "DELETE", "X", "P T"];
const REQ_HEADERS: &[&str] = &[
    "content-type",
    "authorization",
    "x-id",
    "X-ID",
    "x-other",
    " ",
    "",
    "a b",
];

#[derive(Debug, Arbitrary)]
struct Input {
    origins: Vec<u8>,
    any_origin: bool,
    credentials: bool,
    methods: Vec<u8>,
    any_method: bool,
    headers: Vec<u8>,
    any_header: bool,
    expose: bool,
    max_age: Option<u16>,
    options: bool,
    origin: Option<u8>,
    acrm: Option<u8>,
    acrh: Vec<Vec<u8>>,
    free_origin: Option<String>,
}

fn pick<'a>(v: &[&'a str], i: u8) -> &'a str {
    v[usize::from(i) % v.len()]
}

/// The naive model: what the spec says, written the slow and obvious way.
struct Model {
    any_origin: bool,
    origins: Vec<String>,
    credentials: bool,
    any_method: bool,
    methods: Vec<String>,
    any_header: bool,
    headers: Vec<String>,
    expose: Vec<String>,
    max_age: Option<u16>,
}

fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn valid_port(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && !p.starts_with('0')
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u32>().map_or(false, |n| n <= 65535)
}

impl Model {
    fn origin_ok(&self, o: &str) -> bool {
        if self.any_origin {
            return true;
        }
        for entry in &self.origins {
            if !entry.contains('*') {
                if entry == o {
                    return true;
                }
                continue;
            }
            let (scheme, rest) = entry.split_once("://").unwrap();
            let Some(orest) = o.strip_prefix(&format!("{scheme}://")) else {
                continue;
            };
            let (ohost, oport) = match orest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (orest, None),
            };
            if !valid_host(ohost) || oport.is_some_and(|p| !valid_port(p)) {
                continue;
            }
            let (ehost, eport) = match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            let host_ok = match ehost.strip_prefix("*.") {
                Some(suffix) => ohost.ends_with(&format!(".{suffix}")),
                None => ohost == ehost,
            };
            let port_ok = match eport {
                Some("*") => true,
                Some(p) => oport == Some(p),
                None => oport.is_none(),
            };
            if host_ok && port_ok {
                return true;
            }
        }
        false
    }

    fn decide(
        &self,
        method: &str,
        headers: &[(String, String)],
    ) -> (String, Vec<(String, String)>) {
        let values = |n: &str| -> Vec<String> {
            headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
                .collect()
        };
        let static_any = self.any_origin && !self.credentials;
        let mut out = Vec::new();
        let origins = values("origin");
        let vary = |out: &mut Vec<(String, String)>| {
            if !static_any {
                out.push(("vary".into(), "Origin".into()));
            }
        };
        if origins.is_empty() {
            if static_any {
                out.push(("access-control-allow-origin".into(), "*".into()));
                if !self.expose.is_empty() {
                    out.push((
                        "access-control-expose-headers".into(),
                        self.expose.join(", "),
                    ));
                }
            }
            vary(&mut out);
            return ("not-cors".into(), out);
        }
        let origin = origins[0].clone();
        let allowed = origins.len() == 1 && self.origin_ok(&origin);
        let acao = if self.any_origin {
            "*".to_string()
        } else {
            origin.clone()
        };
        let acrms = values("access-control-request-method");
        if method == "OPTIONS" && !acrms.is_empty() {
            let token = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b"!#$%&'*+-.^_`|~".contains(&b) || b.is_ascii_alphanumeric())
            };
            let mut ok = allowed && acrms.len() == 1 && token(&acrms[0]);
            let m = acrms[0].clone();
            ok = ok
                && (["GET", "HEAD", "POST"].contains(&m.as_str())
                    || self.any_method
                    || self.methods.contains(&m));
            let lines = values("access-control-request-headers");
            let mut names = Vec::new();
            if ok {
                let total: usize = lines.iter().map(String::len).sum();
                ok = lines.len() <= 8 && total <= 4096;
                for l in &lines {
                    for n in l.split(',') {
                        let n = n.trim_matches([' ', '\t']);
                        if !n.is_empty() {
                            names.push(n.to_string());
                        }
                    }
                }
                ok = ok && names.len() <= 64;
                for n in &names {
                    let listed = self.headers.iter().any(|h| h.eq_ignore_ascii_case(n));
                    let allowed = token(n)
                        && if n.eq_ignore_ascii_case("authorization") {
                            listed
                        } else {
                            listed || self.any_header
                        };
                    ok = ok && allowed;
                }
            }
            if !ok {
                vary(&mut out);
                return ("preflight-rejected".into(), out);
            }
            out.push(("access-control-allow-origin".into(), acao));
            if self.credentials {
                out.push(("access-control-allow-credentials".into(), "true".into()));
            }
            out.push(("access-control-allow-methods".into(), m));
            if !names.is_empty() {
                if self.any_header && self.credentials {
                    for l in &lines {
                        if l.split(',')
                            .any(|n| !n.trim_matches([' ', '\t']).is_empty())
                        {
                            out.push(("access-control-allow-headers".into(), l.clone()));
                        }
                    }
                } else if self.any_header {
                    let mut v = "*".to_string();
                    if self
                        .headers
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case("authorization"))
                    {
                        v.push_str(", Authorization");
                    }
                    out.push(("access-control-allow-headers".into(), v));
                } else if !self.headers.is_empty() {
                    out.push((
                        "access-control-allow-headers".into(),
                        self.headers.join(", "),
                    ));
                }
            }
            if let Some(a) = self.max_age {
                out.push(("access-control-max-age".into(), a.to_string()));
            }
            vary(&mut out);
            return ("preflight-ok".into(), out);
        }
        if !allowed {
            vary(&mut out);
            return ("actual-not-allowed".into(), out);
        }
        out.push(("access-control-allow-origin".into(), acao));
        if self.credentials {
            out.push(("access-control-allow-credentials".into(), "true".into()));
        }
        if !self.expose.is_empty() {
            out.push((
                "access-control-expose-headers".into(),
                self.expose.join(", "),
            ));
        }
        vary(&mut out);
        ("actual-allowed".into(), out)
    }
}

fn dedup(v: Vec<String>, fold: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        if !out.iter().any(|o| {
            if fold {
                o.eq_ignore_ascii_case(&s)
            } else {
                *o == s
            }
        }) {
            out.push(s);
        }
    }
    out
}

fuzz_target!(|input: Input| {
    let origins = dedup(
        input
            .origins
            .iter()
            .map(|&i| pick(ORIGINS, i).to_string())
            .collect(),
        false,
    );
    let any_origin = input.any_origin && !input.credentials;
    let credentials = input.credentials;
    let methods = dedup(
        input
            .methods
            .iter()
            .map(|&i| pick(METHODS, i).to_string())
            .collect(),
        false,
    );
    let headers = dedup(
        input
            .headers
            .iter()
            .map(|&i| pick(HEADERS, i).to_string())
            .collect(),
        true,
    );
    let expose = if input.expose {
        vec!["X-Total".to_string()]
    } else {
        Vec::new()
    };
    let (exact, patterns): (Vec<String>, Vec<String>) =
        origins.iter().cloned().partition(|o| !o.contains('*'));
    let spec = guestlist::CorsSpec {
        name: "f".into(),
        any_origin,
        origins: exact,
        patterns,
        credentials,
        any_method: input.any_method,
        methods: methods.clone(),
        any_header: input.any_header,
        headers: headers.clone(),
        expose_any: false,
        expose: expose.clone(),
        max_age: input.max_age.map(u32::from),
    };
    let policy = guestlist::Policy::build(
        vec![guestlist::RouteSpec {
            pattern: "/api/*".into(),
            cors: Some(0),
            ..Default::default()
        }],
        vec![spec],
    )
    .expect("builds");
    let model = Model {
        any_origin,
        origins,
        credentials,
        any_method: input.any_method,
        methods,
        any_header: input.any_header,
        headers,
        expose,
        max_age: input.max_age,
    };
    let mut req: Vec<(String, String)> = Vec::new();
    if let Some(o) = input.origin {
        req.push(("Origin".into(), pick(REQUEST_ORIGINS, o).to_string()));
    }
    if let Some(o) = &input.free_origin {
        req.push(("Origin".into(), o.clone()));
    }
    if let Some(m) = input.acrm {
        req.push((
            "Access-Control-Request-Method".into(),
            pick(REQ_METHODS, m).to_string(),
        ));
    }
    for line in input.acrh.iter().take(10) {
        let names: Vec<&str> = line
            .iter()
            .take(70)
            .map(|&i| pick(REQ_HEADERS, i))
            .collect();
        req.push(("Access-Control-Request-Headers".into(), names.join(",")));
    }
    let method = if input.options { "OPTIONS" } else { "GET" };
    let d = policy.decide(method, "/api/x", &req[..]);
    let got: Vec<(String, String)> = d
        .headers()
        .iter()
        .map(|h| {
            (
                h.name.as_str().to_string(),
                String::from_utf8_lossy(h.value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (kind, want) = model.decide(method, &req);
    assert_eq!(d.kind.as_str(), kind, "kind differs for {req:?}");
    assert_eq!(got, want, "headers differ for {req:?}");
    through_the_layer(policy, method, &req, &kind, &want);
});

/// The same request through the tower layer (its fast path for actual requests, its general
/// path for preflights), against the same model: the response's status and headers, per name
/// in order (the layer may write different names in another order).
fn through_the_layer(
    policy: guestlist::Policy,
    method: &str,
    req: &[(String, String)],
    kind: &str,
    want: &[(String, String)],
) {
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let mut b = http::Request::builder().method(method).uri("/api/x");
    for (n, v) in req {
        // Values HTTP cannot carry never reach a layer.
        let Ok(v) = http::HeaderValue::from_str(v) else {
            return;
        };
        b = b.header(n.as_str(), v);
    }
    let request = b.body(String::new()).expect("request");
    let app = tower_service_fn(|_req: http::Request<guestlist::RequestBody<String>>| {
        std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(())))
    });
    let mut svc = guestlist::Layer::shared(std::sync::Arc::new(policy)).layer(app);
    let mut cx = Context::from_waker(Waker::noop());
    let mut fut = std::pin::pin!(svc.call(request));
    let Poll::Ready(Ok(resp)) = fut.as_mut().poll(&mut cx) else {
        panic!("the layer's future is ready when the application's is");
    };
    let status = match kind {
        "preflight-ok" => 204,
        "preflight-rejected" => 403,
        _ => 200,
    };
    assert_eq!(resp.status().as_u16(), status, "status differs for {req:?}");
    let by_name = |pairs: &mut dyn Iterator<Item = (String, String)>| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (n, v) in pairs {
            m.entry(n).or_default().push(v);
        }
        m
    };
    let got = by_name(&mut resp.headers().iter().map(|(n, v)| {
        (
            n.as_str().to_string(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    }));
    let want = by_name(&mut want.iter().cloned());
    assert_eq!(got, want, "layer headers differ for {req:?}");
}

/// A tower service from a closure (the fuzz crate does not depend on `tower`).
fn tower_service_fn<F>(f: F) -> ServiceFn<F> {
    ServiceFn(f)
}

#[derive(Clone)]
struct ServiceFn<F>(F);

impl<B, F, Fut, R> tower_service::Service<http::Request<B>> for ServiceFn<F>
where
    F: FnMut(http::Request<B>) -> Fut,
    Fut: std::future::Future<Output = Result<R, std::convert::Infallible>>,
{
    type Response = R;
    type Error = std::convert::Infallible;
    type Future = Fut;
    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<B>) -> Fut {
        (self.0)(req)
    }
}
