//! Proc macros for guestlist.
//!
//! This crate is a thin shim over `guestlist-compiler`; `include_policy!` arrives with the
//! "Compile policies into Rust" issue. Until then it only builds, so that the workspace layout
//! (runtime <- compiler <- macros) is fixed from the start.
