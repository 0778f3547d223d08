//! Which supplied entries of a tenant-bound set belong to two tenants at once: entries with
//! different keys that allow a common origin. One rule for `guestlist check --origins` (GL1409)
//! and `Policy::replace_provided`.

use std::collections::HashMap;

use crate::Origin;

/// `host` and each domain above it, longest first (`a.b.example`, `b.example`, `example`):
/// where an entry that can meet an entry on `host` is found, by host.
pub fn host_and_domains(host: &str) -> impl Iterator<Item = &str> {
    std::iter::once(host).chain(
        host.match_indices('.')
            .filter_map(|(at, _)| host.get(at + 1..)),
    )
}

/// Whether two entries allow a common origin: the same scheme; ports that meet (either is
/// `:*`, or both are the same or absent); hosts that meet (the same host; a host under the
/// other's `*.` domain; two `*.` domains one of which is under, or is, the other).
pub fn overlap(a: &Origin, b: &Origin) -> bool {
    if a.scheme != b.scheme || !(a.any_port || b.any_port || a.port == b.port) {
        return false;
    }
    let under = |host: &str, domain: &str| {
        host.strip_suffix(domain)
            .is_some_and(|p| p.len() > 1 && p.ends_with('.'))
    };
    match (a.wildcard_host, b.wildcard_host) {
        (false, false) => a.host == b.host,
        (true, false) => under(&b.host, &a.host),
        (false, true) => under(&a.host, &b.host),
        (true, true) => a.host == b.host || under(&a.host, &b.host) || under(&b.host, &a.host),
    }
}

/// The pairs `(earlier, later)` of `entries` (indexes) whose keys differ and which
/// [`overlap`], at most one for each later entry (with the earliest entry it overlaps). Each
/// entry is compared only with the entries on its host and on each domain above it (an entry
/// overlaps only entries whose host is its own or a domain above it, or that are above its
/// own), and there only with those whose port can meet its own, so the work is a few lookups
/// per entry whatever the number of entries.
pub fn tenant_overlaps<K: PartialEq>(entries: &[(&Origin, K)]) -> Vec<(usize, usize)> {
    // Entries by (host, port) when they name a port or none, by host when they take any port;
    // and every entry by host, for an entry that takes any port.
    let mut by_port: HashMap<(&str, Option<u16>), Vec<usize>> = HashMap::new();
    let mut any_port: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_host: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (o, _)) in entries.iter().enumerate() {
        let host = o.host.as_str();
        if o.any_port {
            any_port.entry(host).or_default().push(i);
        } else {
            by_port.entry((host, o.port)).or_default().push(i);
        }
        by_host.entry(host).or_default().push(i);
    }
    let mut pairs = Vec::new();
    for (i, (o, k)) in entries.iter().enumerate() {
        for h in host_and_domains(&o.host) {
            let candidates: [&[usize]; 2] = if o.any_port {
                [by_host.get(h).map_or(&[][..], Vec::as_slice), &[][..]]
            } else {
                [
                    by_port.get(&(h, o.port)).map_or(&[][..], Vec::as_slice),
                    any_port.get(h).map_or(&[][..], Vec::as_slice),
                ]
            };
            for &j in candidates.iter().flat_map(|c| c.iter()) {
                let Some((other, key)) = entries.get(j) else {
                    continue;
                };
                if j != i && key != k && overlap(o, other) {
                    pairs.push((i.min(j), i.max(j)));
                }
            }
        }
    }
    pairs.sort_unstable_by_key(|&(a, b)| (b, a));
    pairs.dedup_by_key(|p| p.1);
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(raw: &str) -> Origin {
        let a = crate::analyze(raw);
        assert!(a.findings.is_empty(), "{raw}: {:?}", a.findings);
        a.origin.unwrap()
    }

    #[test]
    fn entries_overlap_where_they_allow_a_common_origin() {
        for (a, b, want) in [
            ("https://*.a.example.com", "https://x.a.example.com", true),
            ("https://*.a.example.com", "https://a.example.com", false),
            ("https://*.a.example.com", "https://*.x.a.example.com", true),
            ("https://*.a.example.com", "https://x.a.example.com:*", true),
            (
                "https://*.a.example.com",
                "https://*.b.a.example.com:*",
                true,
            ),
            (
                "https://*.a.example.com",
                "https://*.a.example.com:8443",
                false,
            ),
            (
                "https://*.a.example.com:*",
                "https://*.a.example.com:8443",
                true,
            ),
            ("https://x.a.example.com:*", "https://x.a.example.com", true),
            (
                "https://x.a.example.com:8443",
                "https://x.a.example.com",
                false,
            ),
            ("https://*.a.example.com", "http://x.a.example.com", false),
            (
                "https://*.a.example.com",
                "https://x.evila.example.com",
                false,
            ),
            ("https://*.a.example.com", "https://xa.example.com", false),
        ] {
            assert_eq!(overlap(&o(a), &o(b)), want, "{a} {b}");
            assert_eq!(overlap(&o(b), &o(a)), want, "{b} {a}");
        }
    }

    #[test]
    fn every_overlapping_pair_of_two_tenants_is_found_once() {
        let raw = [
            ("https://*.a.example.com", "t1"),
            ("https://x.a.example.com:*", "t2"),
            ("https://p.a.example.com", "t1"),
            ("https://*.b.a.example.com:*", "t3"),
            ("https://q.example.com", "t2"),
            ("https://y.x.a.example.com", "t1"),
        ];
        let origins: Vec<Origin> = raw.iter().map(|(r, _)| o(r)).collect();
        let entries: Vec<(&Origin, &str)> =
            origins.iter().zip(raw.iter().map(|(_, k)| *k)).collect();
        // Against a pairwise model.
        let mut want = Vec::new();
        for j in 0..entries.len() {
            if let Some(i) = (0..j)
                .find(|&i| entries[i].1 != entries[j].1 && overlap(entries[i].0, entries[j].0))
            {
                want.push((i, j));
            }
        }
        assert_eq!(tenant_overlaps(&entries), want);
        assert_eq!(want, [(0, 1), (0, 3)]);
    }
}
