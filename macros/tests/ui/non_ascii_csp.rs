// A CSP value no header can carry is the checker's GL0839, not generated code that fails to
// compile.
static POLICY: guestlist::Policy = guestlist_macros::include_policy!("policies/non-ascii-csp.policy");

fn main() {
    let _ = &POLICY;
}
