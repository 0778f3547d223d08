//! What the runtime's tower layer answers to one request: the status and headers [`explain`]
//! shows and [`testing`] checks (for any `guestlist::Layer`: a lowered policy's or static
//! tables').
//!
//! The request is built as the `http::Request` a server hands the layer and sent through a
//! `guestlist::Layer` in front of a stand-in application (an empty 200 that hands back the CSP
//! nonce and CSRF token the layer gave it). The headers are the response's own, in its map's
//! order; nothing here lists what a decision should send, so a header the layer does not write
//! is not shown. Per-response values are shown as `{nonce}` (the CSP nonce) and `{token}` (a
//! new CSRF token in `Set-Cookie`), and only when they are the values the application was
//! given: a header holding another one shows it as it is.
//!
//! What the layer removes from the application's response (a header set's `remove`) shows
//! only on lines the application sent: [`answer_app`] makes the stand-in send one line of
//! each name it is given, reports those the response no longer carries in
//! [`Answer::removed`], and leaves the lines that passed out of [`Answer::headers`] (they are
//! the application's, not the layer's).
//!
//! [`explain`]: crate::explain
//! [`testing`]: crate::testing

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use guestlist::{CspNonce, CsrfToken};

/// The layer's response to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status: the layer's own (a preflight's 204 or 403, a refusal's 403), or the stand-in
    /// application's 200.
    pub status: u16,
    /// Whether the application was called.
    pub reached_app: bool,
    /// Why the layer answered 500 by itself, when it did.
    pub server_error: Option<guestlist::ServerError>,
    /// Every header of the response (lowercase names), lines of one name in order, but the
    /// stand-in application's own lines that passed unchanged.
    pub headers: Vec<(String, String)>,
    /// The names the stand-in application sent a line of ([`answer_app`]) that the response
    /// carries no line of: the layer removed them. Lowercase, in the order given.
    pub removed: Vec<String>,
}

/// The names any header set of `policy` removes, sorted: what the stand-in application sends
/// so that a removal shows.
pub fn removable(policy: &guestlist::Policy) -> Vec<String> {
    let mut names: Vec<String> = policy
        .header_sets()
        .iter()
        .flat_map(|h| h.remove().iter().map(|n| n.as_str().to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The value of each line the stand-in application sends for [`answer_app`].
pub const APP_VALUE: &str = "gl-application";

/// The names [`answer_app`] can show a removal of: every header name but those the layer
/// itself writes from a decision and merges with the application's (`Vary`,
/// `Access-Control-*`: the CORS headers replace the application's on a governed route).
pub fn app_can_send(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n != "vary" && !n.starts_with("access-control-") && guestlist::is_token(n.as_bytes())
}

/// Why there is no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// The request cannot be sent over HTTP, so no layer ever sees it: what is wrong.
    NotHttp(String),
    /// The layer's future was not ready, though the application answers at once.
    Pending,
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::NotHttp(why) => write!(f, "the request cannot be sent over HTTP: {why}"),
            AnswerError::Pending => f.write_str("the layer did not answer at once"),
        }
    }
}

impl std::error::Error for AnswerError {}

/// Marks a response the application made.
#[derive(Debug, Clone, Copy)]
struct Reached;

/// The stand-in application: an empty 200 carrying, in its extensions, what the layer put in
/// the request's, and a line `NAME: gl-application` of each of its names.
#[derive(Debug, Clone)]
struct App(std::sync::Arc<[http::HeaderName]>);

impl tower_service::Service<http::Request<guestlist::RequestBody<String>>> for App {
    type Response = http::Response<()>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<http::Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<guestlist::RequestBody<String>>) -> Self::Future {
        let mut resp = http::Response::new(());
        for name in self.0.iter() {
            resp.headers_mut()
                .append(name.clone(), http::HeaderValue::from_static(APP_VALUE));
        }
        let ext = resp.extensions_mut();
        ext.insert(Reached);
        if let Some(n) = req.extensions().get::<CspNonce>() {
            ext.insert(*n);
        }
        if let Some(t) = req.extensions().get::<CsrfToken>() {
            ext.insert(t.clone());
        }
        std::future::ready(Ok(resp))
    }
}

