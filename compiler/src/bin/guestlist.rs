//! The `guestlist` command (build with `--features cli`).

fn main() {
    // Not locked for the whole run: `guestlist lsp` writes its frames from a thread of its own
    // (and logs to stderr from others).
    let code = guestlist_compiler::cli::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::exit(code);
}
