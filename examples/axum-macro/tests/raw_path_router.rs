//! axum routes the raw path: an escaped letter in a route's literal part (`/%68ooks/x`) reaches
//! another handler than the route of the decoded path, so guestlist decides such a path under
//! both readings, the raw one included (spec/language.md, "Path forms").

#[path = "../../shared/http_test.rs"]
mod http_test;

use std::sync::Arc;

use axum::routing::post;
use guestlist::{CsrfSpec, Layer, Policy, PolicySpec, RouteSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escaped_letter_never_reaches_a_guarded_handler_unchecked() {
    // `/hooks/*` has no guard; everything else needs the csrf check.
    let policy = Policy::from_spec(PolicySpec {
        routes: vec![
            RouteSpec {
                pattern: "/hooks/*".into(),
                ..RouteSpec::default()
            },
            RouteSpec {
                pattern: "/*".into(),
                csrf: Some(0),
                ..RouteSpec::default()
            },
        ],
        csrf: vec![CsrfSpec {
            name: "c".into(),
            ..CsrfSpec::default()
        }],
        ..PolicySpec::default()
    })
    .unwrap();
    let app = axum::Router::new()
        .route("/hooks/{*rest}", post(|| async { "hooks" }))
        .route("/{user}/{*rest}", post(|| async { "user-handler" }))
        .layer(Layer::shared(Arc::new(policy)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    tokio::task::spawn_blocking(move || {
        let h = [
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ];
        // The user handler is guarded when reached by its own path.
        let direct = http_test::send(addr, "POST", "/alice/x", &h);
        assert_eq!(direct.status, 403);
        // axum serves `/%68ooks/x` from the user handler (`user` = "hooks"); decoded it is
        // `/hooks/x` (no guard): the raw reading's guard runs too.
        let escaped = http_test::send(addr, "POST", "/%68ooks/x", &h);
        assert_eq!(
            escaped.status, 403,
            "cross-site POST reached {:?}",
            escaped.body
        );
    })
    .await
    .unwrap();
}
