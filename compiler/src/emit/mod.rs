//! Emitters: the same lowered policy exported to other forms. `nginx` writes configuration
//! that makes the runtime's decisions in nginx; `docs` writes Markdown for reviewers. Rust
//! output lives in `codegen.rs`.

pub mod docs;
pub mod nginx;
