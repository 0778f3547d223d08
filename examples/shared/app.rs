//! The example service shared by `axum-macro` and `build-script`: a small API and static
//! assets behind the guestlist layer. The two examples differ only in how the policy is
//! compiled (proc macro or build.rs).

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

async fn user(Path(id): Path<String>) -> impl IntoResponse {
    let mut h = HeaderMap::new();
    h.insert("x-total-count", axum::http::HeaderValue::from_static("1"));
    // A handler that sets its own CORS header: the layer replaces it on governed routes.
    h.insert(
        "access-control-allow-origin",
        axum::http::HeaderValue::from_static("*"),
    );
    (StatusCode::OK, h, format!("{{\"user\":\"{id}\"}}"))
}

async fn asset(Path(path): Path<String>) -> String {
    format!("asset {path}")
}

async fn login() -> &'static str {
    "login"
}

/// A page that uses the per-response CSP nonce the layer hands to the application.
async fn page(nonce: Option<axum::Extension<guestlist::CspNonce>>) -> String {
    match nonce {
        Some(axum::Extension(n)) => format!("<script nonce=\"{n}\">app()</script>"),
        None => "no nonce".to_string(),
    }
}

async fn form() -> &'static str {
    "saved"
}

/// The app, with `policy` applied by `guestlist::Layer`.
pub fn app(policy: &'static guestlist::Policy) -> Router {
    Router::new()
        .route(
            "/api/users/{id}",
            get(user).put(user).patch(user).delete(user),
        )
        .route("/assets/{*path}", get(asset))
        .route("/login", get(login).post(login))
        .route("/page", get(page))
        .route("/form", get(form).post(form))
        .route("/webhooks/{hook}", axum::routing::post(form))
        .route("/live", get(form))
        .layer(guestlist::Layer::new(policy))
}

/// Serves `app` on 127.0.0.1 (port 0 picks a free port) and returns the bound address.
pub async fn serve(
    policy: &'static guestlist::Policy,
    port: u16,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app(policy)).await;
    });
    Ok(addr)
}
