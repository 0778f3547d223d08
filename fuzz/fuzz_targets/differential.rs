//! The compiled tables and the tower layer against a deliberately naive model of the
//! semantics (spec/language.md sections 4, 6 and 7: `compiler/tests/model/mod.rs`, the
//! property tests' oracle): routes picked by the input among nested patterns, with and without
//! the cors block, and a path built from the input (segments of the model's lists: plain, dot,
//! percent-encoded, broken). The decision's kind and reason code, and its headers, must be the
//! model's; the layer's status and response headers too. Any difference is a crash.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "../../compiler/tests/model/mod.rs"]
mod model;

const ORIGINS: &[&str] = &[
    "https://app.example.com",
    "https://admin.example.com:8443",
    "https://*.preview.example.com",
    "http://localhost:*",
    "https://*.example.org:*",
    "http://127.0.0.1:3000",
    "http://[::1]:*",
    "https://*.example.org:8443",
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
    "https://x.example.org:8443",
    "http://localhost",
    "http://localhost:5173",
    "http://[::1]:3000",
    "http://[::1]",
    "http://[::2]:3000",
    // Hosts that are a pattern's own text (regressions/differential/origin-host-is-a-wildcard).
    "https://*.example.org",
    "https://*.example.org:8443",
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
/// The request's method: mostly GET and OPTIONS.
const METHOD_LINE: &[&str] = &["GET", "OPTIONS", "GET", "OPTIONS", "POST", "PUT", "patch"];

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
    /// Bit i: `ROUTE_PATTERNS[i]` is a route (every one when zero).
    routes: u8,
    /// Bit i: that route has no cors line.
    without_cors: u8,
    /// The path: one segment per byte (high bit: the odd list).
    path: Vec<u8>,
    tail: u8,
    method: u8,
    origin: Option<u8>,
    acrm: Option<u8>,
    acrh: Vec<Vec<u8>>,
    free_origin: Option<String>,
    /// `paths { non-normal two-readings }` (paths with dot segments are read twice instead of
    /// refused).
    two_readings: bool,
}

fn pick<'a>(v: &[&'a str], i: u8) -> &'a str {
    v[usize::from(i) % v.len()]
}

/// A request path from the input: `/`, segments, a tail.
fn path(bytes: &[u8], tail: u8) -> String {
    let segments: Vec<&str> = bytes
        .iter()
        .take(8)
        .map(|&b| {
            if b & 0x80 == 0 {
                pick(model::PATH_SEGMENTS, b)
            } else {
                pick(model::PATH_ODD_SEGMENTS, b & 0x7f)
            }
        })
        .collect();
    format!("/{}{}", segments.join("/"), pick(model::PATH_TAILS, tail))
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
        // Sets supplied at run time are outside the model.
        provided: Vec::new(),
    };
    let chosen = if input.routes == 0 {
        u8::MAX
    } else {
        input.routes
    };
    let mut routes = Vec::new();
    let mut route_specs = Vec::new();
    for (i, pattern) in model::ROUTE_PATTERNS.iter().enumerate().take(8) {
        if chosen & (1 << i) == 0 {
            continue;
        }
        let cors = (input.without_cors & (1 << i) == 0).then_some(0);
        routes.push(model::Route {
            pattern: pattern.to_string(),
            cors,
        });
        route_specs.push(guestlist::RouteSpec {
            pattern: pattern.to_string(),
            cors,
            ..Default::default()
        });
    }
    let policy = guestlist::Policy::from_spec(guestlist::PolicySpec {
        routes: route_specs,
        cors: vec![spec],
        non_normal: if input.two_readings {
            guestlist::NonNormalPaths::TwoReadings
        } else {
            guestlist::NonNormalPaths::Reject
        },
        ..Default::default()
    })
    .expect("builds");
    let model = model::Model {
        routes,
        cors: vec![model::Cors {
            any_origin,
            origins,
            credentials,
            any_method: input.any_method,
            methods,
            any_header: input.any_header,
            headers,
            expose_any: false,
            expose,
            max_age: input.max_age.map(u32::from),
        }],
        two_readings: input.two_readings,
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
    let method = pick(METHOD_LINE, input.method);
    let path = path(&input.path, input.tail);
    let d = policy.decide(method, &path, &req[..]);
    let got = model::by_name(d.headers().iter().map(|h| {
        (
            h.name.as_str().to_string(),
            String::from_utf8_lossy(h.value.as_bytes()).into_owned(),
        )
    }));
    let want = model.decide(method, &path, &req);
    assert_eq!(
        d.kind.as_str(),
        want.kind,
        "kind differs for {method} {path} {req:?}"
    );
    assert!(
        want.reasons.contains(&d.reason.code()),
        "reason {} is not one of {:?} for {method} {path} {req:?}",
        d.reason.code(),
        want.reasons
    );
    assert_eq!(
        got,
        want.by_name(),
        "headers differ for {method} {path} {req:?}"
    );
    through_the_layer(policy, method, &path, &req, &want);
});

/// The same request through the tower layer (its fast path for actual requests, its general
/// path for preflights), against the same model: the response's status and headers, by name
/// (the layer may write different names in another order).
fn through_the_layer(
    policy: guestlist::Policy,
    method: &str,
    path: &str,
    req: &[(String, String)],
    want: &model::Outcome,
) {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let mut b = http::Request::builder().method(method).uri(path);
    for (n, v) in req {
        // Values HTTP cannot carry never reach a layer.
        let Ok(v) = http::HeaderValue::from_str(v) else {
            return;
        };
        b = b.header(n.as_str(), v);
    }
    // Nor do targets it cannot carry.
    let Ok(request) = b.body(String::new()) else {
        return;
    };
    let app = tower_service_fn(|_req: http::Request<guestlist::RequestBody<String>>| {
        std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(())))
    });
    let mut svc = guestlist::Layer::shared(std::sync::Arc::new(policy)).layer(app);
    let mut cx = Context::from_waker(Waker::noop());
    let mut fut = std::pin::pin!(svc.call(request));
    let Poll::Ready(Ok(resp)) = fut.as_mut().poll(&mut cx) else {
        panic!("the layer's future is ready when the application's is");
    };
    let status = match want.kind {
        "preflight-ok" => 204,
        "preflight-rejected" => 403,
        "path-rejected" => 400,
        _ => 200,
    };
    assert_eq!(
        resp.status().as_u16(),
        status,
        "status differs for {method} {path} {req:?}"
    );
    let got = model::by_name(resp.headers().iter().map(|(n, v)| {
        (
            n.as_str().to_string(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        )
    }));
    // A refused path carries its reason (the model's one reason) in `Guestlist-Reason`.
    let mut want_headers = want.by_name();
    if want.kind == "path-rejected" {
        want_headers.insert(
            guestlist::REASON_HEADER.to_string(),
            want.reasons.iter().map(|r| r.to_string()).collect(),
        );
    }
    assert_eq!(
        got, want_headers,
        "layer headers differ for {method} {path} {req:?}"
    );
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
