static POLICY: guestlist::Policy = guestlist_macros::include_policy!("policies/bad-origin.policy");

fn main() {
    let _ = &POLICY;
}
