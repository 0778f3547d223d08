//! Shared setup for the benchmarks: policies generated at bench time, the services under test
//! (the bare service as the floor, guestlist's layer, tower-http's `CorsLayer`), the requests,
//! and a synchronous harness (`poll_ready`, `call`, one poll with a no-op waker).
#![expect(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "bench setup fails loudly"
)]

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub mod hand;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response};
use tower_layer::Layer as _;
use tower_service::Service;

/// The requests' body: empty, and, like `()`, of size zero (guestlist's layer needs an
/// `http_body::Body`, which `()` is not).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoBody;

impl http_body::Body for NoBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(None)
    }
    fn is_end_stream(&self) -> bool {
        true
    }
}

/// The bare service: the floor every layer is measured against (it takes any body, so it
/// sits under guestlist's layer, whose requests carry a `guestlist::RequestBody`, as well).
#[derive(Clone, Copy, Debug, Default)]
pub struct Floor;

impl<B> Service<Request<B>> for Floor {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Response<()>, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    // Never inlined: whether the compiler inlines the bare service into a layer's `call`
    // depends on how many variants the harness instantiates; pinned out of line, every
    // variant pays the same call.
    #[inline(never)]
    fn call(&mut self, _: Request<B>) -> Self::Future {
        ready(Ok(Response::new(())))
    }
}

mod policy_text;
pub use policy_text::{
    hosts_policy_text, origins, pattern_policy_text, patterns, policy_text, provided_policy_text,
    STATIC_SIZES,
};

/// The benchmark policies as static tables, compiled by build.rs with
/// `guestlist_compiler::Build` (what `include_policy!` and build.rs users get).
#[allow(
    missing_docs,
    clippy::all,
    reason = "generated code: whether a lint fires depends on the policy"
)]
pub mod statics {
    include!(concat!(env!("OUT_DIR"), "/policy_1.rs"));
    include!(concat!(env!("OUT_DIR"), "/policy_100.rs"));
    include!(concat!(env!("OUT_DIR"), "/policy_1000.rs"));
    include!(concat!(env!("OUT_DIR"), "/policy_10000.rs"));
    include!(concat!(env!("OUT_DIR"), "/policy_pattern_1.rs"));
    include!(concat!(env!("OUT_DIR"), "/policy_pattern_100.rs"));
    include!(concat!(env!("OUT_DIR"), "/policy_pattern_1000.rs"));
    include!(concat!(env!("OUT_DIR"), "/policy_pattern_10000.rs"));
}

/// A guestlist policy with `n` origins, written as policy text and compiled by the compiler
/// at run time.
pub fn guestlist_policy(n: usize) -> guestlist::Policy {
    compile(&policy_text(n))
}

/// A guestlist policy with `n` subdomain patterns, compiled at run time.
pub fn guestlist_pattern_policy(n: usize) -> guestlist::Policy {
    compile(&pattern_policy_text(n))
}

/// The benchmark policy with its `n` origins supplied at run time (`origins tenants provided`,
/// `tenant-bound` with a key per origin when `tenant_bound`), filled by `replace_provided`.
pub fn guestlist_provided_policy(n: usize, tenant_bound: bool) -> guestlist::Policy {
    let p = compile(&provided_policy_text(tenant_bound));
    let entries = origins(n)
        .into_iter()
        .enumerate()
        .map(|(i, origin)| guestlist::SuppliedEntry {
            origin,
            key: tenant_bound.then(|| format!("t{i}")),
        });
    let report = p
        .replace_provided("tenants", entries)
        .expect("the set is declared")
        .expect("the entries are accepted");
    assert_eq!(report.entries, n);
    p
}

/// guestlist's layer over [`hosts_policy_text`] with `blocks` host blocks, built at run time.
pub fn guestlist_hosts_service(blocks: usize) -> guestlist::Service<Floor> {
    guestlist::Layer::shared(Arc::new(guestlist_hosts_policy(blocks))).layer(Floor)
}

