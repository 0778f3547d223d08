//! The build.rs-compiled policy over real HTTP on 127.0.0.1.

#[path = "../../shared/http_test.rs"]
mod http_test;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_over_http() {
    let addr = build_script_example::serve(&build_script_example::GUESTLIST_POLICY, 0)
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || http_test::check_site(addr))
        .await
        .unwrap();
}
