//! Reason codes: `Reason::ALL` against the specification's table (spec/language.md, section
//! 7b), `code`/`from_code` round trips, and what `Display` and `Error` give a user.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking, helpers included"
)]

use std::collections::BTreeSet;
use std::path::Path;

use guestlist::Reason;

/// The codes of spec/language.md's reason table, in the table's order.
fn spec_codes() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/language.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with("7b. Reason codes"))
        .expect("spec/language.md has a section \"7b. Reason codes\"");
    let codes: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`'))
        .map(|(code, _)| code.to_string())
        .collect();
    assert!(
        codes.len() > 10,
        "the reason table was not found: {codes:?}"
    );
    codes
}

#[test]
fn every_reason_is_in_the_spec_and_every_documented_code_is_a_reason() {
    let documented = spec_codes();
    let listed: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
    let undocumented: Vec<_> = listed
        .iter()
        .filter(|c| !documented.iter().any(|d| d == *c))
        .collect();
    assert!(
        undocumented.is_empty(),
        "reasons missing from spec/language.md section 7b: {undocumented:?}"
    );
    let unknown: Vec<_> = documented
        .iter()
        .filter(|d| Reason::from_code(d).is_none())
        .collect();
    assert!(
        unknown.is_empty(),
        "codes in spec/language.md section 7b that are no Reason: {unknown:?}"
    );
    assert_eq!(
        documented, listed,
        "the spec's table and Reason::ALL list the same codes in the same order"
    );
}

#[test]
fn all_lists_every_variant_once_in_declaration_order() {
    // A fieldless enum numbers its variants 0, 1, 2...: a variant left out of `ALL` (or two
    // swapped) breaks the sequence.
    for (i, r) in Reason::ALL.iter().enumerate() {
        assert_eq!(*r as usize, i, "{r:?} is out of place in Reason::ALL");
    }
    let last = Reason::ALL.last().copied();
    assert_eq!(last, Some(Reason::CsrfTokenUnavailable));
}

#[test]
fn codes_round_trip_and_are_distinct() {
    let mut seen = BTreeSet::new();
    for r in Reason::ALL {
        let code = r.code();
        assert!(seen.insert(code), "{code} is used twice");
        assert_eq!(Reason::from_code(code), Some(r), "{code}");
        assert!(
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{code}: codes are lowercase words joined by '-'"
        );
    }
    for unknown in [
        "",
        "origin",
        "Origin-Allowed",
        "origin-allowed ",
        "no-such-reason",
    ] {
        assert_eq!(Reason::from_code(unknown), None, "{unknown:?}");
    }
}

#[test]
fn display_gives_the_description_and_the_code() {
    assert_eq!(
        Reason::OriginNotAllowed.to_string(),
        "the origin is not allowed by the policy (origin-not-allowed)"
    );
    for r in Reason::ALL {
        let shown = r.to_string();
        assert_eq!(shown, format!("{} ({})", r.describe(), r.code()));
        assert!(
            !r.describe().is_empty() && !r.describe().ends_with('.'),
            "{r:?}"
        );
    }
}

/// What the README does with a refusal: `?` into a boxed error, and back by downcasting.
fn submit(
    outcome: Result<(), Reason>,
) -> Result<&'static str, Box<dyn std::error::Error + Send + Sync>> {
    outcome?;
    Ok("saved")
}

#[test]
fn a_reason_is_an_error() {
    assert_eq!(submit(Ok(())).unwrap(), "saved");
    let e = submit(Err(Reason::CsrfTokenMismatch)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the CSRF token (header or form field) differs from the cookie, or is repeated (csrf-token-mismatch)"
    );
    assert_eq!(e.downcast_ref::<Reason>(), Some(&Reason::CsrfTokenMismatch));
    assert!(std::error::Error::source(&Reason::CsrfTokenMismatch).is_none());
}
