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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guards_over_http() {
    let addr = axum_macro_example::serve(&axum_macro_example::GUARDS_POLICY, 0)
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        // The page's nonce is fresh per response and the same in the CSP and the page.
        let mut seen = Vec::new();
        for _ in 0..2 {
            let r = http_test::send(addr, "GET", "/page", &[]);
            assert_eq!(r.status, 200);
            let nonce = r
                .body
                .strip_prefix("<script nonce=\"")
                .and_then(|b| b.split('"').next())
                .unwrap()
                .to_string();
            assert_eq!(nonce.len(), 22);
            let csp = r.get("content-security-policy").unwrap();
            assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");
            assert_eq!(r.get("x-frame-options"), Some("DENY"));
            assert_eq!(
                r.get("reporting-endpoints"),
                Some("csp-endpoint=\"https://reports.example.com/csp\"")
            );
            seen.push(nonce);
        }
        assert_ne!(seen[0], seen[1]);
        // Cross-site form posts are refused before the handler; same-origin ones pass.
        let evil = [
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ];
        let r = http_test::send(addr, "POST", "/form", &evil);
        assert_eq!(r.status, 403);
        assert_eq!(r.get("guestlist-reason"), Some("csrf-cross-site"));
        assert_eq!(r.get("x-content-type-options"), Some("nosniff"));
        assert_ne!(r.body, "saved");
        let own = format!("http://{addr}");
        let r = http_test::send(addr, "POST", "/form", &[("Origin", own.as_str())]);
        assert_eq!((r.status, r.body.as_str()), (200, "saved"));
        let r = http_test::send(addr, "POST", "/webhooks/github", &evil);
        assert_eq!(r.status, 200);
        // WebSocket handshakes are checked by origin.
        let up = |origin: &'static str| {
            [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Origin", origin),
            ]
        };
        let r = http_test::send(addr, "GET", "/live", &up("https://evil.example"));
        assert_eq!(r.status, 403);
        assert_eq!(
            r.get("guestlist-reason"),
            Some("websocket-origin-not-allowed")
        );
        let r = http_test::send(addr, "GET", "/live", &up("https://app.example.com"));
        assert_eq!(r.status, 200);
    })
    .await
    .unwrap();
}
