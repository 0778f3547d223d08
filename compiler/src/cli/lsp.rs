//! `guestlist lsp`: the language server ([`crate::lsp`]) on standard input and output. It
//! writes nothing else to stdout; its log lines go to stderr.

use super::CliResult;

/// Serves one client until it exits.
pub(super) fn run() -> CliResult {
    Ok(crate::lsp::run_stdio())
}
