//! Sets supplied at run time (`origins NAME provided`) in nginx: each set's entries in a file
//! of their own, `origins/<name>.conf`, which `guestlist-http.conf` includes inside the set's
//! one `map`; every other map refers to the set by its variable, so operators regenerate that
//! file and `nginx -s reload`. Built on `values`; `origins` and `guards` read the variables.

use std::fmt::Write as _;

use super::values::{check_value, q, Writer};
use crate::emit::Unsupported;

/// The variable of provided set `index`: `1` when the request's `Origin` is byte-exactly one
/// of its exact entries or matches one of its patterns, else `0`.
pub(super) fn set_var(ns: &str, index: usize) -> String {
    format!("{ns}s{index}")
}

/// The file of a set named `name`, relative to the output directory: `origins/` then the
/// name with ASCII letters, digits and `-` kept and every other byte as `_` and two hex
/// digits (injective, and never a path separator), then `.conf`.
pub(super) fn file_name(name: &str) -> String {
    crate::emit::edge::set_file(name, "conf")
}

/// The hash sizes of a `map` of `entries` string keys of up to `longest` bytes: measured on
/// nginx 1.22, 10,000 origins of 33 bytes need 32768 / 128 to build the hash without a
/// warning; room for two slots per key and four keys per bucket.
pub(super) fn hash_sizes(entries: usize, longest: usize) -> (usize, usize) {
    (
        (entries * 2).next_power_of_two().max(2048),
        (longest + 32).next_power_of_two().max(128),
    )
}

/// One provided set as written: its file's lines (without the header) and what its hash
/// holds.
pub(super) struct SetFile {
    /// Path relative to the output directory ([`file_name`]).
    pub(super) path: String,
    /// The entries as `map` lines, with a comment above each pattern.
    pub(super) lines: String,
    /// How many exact entries (string keys of the hash).
    pub(super) exact: usize,
    /// How many patterns (regexes, tried in order after a hash miss).
    pub(super) patterns: usize,
    /// The longest exact entry, in bytes.
    pub(super) longest: usize,
}

impl Writer {
    /// The maps of provided set `index` (`name`, declared at `location`) and its file's
    /// lines: `entries` (exact origins, and patterns in a set declared `patterns`, already
    /// checked), or no line when nothing was supplied. The file is included inside
    /// `map $http_origin $<set>_in`, whose string keys nginx compares ignoring case; a hit
    /// counts when the request's `Origin` has no uppercase letter (every checked entry is in
    /// the canonical, lowercase form), and a pattern is an anchored, case-sensitive regex.
    pub(super) fn provided_set(
        &mut self,
        index: usize,
        name: &str,
        location: &str,
        entries: Option<&[guestlist::SuppliedEntry]>,
        root: &str,
    ) -> Result<SetFile, Unsupported> {
        let ns = self.ns.clone();
        let path = file_name(name);
        let var = set_var(&ns, index);
        if self.first_time("provided-shared") {
            let _ = writeln!(
                self.http,
                "\n# 1 when the request's Origin has no uppercase letter (a supplied set's hit is exact)"
            );
            self.map(
                "$http_origin",
                &format!("{ns}_lc"),
                &[("default".into(), "1".into()), (q("~[A-Z]"), "0".into())],
            );
        }
        let _ = writeln!(
            self.http,
            "\n# origins set `{name}` ({location}), supplied at run time: its entries are in\n\
             # {root}/{path}; regenerate that file and `nginx -s reload` when they change."
        );
        self.map(
            "$http_origin",
            &format!("{var}_in"),
            &[
                ("default".into(), "0".into()),
                ("include".into(), format!("{root}/{path}")),
            ],
        );
        self.map(
            &q(&format!("${var}_in${ns}_lc")),
            &var,
            &[("default".into(), "0".into()), (q("11"), "1".into())],
        );
        let mut exact: Vec<&str> = Vec::new();
        let mut patterns: Vec<&str> = Vec::new();
        for e in entries.unwrap_or_default() {
            check_value("supplied origin", &e.origin)?;
            if e.origin.contains('*') {
                patterns.push(&e.origin);
            } else {
                exact.push(&e.origin);
            }
        }
        exact.sort_unstable();
        patterns.sort_unstable();
        let mut lines = String::new();
        for o in &exact {
            let _ = writeln!(lines, "{} 1;", q(o));
        }
        for p in &patterns {
            let r = super::origins::pattern_regex(p)
                .ok_or_else(|| Unsupported(format!("cannot translate origin pattern {p:?}")))?;
            let _ = writeln!(lines, "# {p}\n{} 1;", q(&format!("~{r}")));
        }
        Ok(SetFile {
            path,
            lines,
            exact: exact.len(),
            patterns: patterns.len(),
            longest: exact.iter().map(|o| o.len()).max().unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_injective_and_stay_in_the_directory() {
        assert_eq!(file_name("tenants"), "origins/tenants.conf");
        assert_eq!(file_name("a_b"), "origins/a_5fb.conf");
        assert_eq!(file_name("../x"), "origins/_2e_2e_2fx.conf");
        assert_ne!(file_name("a_2fb"), file_name("a/b"));
    }
}
