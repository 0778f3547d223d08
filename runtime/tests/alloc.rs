//! A decision allocates nothing. Counted with a global allocator in a `harness = false` test,
#![allow(unsafe_code, clippy::expect_used)] // a counting allocator needs unsafe; tests fail by panicking
//! so no other test thread allocates while we count; a control case that does allocate must
//! be caught, or the counter is broken.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use guestlist::{CorsSpec, Kind, Policy, RouteSpec};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let r = f();
    (ALLOCATIONS.load(Ordering::SeqCst) - before, r)
}

fn main() {
    let origins: Vec<String> = (0..10_000)
        .map(|i| format!("https://{i}.example.com"))
        .collect();
    let policy = Policy::build(
        vec![
            RouteSpec {
                pattern: "/api/*".into(),
                cors: Some(0),
            },
            RouteSpec {
                pattern: "/open/*".into(),
                cors: Some(1),
            },
        ],
        vec![
            CorsSpec {
                name: "api".into(),
                origins,
                patterns: vec![
                    "https://*.preview.example.com".into(),
                    "http://localhost:*".into(),
                ],
                credentials: true,
                methods: vec!["PUT".into()],
                headers: vec!["content-type".into(), "authorization".into()],
                expose: vec!["x-total".into()],
                max_age: Some(7200),
                ..Default::default()
            },
            CorsSpec {
                name: "open".into(),
                any_origin: true,
                any_header: true,
                ..Default::default()
            },
        ],
    )
    .expect("policy builds");
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Kind);
    let cases: Vec<Case<'_>> = vec![
        (
            "GET",
            "/api/x",
            vec![("origin", "https://9999.example.com")],
            Kind::ActualAllowed,
        ),
        (
            "GET",
            "/api//x/../y?q=1",
            vec![("origin", "https://a.b.preview.example.com")],
            Kind::ActualAllowed,
        ),
        (
            "GET",
            "/api/x",
            vec![("origin", "https://evil.test")],
            Kind::ActualNotAllowed,
        ),
        ("GET", "/nowhere", vec![], Kind::NotCors),
        (
            "OPTIONS",
            "/api/x",
            vec![
                ("origin", "http://localhost:3000"),
                ("access-control-request-method", "PUT"),
                (
                    "access-control-request-headers",
                    "authorization, Content-Type,,",
                ),
            ],
            Kind::PreflightOk,
        ),
        (
            "OPTIONS",
            "/open/x",
            vec![
                ("origin", "null"),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "x-a,x-b"),
            ],
            Kind::PreflightOk,
        ),
        (
            "OPTIONS",
            "/api/x",
            vec![
                ("origin", "https://1.example.com"),
                ("access-control-request-method", "DELETE"),
            ],
            Kind::PreflightRejected,
        ),
    ];
    let mut failures = 0;
    for (m, p, h, want) in &cases {
        let (n, kind) = count(|| policy.decide(m, p, &h[..]).kind);
        if n != 0 || kind != *want {
            eprintln!("FAILED {m} {p}: {n} allocations, {kind:?} (want {want:?})");
            failures += 1;
        }
    }
    // The control: something that allocates is seen.
    let (n, s) = count(|| format!("{}", cases.len()));
    if n == 0 || s.is_empty() {
        eprintln!("FAILED control: the counter saw no allocation");
        failures += 1;
    }
    println!("{} passed, {} failed", cases.len() + 1 - failures, failures);
    if failures > 0 {
        std::process::exit(1);
    }
}
