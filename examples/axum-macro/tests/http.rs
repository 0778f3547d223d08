//! The macro-compiled policy over real HTTP on 127.0.0.1.
#![allow(clippy::unwrap_used)] // tests fail by panicking

#[path = "../../shared/http_test.rs"]
mod http_test;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_over_http() {
    let addr = axum_macro_example::serve(&axum_macro_example::POLICY, 0)
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || http_test::check_site(addr))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_profile_allows_localhost() {
    let prod = axum_macro_example::serve(&axum_macro_example::POLICY, 0)
        .await
        .unwrap();
    let dev = axum_macro_example::serve(&axum_macro_example::DEV_POLICY, 0)
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let h = [("Origin", "http://localhost:3000")];
        let p = http_test::send(prod, "GET", "/api/users/1", &h);
        assert!(p.get("access-control-allow-origin").is_none());
        let d = http_test::send(dev, "GET", "/api/users/1", &h);
        assert_eq!(
            d.get("access-control-allow-origin"),
            Some("http://localhost:3000")
        );
    })
    .await
    .unwrap();
}
