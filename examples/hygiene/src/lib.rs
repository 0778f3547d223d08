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
struct ProvidedSet;
struct SetRef;

/// Through the proc macro (the renamed dependency is found in Cargo.toml).
pub static MACRO_POLICY: gl::Policy = guestlist_macros::include_policy!("../policies/site.policy");

include!(concat!(env!("OUT_DIR"), "/guestlist_policy.rs"));

/// A policy with an origin set supplied at run time (`origins customers provided
/// tenant-bound`), through the proc macro: the static holds the (empty) set, which the
/// application fills with `replace_provided`.
pub static MACRO_TENANTS: gl::Policy = guestlist_macros::include_policy!("tenants.policy");

include!(concat!(env!("OUT_DIR"), "/tenants_policy.rs"));

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

    fn kind(p: &gl::Policy, origin: &str) -> gl::Kind {
        let h = [("origin", origin)];
        p.decide("GET", "/api/x", &h[..]).kind
    }

    fn entry(origin: &str, key: &str) -> gl::SuppliedEntry {
        gl::SuppliedEntry {
            origin: origin.into(),
            key: Some(key.into()),
        }
    }

    /// Each generated static (the macro's, build.rs's) holds its own set: replacing it
    /// changes that static's decisions, and only its.
    #[test]
    fn generated_statics_hold_a_replaceable_provided_set() {
        let customer = "https://shop.customer.example";
        for (p, other) in [
            (&super::MACRO_TENANTS, &super::TENANTS_POLICY),
            (&super::TENANTS_POLICY, &super::MACRO_TENANTS),
        ] {
            let set = p.provided_set("customers").unwrap();
            assert!(set.is_tenant_bound() && !set.allows_patterns());
            assert_eq!(kind(p, "https://app.example.com"), gl::Kind::ActualAllowed);
            assert_eq!(kind(p, customer), gl::Kind::ActualNotAllowed);
            let report = p
                .replace_provided("customers", [entry(customer, "c-1")])
                .unwrap()
                .unwrap();
            assert_eq!(report.added, [customer]);
            assert_eq!(kind(p, customer), gl::Kind::ActualAllowed);
            assert_eq!(kind(other, customer), gl::Kind::ActualNotAllowed);
            // The static origin stays the static set's: a supplied entry never covers it.
            assert!(p
                .replace_provided("customers", [entry("https://app.example.com", "c-2")])
                .unwrap()
                .is_err());
            let report = p.replace_provided("customers", []).unwrap().unwrap();
            assert_eq!(report.removed, [customer]);
            assert_eq!(kind(p, customer), gl::Kind::ActualNotAllowed);
        }
    }
}
