//! trybuild compile-fail tests for `include_policy!`'s messages. The policies are copied into
//! trybuild's project directory, because the macro resolves paths against the compiling
//! crate's directory. `TRYBUILD=overwrite` re-blesses the `.stderr` files.

use std::path::{Path, PathBuf};

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
    }
}

#[test]
fn ui() {
    let project = target_dir().join("tests/trybuild/guestlist-macros/policies");
    std::fs::create_dir_all(&project).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/policies");
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), project.join(e.file_name())).unwrap();
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

/// The good policy expands to a usable `static` (the control for the failures above).
#[test]
fn good_policy_expands() {
    static POLICY: guestlist::Policy =
        guestlist_macros::include_policy!("tests/ui/policies/good.policy");
    let h = [("origin", "https://app.example.com")];
    assert_eq!(
        POLICY.decide("GET", "/api/x", &h[..]).kind,
        guestlist::Kind::ActualAllowed
    );
}
