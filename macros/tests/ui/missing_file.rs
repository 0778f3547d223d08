static POLICY: guestlist::Policy = guestlist_macros::include_policy!("policies/does-not-exist.policy");

fn main() {
    let _ = &POLICY;
}