/// The `http::Request` for `method path headers`: a method token, a path (origin-form, or `*`),
/// header names and values HTTP can carry.
fn request(
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> Result<http::Request<String>, AnswerError> {
    let not_http = |why: String| AnswerError::NotHttp(why);
    let method = http::Method::from_bytes(method.as_bytes())
        .map_err(|_| not_http(format!("`{method}` is not a method token")))?;
    let uri = http::Uri::try_from(path)
        .ok()
        .filter(|u| u.scheme().is_none() && u.authority().is_none())
        .ok_or_else(|| not_http(format!("`{path}` is not a request path")))?;
    let mut req = http::Request::new(String::new());
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    for (n, v) in headers {
        let name = http::HeaderName::from_bytes(n.as_bytes())
            .map_err(|_| not_http(format!("`{n}` is not a header name")))?;
        let value = http::HeaderValue::from_bytes(v.as_bytes())
            .map_err(|_| not_http(format!("the value of `{n}` holds a control character")))?;
        req.headers_mut().append(name, value);
    }
    Ok(req)
}

/// Sends `method path headers` through `layer` in front of the stand-in application.
pub fn answer(
    layer: &guestlist::Layer,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> Result<Answer, AnswerError> {
    answer_app(layer, method, path, headers, &[])
}

/// [`answer`], the stand-in application sending a line of each of `app_sends` (the names
/// [`app_can_send`] allows; others are left out), so the answer shows which the layer removed.
pub fn answer_app(
    layer: &guestlist::Layer,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    app_sends: &[String],
) -> Result<Answer, AnswerError> {
    use tower_service::Service as _;
    let req = request(method, path, headers)?;
    let mut names: Vec<http::HeaderName> = Vec::new();
    for n in app_sends.iter().filter(|n| app_can_send(n)) {
        if let Ok(name) = http::HeaderName::from_bytes(n.to_ascii_lowercase().as_bytes()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut svc = tower_layer::Layer::layer(layer, App(names.clone().into()));
    let mut cx = Context::from_waker(Waker::noop());
    if svc.poll_ready(&mut cx).is_pending() {
        return Err(AnswerError::Pending);
    }
    let mut future = std::pin::pin!(svc.call(req));
    let resp = match future.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(resp)) => resp,
        Poll::Ready(Err(never)) => match never {},
        Poll::Pending => return Err(AnswerError::Pending),
    };
    let ext = resp.extensions();
    let nonce = ext.get::<CspNonce>();
    let token = ext.get::<CsrfToken>();
    let map = resp.headers();
    let removed = if ext.get::<Reached>().is_some() {
        names
            .iter()
            .filter(|n| !map.contains_key(*n))
            .map(|n| n.as_str().to_string())
            .collect()
    } else {
        Vec::new()
    };
    let headers = map
        .iter()
        .filter(|(n, v)| !(v.as_bytes() == APP_VALUE.as_bytes() && names.contains(n)))
        .map(|(n, v)| {
            let value = String::from_utf8_lossy(v.as_bytes());
            (
                n.as_str().to_string(),
                shown(n.as_str(), &value, nonce, token),
            )
        })
        .collect();
    Ok(Answer {
        status: resp.status().as_u16(),
        reached_app: ext.get::<Reached>().is_some(),
        server_error: ext.get::<guestlist::ServerError>().copied(),
        headers,
        removed,
    })
}

/// A header value with the per-response nonce and token as `{nonce}` and `{token}`.
fn shown(name: &str, value: &str, nonce: Option<&CspNonce>, token: Option<&CsrfToken>) -> String {
    match (name, nonce, token) {
        ("content-security-policy" | "content-security-policy-report-only", Some(n), _) => {
            value.replace(&format!("'nonce-{}'", n.as_str()), "'nonce-{nonce}'")
        }
        ("content-security-policy" | "content-security-policy-report-only", None, _) => {
            any_nonce(value)
        }
        ("set-cookie", _, Some(t)) => value.replace(t.value(), "{token}"),
        _ => value.to_string(),
    }
}

/// `'nonce-…'` sources of [`CspNonce::LEN`] base64url characters as `'nonce-{nonce}'`: the
/// nonce the layer made for a response of its own (a refusal or a preflight), which no
/// application saw.
fn any_nonce(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some((before, after)) = rest.split_once("'nonce-") {
        out.push_str(before);
        match after.split_once('\'') {
            Some((n, tail))
                if n.len() == CspNonce::LEN
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                out.push_str("'nonce-{nonce}'");
                rest = tail;
            }
            _ => {
                out.push_str("'nonce-");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nonces_of_the_right_form_are_masked() {
        let n = "abcdefghijklmnopqrstu_";
        assert_eq!(
            any_nonce(&format!(
                "script-src 'nonce-{n}' 'self'; style-src 'nonce-{n}'"
            )),
            "script-src 'nonce-{nonce}' 'self'; style-src 'nonce-{nonce}'"
        );
        assert_eq!(any_nonce("'nonce-short' 'nonce-"), "'nonce-short' 'nonce-");
    }

    #[test]
    fn requests_http_cannot_carry_are_refused() {
        let h = |n: &str, v: &str| vec![(n.to_string(), v.to_string())];
        assert!(request("GET", "/a?b#c", &h("Origin", "https://a.test")).is_ok());
        assert!(matches!(
            request("P T", "/", &[]),
            Err(AnswerError::NotHttp(_))
        ));
        assert!(matches!(
            request("GET", "/a b", &[]),
            Err(AnswerError::NotHttp(_))
        ));
        assert!(matches!(
            request("GET", "http://x/y", &[]),
            Err(AnswerError::NotHttp(_))
        ));
        assert!(matches!(
            request("GET", "/", &h("A B", "x")),
            Err(AnswerError::NotHttp(_))
        ));
        assert!(matches!(
            request("GET", "/", &h("A", "x\ry")),
            Err(AnswerError::NotHttp(_))
        ));
    }
}