/// The tables of [`hosts_policy_text`], built by `Policy::from_spec` from the plain data
/// lowering writes (the compiler's checks over a thousand blocks take minutes under
/// callgrind); a test checks that they decide as the compiled text does.
pub fn guestlist_hosts_policy(blocks: usize) -> guestlist::Policy {
    use guestlist::{CorsSpec, HostSpec, PolicySpec, RouteSpec};
    let cors = CorsSpec {
        name: "api".into(),
        origins: origins(1_000),
        credentials: true,
        methods: vec!["POST".into(), "PUT".into(), "DELETE".into()],
        headers: vec!["content-type".into(), "x-auth-token".into()],
        expose: vec!["x-request-id".into(), "x-ratelimit-remaining".into()],
        max_age: Some(7200),
        ..CorsSpec::default()
    };
    let route = |pattern: String, host: Option<usize>| RouteSpec {
        pattern,
        cors: Some(0),
        host,
        ..RouteSpec::default()
    };
    let mut routes = vec![route("/*".into(), None)];
    let mut hosts = Vec::with_capacity(blocks);
    for i in 0..blocks {
        routes.push(route("/*".into(), Some(i)));
        routes.push(route(format!("/b{i:05}"), Some(i)));
        hosts.push(HostSpec {
            patterns: vec![format!("h{i:05}.example.com")],
        });
    }
    let p = guestlist::Policy::from_spec(PolicySpec {
        routes,
        cors: vec![cors],
        hosts,
        ..PolicySpec::default()
    })
    .expect("the benchmark's host policy builds");
    assert_eq!(p.host_block_count(), blocks);
    p
}

/// guestlist's layer over [`guestlist_provided_policy`] (`Layer::shared`).
pub fn guestlist_provided_service(n: usize, tenant_bound: bool) -> guestlist::Service<Floor> {
    guestlist::Layer::shared(Arc::new(guestlist_provided_policy(n, tenant_bound))).layer(Floor)
}

/// Compiles policy text (profile `default`) at run time.
pub fn compile(src: &str) -> guestlist::Policy {
    let c = guestlist_compiler::Compilation::from_str("bench.policy", src);
    assert!(!c.has_errors(), "{}", c.render());
    c.lower("default").expect("lowers").policy
}

/// guestlist's layer over the static `n`-origin policy (build.rs), for `n` in
/// [`STATIC_SIZES`].
pub fn guestlist_static_service(n: usize) -> guestlist::Service<Floor> {
    let policy: &'static guestlist::Policy = match n {
        1 => &statics::POLICY_1,
        100 => &statics::POLICY_100,
        1_000 => &statics::POLICY_1000,
        10_000 => &statics::POLICY_10000,
        _ => panic!("no static policy of {n} origins (STATIC_SIZES)"),
    };
    guestlist::Layer::new(policy).layer(Floor)
}

/// guestlist's layer over the static `n`-pattern policy (build.rs), for `n` in
/// [`STATIC_SIZES`].
pub fn guestlist_static_pattern_service(n: usize) -> guestlist::Service<Floor> {
    let policy: &'static guestlist::Policy = match n {
        1 => &statics::POLICY_PATTERN_1,
        100 => &statics::POLICY_PATTERN_100,
        1_000 => &statics::POLICY_PATTERN_1000,
        10_000 => &statics::POLICY_PATTERN_10000,
        _ => panic!("no static policy of {n} patterns (STATIC_SIZES)"),
    };
    guestlist::Layer::new(policy).layer(Floor)
}

/// guestlist's layer over an `n`-origin policy built at run time (`Layer::shared`).
pub fn guestlist_service(n: usize) -> guestlist::Service<Floor> {
    guestlist::Layer::shared(Arc::new(guestlist_policy(n))).layer(Floor)
}

/// guestlist's layer over an `n`-pattern policy built at run time.
pub fn guestlist_pattern_service(n: usize) -> guestlist::Service<Floor> {
    guestlist::Layer::shared(Arc::new(guestlist_pattern_policy(n))).layer(Floor)
}

