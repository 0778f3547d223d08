static POLICY: guestlist::Policy = guestlist_macros::include_policy!("policies/unknown-name.policy");

fn main() {
    let _ = &POLICY;
}
