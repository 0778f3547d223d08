//! guestlist through build.rs: `build.rs` checks the policy and writes Rust to `OUT_DIR`.

#[path = "../../shared/app.rs"]
mod app;
pub use app::{app, app_with_secret, serve, serve_with_secret};

// Defines `pub static GUESTLIST_POLICY: guestlist::Policy`.
include!(concat!(env!("OUT_DIR"), "/guestlist_policy.rs"));
// Defines `pub static GUESTLIST_POLICY_DEV: guestlist::Policy` (the `dev` profile).
include!(concat!(env!("OUT_DIR"), "/guestlist_policy_dev.rs"));