/// tower-http's `CorsLayer` with the same configuration (`AllowOrigin::list`).
pub fn tower_http_service(n: usize) -> tower_http::cors::Cors<Floor> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let list: Vec<HeaderValue> = origins(n)
        .iter()
        .map(|o| HeaderValue::from_str(o).unwrap())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(list))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-auth-token"),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("x-ratelimit-remaining"),
        ])
        .allow_credentials(true)
        .max_age(Duration::from_secs(7200))
        .layer(Floor)
}

/// Builds requests whose header values share one buffer, as hyper's do.
#[derive(Clone, Debug)]
pub struct Requests {
    origin: Bytes,
    host: Option<HeaderValue>,
}

impl Requests {
    /// Requests from the last origin of an `n`-origin list.
    pub fn last_of(n: usize) -> Requests {
        Requests {
            origin: Bytes::from(format!(
                "https://tenant-{:05}.example.com",
                n.saturating_sub(1)
            )),
            host: None,
        }
    }

    fn origin(&self) -> HeaderValue {
        HeaderValue::from_maybe_shared(self.origin.clone()).unwrap()
    }

    /// Requests from a subdomain of the last pattern of an `n`-pattern list.
    pub fn pattern_of(n: usize) -> Requests {
        Requests {
            origin: Bytes::from(format!(
                "https://app.tenant-{:05}.example.com",
                n.saturating_sub(1)
            )),
            host: None,
        }
    }

    /// A preflight whose `Access-Control-Request-Headers` is hostile: the two allowed names
    /// separated by 1,000 commas.
    pub fn hostile_preflight(&self) -> Request<NoBody> {
        let mut r = self.preflight();
        let value = format!("content-type{}x-auth-token", ",".repeat(1000));
        r.headers_mut().insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_str(&value).unwrap(),
        );
        r
    }

    /// `GET /` with `Origin`.
    pub fn get(&self) -> Request<NoBody> {
        let mut r = Request::new(NoBody);
        r.headers_mut().insert(header::ORIGIN, self.origin());
        if let Some(h) = &self.host {
            r.headers_mut().insert(header::HOST, h.clone());
        }
        r
    }

    /// The same requests with `Host: host`.
    pub fn with_host(mut self, host: &str) -> Requests {
        self.host = Some(HeaderValue::from_str(host).unwrap());
        self
    }

    /// A preflight for `PUT` with `content-type,x-auth-token`.
    pub fn preflight(&self) -> Request<NoBody> {
        let mut r = Request::new(NoBody);
        *r.method_mut() = Method::OPTIONS;
        let h = r.headers_mut();
        h.insert(header::ORIGIN, self.origin());
        if let Some(host) = &self.host {
            h.insert(header::HOST, host.clone());
        }
        h.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("PUT"),
        );
        h.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("content-type,x-auth-token"),
        );
        r
    }
}

/// One request through `svc`: `poll_ready`, `call`, one poll (every future here is ready).
pub fn run<S>(svc: &mut S, req: Request<NoBody>) -> Response<()>
where
    S: Service<Request<NoBody>, Response = Response<()>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    match svc.poll_ready(&mut cx) {
        Poll::Ready(r) => r.expect("ready"),
        Poll::Pending => panic!("always ready"),
    }
    let mut fut = pin!(svc.call(req));
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(r) => r.expect("infallible"),
        Poll::Pending => panic!("always ready"),
    }
}

/// The hand-written minimum over `n` origins.
pub fn hand_service(n: usize) -> hand::Hand<Floor> {
    hand::Hand::new(Floor, Arc::new(hand::Matcher::new(&origins(n), &[])))
}

/// The hand-written minimum over `n` subdomain patterns (a hash set of host suffixes).
pub fn hand_pattern_service(n: usize) -> hand::Hand<Floor> {
    hand::Hand::new(Floor, Arc::new(hand::Matcher::new(&[], &patterns(n))))
}
