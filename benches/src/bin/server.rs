//! The end-to-end benchmark server: axum hello world on 127.0.0.1 (current-thread runtime),
//! with no CORS, guestlist, the hand-written minimum, or tower-http's CorsLayer over N origins;
//! or `static`: no CORS layer, the application itself answering `OPTIONS /` with a constant
//! 204 and the header lines guestlist's answer to the benchmark's preflight has (the same
//! bytes on the wire without any CORS work: what a preflight costs hyper and the network,
//! the layer aside).
//! `server none|static|guestlist|hand|tower-http PORT [N]`; see scripts/bench-axum.sh.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a measuring tool fails loudly"
)]

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use guestlist_benches::{guestlist_policy, hand, origins};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let variant = args[1].clone();
    let port: u16 = args[2].parse().unwrap();
    let n: usize = args.get(3).map_or(1000, |s| s.parse().unwrap());
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    let app = match variant.as_str() {
        "none" => app,
        "static" => {
            let last = origins(n).pop().unwrap();
            let answer = move || {
                let last = last.clone();
                async move {
                    (
                        http::StatusCode::NO_CONTENT,
                        [
                            ("vary", "Origin".to_string()),
                            ("access-control-allow-origin", last),
                            ("access-control-allow-credentials", "true".to_string()),
                            ("access-control-allow-methods", "PUT".to_string()),
                            (
                                "access-control-allow-headers",
                                "content-type, x-auth-token".to_string(),
                            ),
                            ("access-control-max-age", "7200".to_string()),
                            // What axum's method router adds to a layer's answer to an
                            // OPTIONS request on a GET route.
                            ("allow", "GET,HEAD".to_string()),
                        ],
                    )
                }
            };
            Router::new().route("/", get(|| async { "Hello, World!" }).options(answer))
        }
        "guestlist" => app.layer(guestlist::Layer::shared(Arc::new(guestlist_policy(n)))),
        "hand" => {
            let matcher = Arc::new(hand::Matcher::new(&origins(n), &[]));
            app.layer(tower_layer::layer_fn(move |inner| {
                hand::Hand::new(inner, Arc::clone(&matcher))
            }))
        }
        "tower-http" => {
            use tower_http::cors::{AllowOrigin, CorsLayer};
            let list: Vec<http::HeaderValue> =
                origins(n).iter().map(|o| o.parse().unwrap()).collect();
            app.layer(
                CorsLayer::new()
                    .allow_origin(AllowOrigin::list(list))
                    .allow_methods([
                        http::Method::GET,
                        http::Method::POST,
                        http::Method::PUT,
                        http::Method::DELETE,
                    ])
                    .allow_headers([
                        http::header::CONTENT_TYPE,
                        http::header::HeaderName::from_static("x-auth-token"),
                    ])
                    .allow_credentials(true)
                    .max_age(std::time::Duration::from_secs(7200)),
            )
        }
        other => panic!("unknown variant {other}"),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}
