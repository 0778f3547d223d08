//! `guestlist diff` of two 100,000-origin policies: the time to load and check both sides and
//! the time to compare them, in release mode.
//!
//! `cargo run --release -p guestlist-benches --bin diff [N] [ROUNDS]` (default 100000 5): OLD
//! allows N exact origins and 100 subdomain patterns on three routes; NEW drops 1 % of the
//! origins, adds 1 % others and one pattern, and lists the rest in another order. Prints each
//! round's times, their medians, and the findings of the last round.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a measuring tool fails loudly"
)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use guestlist_compiler::Compilation;

fn policy(origins: &[String], patterns: &[String]) -> String {
    let mut s = String::from("cors api {\n");
    for o in origins.iter().chain(patterns) {
        writeln!(s, "    allow-origins \"{o}\"").unwrap();
    }
    s.push_str("    allow-methods PUT DELETE\n    max-age 2h\n}\n");
    s.push_str("route \"/api/*\" { cors api }\nroute \"/v2/*\" { cors api }\nroute \"/graphql\" { cors api }\n");
    s
}

/// The CPU time this thread has run (`/proc/thread-self/schedstat`): on a loaded machine it
/// leaves out the time other processes took.
fn cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(5, |a| a.parse().unwrap());
    let origin = |i: usize| format!("https://tenant-{i:06}.example.com");
    let patterns: Vec<String> = (0..100)
        .map(|i| format!("https://*.region-{i:03}.example.net"))
        .collect();
    let old_origins: Vec<String> = (0..n).map(origin).collect();
    let changed = n / 100;
    // NEW: the first 1 % gone, 1 % new ones, the rest reversed, one more pattern.
    let mut new_origins: Vec<String> = (changed..n).rev().map(origin).collect();
    new_origins.extend((n..n + changed).map(origin));
    let mut new_patterns = patterns.clone();
    new_patterns.push("https://*.partner.example.org".into());
    let old = policy(&old_origins, &patterns);
    let new = policy(&new_origins, &new_patterns);
    println!(
        "{n} origins: OLD {} bytes, NEW {} bytes, {rounds} rounds",
        old.len(),
        new.len()
    );
    let mut times: Vec<[Duration; 5]> = Vec::new();
    let mut last = None;
    for round in 0..rounds {
        let (t, c0) = (Instant::now(), cpu());
        let o = Compilation::from_str("old.policy", &old);
        let c = Compilation::from_str("new.policy", &new);
        let (load, load_cpu) = (t.elapsed(), cpu() - c0);
        assert!(!o.has_errors() && !c.has_errors(), "{}", o.render());
        let (t, c0) = (Instant::now(), cpu());
        let r = guestlist_compiler::diff::diff(&o, &c, None).unwrap();
        let (diff, diff_cpu) = (t.elapsed(), cpu() - c0);
        // Lowering both sides again, alone: the part of `diff` that builds the runtime's tables.
        let c0 = cpu();
        let _ = (o.lower("default").unwrap(), c.lower("default").unwrap());
        let lower_cpu = cpu() - c0;
        println!(
            "round {round}: wall: load and check both {:.3} s, diff {:.3} s; cpu: load and check {:.3} s, diff {:.3} s (lowering both {:.3} s), total {:.3} s",
            load.as_secs_f64(),
            diff.as_secs_f64(),
            load_cpu.as_secs_f64(),
            diff_cpu.as_secs_f64(),
            lower_cpu.as_secs_f64(),
            (load_cpu + diff_cpu).as_secs_f64(),
        );
        times.push([load, diff, load_cpu, diff_cpu, lower_cpu]);
        last = Some(r);
    }
    let r = last.unwrap();
    let m = |k: usize| median(times.iter().map(|t| t[k]).collect()).as_secs_f64();
    println!(
        "median: wall: load and check both {:.3} s, diff {:.3} s, total {:.3} s; cpu: load and check both {:.3} s, diff {:.3} s (lowering both {:.3} s), total {:.3} s; {} new access, {} removed",
        m(0),
        m(1),
        m(0) + m(1),
        m(2),
        m(3),
        m(4),
        m(2) + m(3),
        r.new_access.len(),
        r.removed_access.len()
    );
    // What a wrong comparison would show: every added origin on each of the three routes,
    // the pattern likewise, and every dropped origin as removed.
    assert_eq!(r.new_access.len(), 3 * (changed + 1), "new access");
    assert_eq!(r.removed_access.len(), 3 * changed, "removed access");
}
