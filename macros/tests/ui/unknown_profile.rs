static POLICY: guestlist::Policy =
    guestlist_macros::include_policy!("policies/good.policy", profile = "staging");

fn main() {
    let _ = &POLICY;
}
