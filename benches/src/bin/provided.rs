//! A set supplied at run time at 100,000 entries: the time to validate, build and swap it
//! (`Policy::replace_provided`, the entries already read), and the memory its table holds next to
//! a `HashSet<String>` of the same origins, counted by a global allocator (live bytes the
//! allocator handed out: payloads, not its own headers).
//!
//! `cargo run --release -p guestlist-benches --bin provided [N] [ROUNDS]` (default 100000 7):
//! prints each round's time, their median, and the bytes per entry.
#![allow(
    unsafe_code,
    reason = "a counting allocator needs unsafe (GlobalAlloc)"
)]
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a measuring tool fails loudly"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use guestlist::{CorsSpec, Policy, PolicySpec, ProvidedSpec, RouteSpec, SuppliedEntry};

struct Counting;

/// Bytes allocated and not yet freed.
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` with the same arguments; the counter is only
// arithmetic on an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The live bytes `make`'s result holds (what it allocated and kept).
fn held<T>(make: impl FnOnce() -> T) -> (usize, T) {
    let before = LIVE.load(Ordering::Relaxed);
    let value = make();
    (LIVE.load(Ordering::Relaxed) - before, value)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(100_000, |a| a.parse().unwrap());
    let rounds: usize = args.get(2).map_or(7, |a| a.parse().unwrap());
    let origins = guestlist_benches::origins(n);
    let entries = |origins: &[String]| -> Vec<SuppliedEntry> {
        origins
            .iter()
            .map(|o| SuppliedEntry {
                origin: o.clone(),
                key: None,
            })
            .collect()
    };

    // Time: each round replaces the set's table with a fresh copy of the entries (made
    // outside the timed region), alternating two lists so every round adds and removes.
    let set = policy();
    let other: Vec<String> = (0..n)
        .map(|i| format!("https://other-{i:05}.example.com"))
        .collect();
    let mut times = Vec::new();
    for round in 0..rounds {
        let list = entries(if round % 2 == 0 { &origins } else { &other });
        let start = Instant::now();
        let report = set.replace_provided("tenants", list).unwrap().unwrap();
        let elapsed = start.elapsed();
        assert_eq!(report.entries, n);
        println!("round {round}: {:.1} ms", elapsed.as_secs_f64() * 1e3);
        times.push(elapsed);
    }
    times.sort();
    println!(
        "validate, build and swap {n} entries: median {:.1} ms over {rounds} rounds",
        times[times.len() / 2].as_secs_f64() * 1e3
    );

    // Memory: the table one replace leaves behind (the entries' own strings are consumed:
    // the table keeps them), against a HashSet<String> built from copies of the same origins.
    let fresh = policy();
    let list = entries(&origins);
    let list_bytes: usize =
        origins.iter().map(|o| o.len()).sum::<usize>() + n * std::mem::size_of::<SuppliedEntry>();
    let (table, ()) = held(|| {
        fresh.replace_provided("tenants", list).unwrap().unwrap();
    });
    // `replace` consumed the list (the vector and its strings), which `held` counted as
    // freed: add back what the list held, so `table` is what the published table holds.
    let table = table + list_bytes;
    let (hash_set, hs) = held(|| origins.iter().cloned().collect::<HashSet<String>>());
    assert_eq!(hs.len(), n);
    println!(
        "memory at {n} entries: provided set {} bytes ({:.1} per entry); HashSet<String> {} bytes ({:.1} per entry); origins' own bytes {:.1} per entry",
        table,
        table as f64 / n as f64,
        hash_set,
        hash_set as f64 / n as f64,
        origins.iter().map(String::len).sum::<usize>() as f64 / n as f64
    );
    drop(hs);
    drop(fresh);
}

/// `/api/*` with a cors policy whose only origins are the set `tenants`, supplied at run time
/// (`Policy::replace_provided`, the one way to fill a set).
fn policy() -> Policy {
    Policy::from_spec(PolicySpec {
        routes: vec![RouteSpec {
            pattern: "/api/*".into(),
            cors: Some(0),
            ..RouteSpec::default()
        }],
        cors: vec![CorsSpec {
            name: "api".into(),
            provided: vec![0],
            ..CorsSpec::default()
        }],
        provided: vec![ProvidedSpec {
            name: "tenants".into(),
            tenant_bound: false,
            patterns: false,
        }],
        ..PolicySpec::default()
    })
    .unwrap()
}
