//! guestlist vs tower-http's `CorsLayer` vs the bare service, in one run: an actual GET and a
//! preflight, with 1, 100 and 10,000 allowed origins (the request uses the last one), plus the
//! same under axum's clone-the-service-per-request pattern. guestlist runs twice: over static
//! tables from build.rs (`guestlist-static`, what `include_policy!` gives) and over tables
//! built at run time (`guestlist`).
//!
//! Group `provided`: the same origins in a static set and in a set supplied at run time
//! (`origins tenants provided`, and `tenant-bound`), at 1, 100, 10,000 and 100,000 origins,
//! both over tables built at run time.
//!
//! `cargo bench -p guestlist-benches --bench cors -- --noplot`

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use guestlist_benches::{
    guestlist_provided_service, guestlist_service, guestlist_static_service, run,
    tower_http_service, Floor, Requests,
};

fn bench(c: &mut Criterion) {
    for kind in ["get", "preflight"] {
        let mut g = c.benchmark_group(kind);
        for n in [1usize, 100, 10_000] {
            let reqs = Requests::last_of(n);
            let make = |r: &Requests| {
                if kind == "get" {
                    r.get()
                } else {
                    r.preflight()
                }
            };
            let mut floor = Floor;
            g.bench_with_input(BenchmarkId::new("floor", n), &reqs, |b, r| {
                b.iter_batched(
                    || make(r),
                    |req| run(&mut floor, req),
                    BatchSize::SmallInput,
                )
            });
            let mut gl = guestlist_service(n);
            g.bench_with_input(BenchmarkId::new("guestlist", n), &reqs, |b, r| {
                b.iter_batched(|| make(r), |req| run(&mut gl, req), BatchSize::SmallInput)
            });
            let mut gs = guestlist_static_service(n);
            g.bench_with_input(BenchmarkId::new("guestlist-static", n), &reqs, |b, r| {
                b.iter_batched(|| make(r), |req| run(&mut gs, req), BatchSize::SmallInput)
            });
            let mut th = tower_http_service(n);
            g.bench_with_input(BenchmarkId::new("tower-http", n), &reqs, |b, r| {
                b.iter_batched(|| make(r), |req| run(&mut th, req), BatchSize::SmallInput)
            });
            // axum clones the route's service for every request.
            g.bench_with_input(BenchmarkId::new("guestlist-cloned", n), &reqs, |b, r| {
                b.iter_batched(
                    || make(r),
                    |req| run(&mut gl.clone(), req),
                    BatchSize::SmallInput,
                )
            });
            g.bench_with_input(BenchmarkId::new("tower-http-cloned", n), &reqs, |b, r| {
                b.iter_batched(
                    || make(r),
                    |req| run(&mut th.clone(), req),
                    BatchSize::SmallInput,
                )
            });
        }
        g.finish();
    }
}

fn provided(c: &mut Criterion) {
    for kind in ["get", "preflight"] {
        let mut g = c.benchmark_group(format!("provided-{kind}"));
        for n in [1usize, 100, 10_000, 100_000] {
            let reqs = Requests::last_of(n);
            let make = |r: &Requests| {
                if kind == "get" {
                    r.get()
                } else {
                    r.preflight()
                }
            };
            let mut floor = Floor;
            g.bench_with_input(BenchmarkId::new("floor", n), &reqs, |b, r| {
                b.iter_batched(
                    || make(r),
                    |req| run(&mut floor, req),
                    BatchSize::SmallInput,
                )
            });
            let mut st = guestlist_service(n);
            g.bench_with_input(BenchmarkId::new("static-set", n), &reqs, |b, r| {
                b.iter_batched(|| make(r), |req| run(&mut st, req), BatchSize::SmallInput)
            });
            let mut pr = guestlist_provided_service(n, false);
            g.bench_with_input(BenchmarkId::new("provided-set", n), &reqs, |b, r| {
                b.iter_batched(|| make(r), |req| run(&mut pr, req), BatchSize::SmallInput)
            });
            let mut tb = guestlist_provided_service(n, true);
            g.bench_with_input(BenchmarkId::new("tenant-bound-set", n), &reqs, |b, r| {
                b.iter_batched(|| make(r), |req| run(&mut tb, req), BatchSize::SmallInput)
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = bench, provided
}
criterion_main!(benches);
