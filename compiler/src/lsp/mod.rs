//! `guestlist lsp`: a language server over stdio (feature `cli`). It reuses the compiler's
//! stages: loading (open documents' unsaved text in place of their files), checking, the
//! diagnostics and their fixes, `fmt`, and lowering for what a route grants; it has no parser
//! or checker of its own.
//!
//! Bottom up: `position` (byte offsets to and from the protocol's positions), `transport`
//! (stdio frames), `documents` (the open documents, the loader's view of them), `vocab` (what
//! each word means); `diagnostics` (the protocol's diagnostics), `navigate` (names: definition,
//! references, rename, symbols); `hover`, `complete`; then `server` (the message loop).
//! spec/lsp.md lists what it serves.

mod complete;
mod diagnostics;
mod documents;
mod hover;
mod navigate;
mod position;
mod server;
mod transport;
mod vocab;

pub use server::serve;
pub use transport::{over, stdio, Threads, MAX_MESSAGE_BYTES};

/// Serves a client on standard input and output until it exits; the exit code is 0 after
/// `shutdown` then `exit`, 1 when the client exits (or the input ends) without `shutdown`.
pub fn run_stdio() -> i32 {
    let (conn, threads) = stdio();
    let code = serve(&conn);
    drop(conn);
    threads.join();
    code
}
