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

pub use server::{serve, serve_with};
pub use transport::{over, stdio, Threads, MAX_MESSAGE_BYTES};

/// Serves a client on standard input and output until it exits; the exit code is 0 after
/// `shutdown` then `exit`, 1 when the client exits (or the input ends) without `shutdown`.
pub fn run_stdio() -> i32 {
    one_heap();
    let (conn, mut threads) = match stdio() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("guestlist lsp: cannot start a thread: {e}");
            return 1;
        }
    };
    let code = serve_with(&conn, &mut || threads.renew());
    drop(conn);
    threads.join();
    code
}

/// Makes every thread of the process allocate from glibc's one main heap, before the
/// transport's threads start. Each thread would otherwise get a heap of its own, and
/// `malloc_trim` releases the free pages inside such a heap but not those at its end, so
/// each thread's heap would keep the pages its largest message touched (spec/lsp.md,
/// "Memory"). The server handles one message at a time and the transport's threads allocate
/// little, so the one heap's lock is hardly contended.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_heap() {
    #[expect(unsafe_code, reason = "mallopt takes and returns integers only")]
    // SAFETY: `mallopt` sets a parameter of the allocator; `M_ARENA_MAX` only limits how many
    // heaps later threads are given.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_heap() {}
