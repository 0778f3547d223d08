//! trybuild: the code the compiler generates for a policy with an origin set supplied at run
//! time (`origins NAME provided`; tests/ui/provided_without_feature.rs, kept current by the
//! compiler's golden tests) fails to build against this runtime without its `provided`
//! feature, with one error naming the feature. `TRYBUILD=overwrite` re-blesses the `.stderr`.
//!
//! Only without the feature (as `cargo test -p guestlist` builds it): with it, the code
//! builds, and this test does not exist rather than passing without running.
#![cfg(not(feature = "provided"))]

#[test]
fn provided_sets_need_the_provided_feature() {
    trybuild::TestCases::new().compile_fail("tests/ui/provided_without_feature.rs");
}
