//! The conformance corpus's policies, compiled into static tables at build time (the code
//! `include_policy!` and build.rs generate). `tests/corpus.rs` runs every case against these,
//! against `guestlist explain`, and against a real nginx.

include!(concat!(env!("OUT_DIR"), "/cases.rs"));

/// The compiled policy of a case file, for a profile.
pub fn compiled(file: &str, profile: &str) -> Option<&'static guestlist::Policy> {
    POLICIES
        .iter()
        .find(|(f, p, _)| *f == file && *p == profile)
        .map(|(_, _, policy)| *policy)
}
