//! The `guestlist` command (build with `--features cli`).

fn main() {
    let code = guestlist_compiler::cli::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
