//! `cargo run -p tenant-refresh-example [-- PORT]`: serves the example on 127.0.0.1, the
//! tenant set refreshed every 30 seconds from a table holding two tenants.

use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), String> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let policy = tenant_refresh_example::policy()?;
    let repo = Arc::new(tenant_refresh_example::InMemoryTenants::default());
    repo.insert("acme", "https://app.acme.example");
    repo.insert("globex", "https://portal.globex.example");
    // The first refresh before serving, so the first requests see the tenants.
    tenant_refresh_example::refresh_once(&policy, repo.as_ref()).await?;
    let _refresher =
        tenant_refresh_example::spawn_refresher(Arc::clone(&policy), repo, Duration::from_secs(30));
    let addr = tenant_refresh_example::serve(policy, port)
        .await
        .map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    std::future::pending::<()>().await;
    Ok(())
}
