//! The tenant set over real HTTP on 127.0.0.1: empty until the first refresh, refreshed from
//! the table, kept when a row is bad or the read fails, refreshed by the background task, and
//! the handler refusing a session of another tenant than the matched origin's.

#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

#[path = "../../shared/http_test.rs"]
mod http_test;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenant_refresh_example::{refresh_once, serve, spawn_refresher, InMemoryTenants};

const ACME: &str = "https://app.acme.example";
const GLOBEX: &str = "https://portal.globex.example";

/// `GET /api/projects` from `origin` with the session of `tenant`: the status and the
/// `access-control-allow-origin` answered.
async fn get(addr: SocketAddr, origin: &str, tenant: &str) -> (u16, Option<String>) {
    let (origin, cookie) = (origin.to_string(), format!("session={tenant}"));
    tokio::task::spawn_blocking(move || {
        let r = http_test::send(
            addr,
            "GET",
            "/api/projects",
            &[("Origin", &origin), ("Cookie", &cookie)],
        );
        (
            r.status,
            r.get("access-control-allow-origin").map(str::to_string),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_set_follows_the_table_and_the_handler_checks_the_tenant() {
    let policy = tenant_refresh_example::policy().unwrap();
    let repo = InMemoryTenants::default();
    let addr = serve(Arc::clone(&policy), 0).await.unwrap();

    // Empty until the first refresh.
    assert_eq!(get(addr, ACME, "acme").await.1, None);
    repo.insert("acme", ACME);
    repo.insert("globex", GLOBEX);
    let report = refresh_once(&policy, &repo).await.unwrap();
    assert_eq!(report.added, [ACME, GLOBEX]);
    assert_eq!(get(addr, ACME, "acme").await, (200, Some(ACME.into())));
    assert_eq!(
        get(addr, GLOBEX, "globex").await,
        (200, Some(GLOBEX.into()))
    );
    assert_eq!(get(addr, "https://evil.example", "acme").await.1, None);

    // Acme's page with a visitor logged in to Globex: CORS allows the origin, the handler
    // refuses the session.
    assert_eq!(get(addr, ACME, "globex").await, (403, Some(ACME.into())));

    // A bad row keeps the set the service has.
    repo.insert("initech", "https://Initech.example");
    let e = refresh_once(&policy, &repo).await.unwrap_err();
    assert!(e.contains("refused"), "{e}");
    assert_eq!(get(addr, GLOBEX, "globex").await.0, 200);
    repo.remove("https://Initech.example");

    // So does a failed read.
    repo.set_down(true);
    repo.remove(GLOBEX);
    assert!(refresh_once(&policy, &repo).await.is_err());
    assert_eq!(get(addr, GLOBEX, "globex").await.0, 200);
    repo.set_down(false);

    // A removed row is removed from the set.
    let report = refresh_once(&policy, &repo).await.unwrap();
    assert_eq!(report.removed, [GLOBEX]);
    assert_eq!(get(addr, GLOBEX, "globex").await.1, None);
    assert_eq!(get(addr, ACME, "acme").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_task_refreshes_the_set() {
    let policy = tenant_refresh_example::policy().unwrap();
    let repo = Arc::new(InMemoryTenants::default());
    let addr = serve(Arc::clone(&policy), 0).await.unwrap();
    let task = spawn_refresher(
        Arc::clone(&policy),
        Arc::clone(&repo),
        Duration::from_millis(20),
    );
    repo.insert("acme", ACME);
    // Wait for the condition, never a fixed time: the first refresh that sees the row.
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(addr, ACME, "acme").await.1.is_none() {
        assert!(Instant::now() < deadline, "the row never reached the set");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(get(addr, ACME, "acme").await, (200, Some(ACME.into())));
    task.abort();
}
