static POLICY: guestlist::Policy = guestlist_macros::include_policy!("policies/parse-error.policy");

fn main() {
    let _ = &POLICY;
}
