//! guestlist with the proc macro: the policy is checked when this crate compiles.

#[path = "../../shared/app.rs"]
mod app;
pub use app::{app, app_with_secret, serve, serve_with_secret};

/// The site policy, compiled into static tables at build time.
pub static POLICY: guestlist::Policy = guestlist_macros::include_policy!("../policies/site.policy");

/// The same policy in the `dev` profile (localhost allowed).
pub static DEV_POLICY: guestlist::Policy =
    guestlist_macros::include_policy!("../policies/site.policy", profile = "dev");

/// CSP, security headers, CSRF and WebSocket checks, compiled the same way.
pub static GUARDS_POLICY: guestlist::Policy =
    guestlist_macros::include_policy!("../policies/guards.policy");
