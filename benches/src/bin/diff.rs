//! `guestlist diff` of two 100,000-origin policies, and of two policies of host blocks with a
//! set supplied at run time: the time to load and check both sides and the time to compare
//! them, in release mode.
//!
//! `cargo run --release -p guestlist-benches --bin diff [N] [ROUNDS] [BLOCKS] [MERGED]`
//! (default 100000 5 200 200). Origins: OLD allows N exact origins and 100 subdomain patterns
//! on three routes; NEW drops 1 % of the origins, adds 1 % others and one pattern, and lists
//! the rest in another order. Hosts: host blocks (one in ten a `*.` pattern), each with its own
//! cors policy on `/api/*`, a shared csrf policy on `/account/*` and a shared cors policy on
//! `/partner/*`: BLOCKS of them with `hosts dispatched-by-application`, MERGED without (every
//! block's route for a path decides it, so each region is compared under the pairs of routes
//! that can show a grant); NEW adds an origin to ten blocks' policies, drops one block's csrf line, and makes
//! the shared cors policy name a set supplied at run time. Prints each round's times, their
//! medians, and checks the findings of the last round. With `GUESTLIST_BENCH_POLICIES=DIR`,
//! the two 100,000-origin policies are also written to `DIR/old.policy` and `DIR/new.policy`.
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

/// A policy of `blocks` host blocks (see the module comment); `new` is NEW's side.
fn hosted(blocks: usize, dispatched: bool, new: bool) -> String {
    let mut s = String::new();
    s.push_str("origins tenants provided\n");
    s.push_str("cors partners {\n    allow-origins \"https://partner.example\"");
    if new {
        s.push_str(" tenants");
    }
    s.push_str("\n    max-age 600\n}\n");
    s.push_str("csrf forms {\n    missing-headers reject\n}\n");
    for i in 0..blocks {
        writeln!(
            s,
            "cors t{i} {{\n    allow-origins \"https://app.t{i}.example\" \"https://admin.t{i}.example\""
        )
        .unwrap();
        if new && i < 10 {
            writeln!(s, "    allow-origins \"https://new.t{i}.example\"").unwrap();
        }
        s.push_str("    allow-methods PUT DELETE\n    max-age 600\n}\n");
    }
    for i in 0..blocks {
        let host = if i % 10 == 9 {
            format!("*.region-{i}.example.net")
        } else {
            format!("t{i}.example.com")
        };
        let account = if new && i == 0 {
            "route \"/account/*\" { }"
        } else {
            "route \"/account/*\" { csrf forms }"
        };
        writeln!(
            s,
            "host \"{host}\" {{\n    route \"/api/*\" {{ cors t{i} }}\n    {account}\n    route \"/partner/*\" {{ cors partners }}\n}}"
        )
        .unwrap();
    }
    s.push_str("route \"/*\" { csrf forms }\n");
    if dispatched {
        s.push_str("hosts dispatched-by-application\n");
    }
    s
}

/// Times the host-block case and checks its findings.
fn hosts_case(blocks: usize, dispatched: bool, rounds: usize) {
    let old = hosted(blocks, dispatched, false);
    let new = hosted(blocks, dispatched, true);
    let label = if dispatched {
        "dispatched-by-application"
    } else {
        "every block's route decides"
    };
    let mut times: Vec<[Duration; 4]> = Vec::new();
    let mut last = None;
    for _ in 0..rounds {
        let (t, c0) = (Instant::now(), cpu());
        let o = Compilation::from_str("old.policy", &old);
        let c = Compilation::from_str("new.policy", &new);
        let (load, load_cpu) = (t.elapsed(), cpu() - c0);
        assert!(!o.has_errors(), "{}", o.render());
        assert!(!c.has_errors(), "{}", c.render());
        let (t, c0) = (Instant::now(), cpu());
        let r = guestlist_compiler::diff::diff(&o, &c, None).unwrap();
        times.push([load, t.elapsed(), load_cpu, cpu() - c0]);
        last = Some(r);
    }
    let r = last.unwrap();
    let m = |k: usize| median(times.iter().map(|t| t[k]).collect()).as_secs_f64();
    let count =
        |k: guestlist_compiler::diff::Kind| r.new_access.iter().filter(|f| f.kind == k).count();
    use guestlist_compiler::diff::Kind;
    println!(
        "{blocks} host blocks ({label}), a supplied set: median of {rounds}: wall: load and check both {:.3} s, diff {:.3} s; cpu: load and check both {:.3} s, diff {:.3} s, total {:.3} s; {} new access ({} cors-origin, {} csrf-removed, {} provided), {} removed",
        m(0),
        m(1),
        m(2),
        m(3),
        m(2) + m(3),
        r.new_access.len(),
        count(Kind::CorsOrigin),
        count(Kind::CsrfRemoved),
        count(Kind::Provided),
        r.removed_access.len(),
    );
    // Dispatched: each added origin on its block's host, the csrf line on its host. Not
    // dispatched: every block's route for /api/x decides it, and the other blocks' cors
    // policies refuse the added origins; the other blocks' csrf still guards /account/*.
    // Either way the supplied set on every block's /partner/*, and nothing removed.
    let (origins, csrf) = if dispatched { (10, 1) } else { (0, 0) };
    assert_eq!(count(Kind::CorsOrigin), origins, "{:#?}", r.new_access);
    assert_eq!(count(Kind::CsrfRemoved), csrf, "{:#?}", r.new_access);
    assert_eq!(count(Kind::Provided), blocks, "{:#?}", r.new_access);
    assert_eq!(r.removed_access.len(), 0, "{:#?}", r.removed_access);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(100_000, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(5, |a| a.parse().unwrap());
    let blocks: usize = args.next().map_or(200, |a| a.parse().unwrap());
    let merged_blocks: usize = args.next().map_or(200, |a| a.parse().unwrap());
    hosts_case(blocks, true, rounds);
    hosts_case(merged_blocks, false, rounds);
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
    // The two policies as files, for timing the command end to end (BENCHMARKS.md).
    if let Some(dir) = std::env::var_os("GUESTLIST_BENCH_POLICIES") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("old.policy"), &old).unwrap();
        std::fs::write(dir.join("new.policy"), &new).unwrap();
    }
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
