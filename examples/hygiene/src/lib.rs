//! Hygiene: the expansion of `include_policy!` and the build.rs output reach the runtime only
//! through its (renamed) crate path and `core`/`std` only through `__private`, so shadowing
//! these names here changes nothing.
#![expect(
    dead_code,
    reason = "the example shadows core and std with empty stand-ins"
)]

mod core {
    pub mod option {
        pub enum Option {}
    }
}
mod std {}
mod guestlist {}
struct Option;
struct Some;
struct None;
struct Cow;
struct HeaderValue;
struct Policy;
struct KeySet;

/// Through the proc macro (the renamed dependency is found in Cargo.toml).
pub static MACRO_POLICY: gl::Policy = guestlist_macros::include_policy!("../policies/site.policy");

include!(concat!(env!("OUT_DIR"), "/guestlist_policy.rs"));

#[cfg(test)]
mod tests {
    #[test]
    fn both_policies_work() {
        let h = [("origin", "https://app.example.com")];
        for p in [&super::MACRO_POLICY, &super::GUESTLIST_POLICY] {
            assert_eq!(
                p.decide("GET", "/api/x", &h[..]).kind,
                gl::Kind::ActualAllowed
            );
        }
    }
}
