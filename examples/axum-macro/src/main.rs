//! `cargo run -p axum-macro-example [-- PORT]`: serves the example on 127.0.0.1.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = axum_macro_example::serve(&axum_macro_example::POLICY, port).await?;
    println!("listening on http://{addr}");
    std::future::pending::<()>().await;
    Ok(())
}
