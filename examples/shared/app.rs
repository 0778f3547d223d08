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

/// A page on a token route: the token to put in its forms (the layer set the cookie).
async fn token_page(token: Option<axum::Extension<guestlist::CsrfToken>>) -> String {
    token.map_or_else(String::new, |axum::Extension(t)| t.value().to_string())
}

/// A form handler on a token route: answers with the body it received, byte for byte, and
/// says in `x-token-pending` whether the token is still the handler's to check.
async fn save(
    token: Option<axum::Extension<guestlist::CsrfToken>>,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    let pending = match token {
        Some(axum::Extension(t)) => {
            if t.is_pending() {
                "yes"
            } else {
                "no"
            }
        }
        None => "no token",
    };
    ([("x-token-pending", pending)], body)
}

/// A handler on a `defer-forms` route that checks the form's field itself, as such handlers
/// must: `guestlist::form_field` reads it, `CsrfToken::verify_submitted` checks it.
async fn save_checked(
    token: Option<axum::Extension<guestlist::CsrfToken>>,
    body: axum::body::Bytes,
) -> Result<&'static str, (StatusCode, String)> {
    let refuse = |r: guestlist::Reason| (StatusCode::FORBIDDEN, r.to_string());
    let Some(axum::Extension(t)) = token else {
        return Err(refuse(guestlist::Reason::CsrfTokenCookieMissing));
    };
    let mut buf = [0u8; guestlist::TOKEN_LEN];
    let field = guestlist::form_field(&body, "csrf_token", &mut buf).map_err(refuse)?;
    let field =
        std::str::from_utf8(field).map_err(|_| refuse(guestlist::Reason::CsrfTokenMalformed))?;
    t.verify_submitted(field).map_err(refuse)?;
    Ok("saved")
}

/// Turns the layer's mark on an answer to a deferred form post that its handler never
/// verified (`guestlist::CsrfTokenUnverified`) into a header, so tests over HTTP see it; a real
/// service would alert, or fail such answers in its test builds.
async fn show_unverified(mut resp: axum::response::Response) -> axum::response::Response {
    if resp
        .extensions()
        .get::<guestlist::CsrfTokenUnverified>()
        .is_some()
    {
        resp.headers_mut().insert(
            "x-csrf-unverified",
            axum::http::HeaderValue::from_static("1"),
        );
    }
    resp
}

/// The example's routes, without a layer.
fn routes() -> Router {
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
        .route("/account/{page}", get(token_page).post(save))
        .route("/legacy/unchecked", get(token_page).post(save))
        .route("/legacy/checked", get(token_page).post(save_checked))
}

/// The app, with `policy` applied by `guestlist::Layer`.
pub fn app(policy: &'static guestlist::Policy) -> Router {
    routes().layer(guestlist::Layer::new(policy))
}

/// The app with the secret CSRF tokens are signed with, for policies with a `token` line.
pub fn app_with_secret(
    policy: &'static guestlist::Policy,
    secret: guestlist::CsrfSecret,
) -> Router {
    routes()
        .layer(guestlist::Layer::new(policy).csrf_secret(secret))
        .layer(axum::middleware::map_response(show_unverified))
}

/// Serves `app` on 127.0.0.1 (port 0 picks a free port) and returns the bound address.
pub async fn serve(
    policy: &'static guestlist::Policy,
    port: u16,
) -> std::io::Result<std::net::SocketAddr> {
    serve_router(app(policy), port).await
}

/// [`serve`] for [`app_with_secret`].
pub async fn serve_with_secret(
    policy: &'static guestlist::Policy,
    secret: guestlist::CsrfSecret,
    port: u16,
) -> std::io::Result<std::net::SocketAddr> {
    serve_router(app_with_secret(policy, secret), port).await
}

async fn serve_router(router: Router, port: u16) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}
