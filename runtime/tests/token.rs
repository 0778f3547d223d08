//! Signed double-submit CSRF tokens through the tower layer: the cookie and the request
//! extension on safe requests, verification on unsafe ones, every refusal, rotation, and a
//! property test that no token verifies for another session.
#![cfg(all(feature = "csrf-token", feature = "tower"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking; an allow, not an expect: some feature sets compile parts of this file out"
)]

mod common;

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use guestlist::{CsrfSecret, CsrfSpec, CsrfToken, Layer, Policy, PolicySpec, RouteSpec, TokenSpec};
use http_body::{Body, Frame};
use tower_layer::Layer as _;

fn token_spec(defer_forms: bool) -> TokenSpec {
    TokenSpec {
        header: "x-csrf-token".into(),
        cookie: "__Host-csrf".into(),
        bind_cookie: "session".into(),
        same_site: "Lax".into(),
        field: "csrf_token".into(),
        defer_forms,
    }
}

/// One route, `/*`, whose csrf policy signs tokens; `defer_forms`: form posts without the
/// header go to the application.
fn policy_with(defer_forms: bool) -> Arc<Policy> {
    Arc::new(
        Policy::from_spec(PolicySpec {
            routes: vec![RouteSpec {
                pattern: "/*".into(),
                csrf: Some(0),
                ..Default::default()
            }],
            csrf: vec![CsrfSpec {
                name: "account".into(),
                token: Some(token_spec(defer_forms)),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap(),
    )
}

fn policy() -> Arc<Policy> {
    policy_with(false)
}

fn secret(byte: u8) -> CsrfSecret {
    CsrfSecret::new(vec![byte; 32]).unwrap()
}

/// The application: answers 200 with a cookie of its own, and records the token the layer
/// handed to it.
type App = common::App<Option<CsrfToken>>;

fn app() -> App {
    App::new(
        |req| req.extensions().get::<CsrfToken>().cloned(),
        || {
            let mut r = http::Response::new(());
            r.headers_mut()
                .append("set-cookie", "app=1".parse().unwrap());
            r
        },
    )
}

fn get(session: &str, cookie: Option<&str>) -> http::Request<()> {
    let mut c = format!("session={session}");
    if let Some(t) = cookie {
        c.push_str(&format!("; __Host-csrf={t}"));
    }
    http::Request::get("/account")
        .header("cookie", c)
        .body(())
        .unwrap()
}

fn post(session: &str, cookie: Option<&str>, header: Option<&str>) -> http::Request<()> {
    let mut b = http::Request::post("/account").header("content-type", "application/json");
    let mut c = format!("session={session}");
    if let Some(t) = cookie {
        c.push_str(&format!("; __Host-csrf={t}"));
    }
    b = b.header("cookie", c);
    if let Some(h) = header {
        b = b.header("x-csrf-token", h);
    }
    b.body(()).unwrap()
}

/// Issues a token for `session` with a GET, as a page load would.
fn issue(svc: &mut guestlist::Service<App>, app: &App, session: &str) -> String {
    let r = common::run(svc, get(session, None));
    let cookies: Vec<_> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        cookies.contains(&"app=1".to_string()),
        "the app's own cookie is kept: {cookies:?}"
    );
    let ours = cookies
        .iter()
        .find(|c| c.starts_with("__Host-csrf="))
        .unwrap();
    let token = ours
        .trim_start_matches("__Host-csrf=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let ext = app.seen.lock().unwrap().pop().flatten().unwrap();
    assert_eq!(
        ext.value(),
        token,
        "the application gets the token it can put in the page"
    );
    token
}

fn reason(r: &http::Response<()>) -> (u16, Option<String>) {
    (
        r.status().as_u16(),
        r.headers()
            .get("guestlist-reason")
            .map(|v| v.to_str().unwrap().to_string()),
    )
}

#[test]
fn a_page_load_sets_a_host_cookie_and_hands_the_token_to_the_app() {
    let app = app();
    let mut svc = Layer::shared(policy())
        .csrf_secret(secret(1))
        .layer(app.clone());
    let r = common::run(&mut svc, get("alice", None));
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("__Host-"))
        .unwrap()
        .to_string();
    // __Host- attributes: Secure, Path=/, no Domain; SameSite as configured; not HttpOnly.
    let attrs: Vec<&str> = set.split("; ").skip(1).collect();
    assert_eq!(attrs, ["Path=/", "Secure", "SameSite=Lax"], "{set}");
    assert!(!set.to_ascii_lowercase().contains("domain") && !set.contains("HttpOnly"));
    let token = set
        .trim_start_matches("__Host-csrf=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(token.len(), guestlist::TOKEN_LEN);
    assert_eq!(
        app.seen.lock().unwrap().pop().flatten().unwrap().value(),
        token
    );
    // With that cookie, the next page load keeps it (no new cookie).
    let r = common::run(&mut svc, get("alice", Some(&token)));
    assert!(r
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("__Host-")));
    assert_eq!(
        app.seen.lock().unwrap().pop().flatten().unwrap().value(),
        token
    );
    // A cookie issued for another session is replaced.
    let r = common::run(&mut svc, get("mallory", Some(&token)));
    assert!(r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("__Host-")));
}

#[test]
fn unsafe_requests_need_the_sessions_token_in_header_and_cookie() {
    let app = app();
    let mut svc = Layer::shared(policy())
        .csrf_secret(secret(1))
        .layer(app.clone());
    let t = issue(&mut svc, &app, "alice");
    assert_eq!(
        reason(&common::run(&mut svc, post("alice", Some(&t), Some(&t)))),
        (200, None)
    );
    let cases: Vec<(http::Request<()>, &str)> = vec![
        (post("alice", Some(&t), None), "csrf-token-missing"),
        (post("alice", None, Some(&t)), "csrf-token-cookie-missing"),
        (post("bob", Some(&t), Some(&t)), "csrf-token-other-session"),
        (
            post("alice", Some(&t[..96]), Some(&t[..96])),
            "csrf-token-malformed",
        ),
        (
            post("alice", Some(&format!("{t}0")), Some(&format!("{t}0"))),
            "csrf-token-malformed",
        ),
        (
            post("alice", Some(&t), Some(&issue(&mut svc, &app, "alice"))),
            "csrf-token-mismatch",
        ),
    ];
    for (req, want) in cases {
        assert_eq!(
            reason(&common::run(&mut svc, req)),
            (403, Some(want.to_string()))
        );
    }
    // A tampered MAC.
    let mut bad = t.clone().into_bytes();
    bad[10] = if bad[10] == b'f' { b'e' } else { b'f' };
    let bad = String::from_utf8(bad).unwrap();
    assert_eq!(
        reason(&common::run(
            &mut svc,
            post("alice", Some(&bad), Some(&bad))
        )),
        (403, Some("csrf-token-other-session".into()))
    );
    // Refused requests never reach the application.
    let before = app.seen.lock().unwrap().len();
    common::run(&mut svc, post("alice", None, None));
    assert_eq!(app.seen.lock().unwrap().len(), before);
}

/// A request body given frame by frame, `Pending` (with a wake) before each frame: what a
/// chunked upload looks like to the layer. Counts the frames polled out of it.
struct Frames {
    frames: VecDeque<Result<Frame<Bytes>, &'static str>>,
    waited: bool,
    polled: Arc<AtomicUsize>,
}

impl Frames {
    fn new(frames: Vec<Result<Frame<Bytes>, &'static str>>) -> (Frames, Arc<AtomicUsize>) {
        let polled = Arc::new(AtomicUsize::new(0));
        (
            Frames {
                frames: frames.into(),
                waited: false,
                polled: Arc::clone(&polled),
            },
            polled,
        )
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = &'static str;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
        if !self.waited {
            self.waited = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.waited = false;
        let f = self.frames.pop_front();
        if f.is_some() {
            self.polled.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(f)
    }
}

/// What the form application saw of one request: the token extension, and the body as it
/// arrived: each data frame, then the trailers.
#[derive(Debug, Clone)]
struct Seen {
    token: Option<CsrfToken>,
    data: Vec<Bytes>,
    trailers: Option<http::HeaderMap>,
}

/// An application that reads the whole body before it answers 200, and, with `verify`,
/// checks the submitted `csrf_token` field with `CsrfToken::verify_submitted` (what a handler
/// on a `defer-forms` route does).
#[derive(Clone)]
struct FormApp {
    seen: Arc<Mutex<Vec<Seen>>>,
    verify: bool,
}

impl FormApp {
    fn new(verify: bool) -> FormApp {
        FormApp {
            seen: Arc::default(),
            verify,
        }
    }
    fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
    fn calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl<B> tower_service::Service<http::Request<B>> for FormApp
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Debug,
{
    type Response = http::Response<()>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<http::Response<()>, std::convert::Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let (parts, mut body) = req.into_parts();
        let mut seen = Seen {
            token: parts.extensions.get::<CsrfToken>().cloned(),
            data: Vec::new(),
            trailers: None,
        };
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..10_000 {
            match Pin::new(&mut body).poll_frame(&mut cx) {
                Poll::Pending => continue,
                Poll::Ready(None) => break,
                Poll::Ready(Some(f)) => match f.unwrap().into_data() {
                    Ok(d) => seen.data.push(d),
                    Err(f) => seen.trailers = f.into_trailers().ok(),
                },
            }
        }
        if self.verify && seen.token.as_ref().is_some_and(CsrfToken::is_pending) {
            let all: Vec<u8> = seen.data.concat();
            let mut buf = [0u8; guestlist::TOKEN_LEN];
            let field = guestlist::form_field(&all, "csrf_token", &mut buf).unwrap();
            let t = seen.token.as_ref().unwrap();
            t.verify_submitted(std::str::from_utf8(field).unwrap())
                .unwrap();
        }
        self.seen.lock().unwrap().push(seen);
        std::future::ready(Ok(http::Response::new(())))
    }
}

/// Calls the layer with a request of any body and polls until it answers (a body that is
/// pending wakes the task at once).
fn run_body<S, B>(svc: &mut S, req: http::Request<B>) -> http::Response<()>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<()>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    let mut fut = std::pin::pin!(svc.call(req));
    for _ in 0..10_000 {
        if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
            return r.unwrap();
        }
    }
    panic!("the layer never answered")
}

fn form<B>(session: &str, cookie: &str, content_type: &str, body: B) -> http::Request<B> {
    http::Request::post("/account")
        .header("content-type", content_type)
        .header("cookie", format!("session={session}; __Host-csrf={cookie}"))
        .body(body)
        .unwrap()
}

const URLENCODED: &str = "application/x-www-form-urlencoded";

/// Issues a token for `session` through `svc`, as a page load would (the form app sees it).
fn issue_for_form<S>(svc: &mut S, app: &FormApp, session: &str) -> String
where
    S: tower_service::Service<http::Request<String>, Response = http::Response<()>>,
    S::Error: std::fmt::Debug,
{
    issue_at(svc, app, "/account", session)
}

fn issue_at<S>(svc: &mut S, app: &FormApp, path: &str, session: &str) -> String
where
    S: tower_service::Service<http::Request<String>, Response = http::Response<()>>,
    S::Error: std::fmt::Debug,
{
    let req = http::Request::get(path)
        .header("cookie", format!("session={session}"))
        .body(String::new())
        .unwrap();
    assert_eq!(run_body(svc, req).status(), 200);
    app.last().token.unwrap().value().to_string()
}

#[test]
fn the_layer_verifies_the_token_field_of_an_urlencoded_form_and_hands_on_the_same_body() {
    let app = FormApp::new(false);
    let mut svc = Layer::shared(policy())
        .csrf_secret(secret(1))
        .layer(app.clone());
    let t = issue_for_form(&mut svc, &app, "alice");
    let body = format!("title=Caf%C3%A9+au+lait&csrf_token={t}&tags=a&tags=b");
    let r = run_body(&mut svc, form("alice", &t, URLENCODED, body.clone()));
    assert_eq!(reason(&r), (200, None));
    let seen = app.last();
    assert_eq!(seen.data.concat(), body.as_bytes(), "the same bytes");
    let ext = seen.token.unwrap();
    assert!(!ext.is_pending(), "verified by the layer");
    assert_eq!(ext.value(), t);
    assert!(r
        .extensions()
        .get::<guestlist::CsrfTokenUnverified>()
        .is_none());
    // The field name and value are read percent-decoded; parameters of the media type and its
    // case do not matter.
    let encoded = format!("csrf%5Ftoken={}", t.replace('.', "%2E"));
    let r = run_body(
        &mut svc,
        form(
            "alice",
            &t,
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            encoded.clone(),
        ),
    );
    assert_eq!(reason(&r), (200, None));
    assert_eq!(app.last().data.concat(), encoded.as_bytes());

    // Refusals never reach the application.
    let calls = app.calls();
    let other = issue_for_form(&mut svc, &app, "bob");
    let calls = calls + 1;
    let mut bad = t.clone().into_bytes();
    bad[10] = if bad[10] == b'f' { b'e' } else { b'f' };
    let bad = String::from_utf8(bad).unwrap();
    let cases: Vec<(String, String, &str)> = vec![
        (t.clone(), "title=x".into(), "csrf-token-missing"),
        (t.clone(), String::new(), "csrf-token-missing"),
        (t.clone(), "csrf_token=".into(), "csrf-token-missing"),
        (t.clone(), format!("csrf_token2={t}"), "csrf-token-missing"),
        (
            t.clone(),
            format!("csrf_token={t}&csrf_token={t}"),
            "csrf-token-mismatch",
        ),
        (
            t.clone(),
            format!("csrf_token={other}"),
            "csrf-token-mismatch",
        ),
        (
            other.clone(),
            format!("csrf_token={other}"),
            "csrf-token-other-session",
        ),
        (
            bad.clone(),
            format!("csrf_token={bad}"),
            "csrf-token-other-session",
        ),
        (
            t.clone(),
            format!("csrf_token={t}0"),
            "csrf-token-malformed",
        ),
        (
            t.clone(),
            format!("csrf_token={t}&note=100%"),
            "csrf-token-form-invalid",
        ),
        (
            t.clone(),
            format!("n%zz=1&csrf_token={t}"),
            "csrf-token-form-invalid",
        ),
    ];
    for (cookie, body, want) in cases {
        let r = run_body(&mut svc, form("alice", &cookie, URLENCODED, body.clone()));
        assert_eq!(reason(&r), (403, Some(want.to_string())), "{body}");
    }
    let r = run_body(&mut svc, {
        let mut req = form("alice", &t, URLENCODED, format!("csrf_token={t}"));
        req.headers_mut().remove("cookie");
        req.headers_mut()
            .insert("cookie", "session=alice".parse().unwrap());
        req
    });
    assert_eq!(reason(&r), (403, Some("csrf-token-cookie-missing".into())));
    assert_eq!(app.calls(), calls);
}

#[test]
fn a_form_body_over_the_limit_is_refused_without_reading_it_all() {
    let app = FormApp::new(false);
    let mut svc = Layer::shared(policy())
        .csrf_secret(secret(1))
        .layer(app.clone());
    let t = issue_for_form(&mut svc, &app, "alice");
    let calls = app.calls();
    // At the limit: read and verified.
    let head = format!("csrf_token={t}&pad=");
    let at = format!(
        "{head}{}",
        "a".repeat(guestlist::FORM_BODY_LIMIT - head.len())
    );
    assert_eq!(at.len(), guestlist::FORM_BODY_LIMIT);
    let r = run_body(&mut svc, form("alice", &t, URLENCODED, at.clone()));
    assert_eq!(reason(&r), (200, None));
    assert_eq!(app.last().data.concat().len(), at.len());
    // One byte over, known from its length (a String's exact size hint): nothing is read.
    let over = format!("{at}a");
    let r = run_body(&mut svc, form("alice", &t, URLENCODED, over));
    assert_eq!(reason(&r), (403, Some("csrf-token-form-too-large".into())));
    // Over, in frames of unknown total size (chunked): refused once the limit is passed,
    // without polling the rest.
    let chunk = Bytes::from(vec![b'a'; 16 * 1024]);
    let mut frames = vec![Ok(Frame::data(Bytes::from(format!("csrf_token={t}&pad="))))];
    frames.extend((0..10).map(|_| Ok(Frame::data(chunk.clone()))));
    let (body, polled) = Frames::new(frames);
    let r = run_body(&mut svc, form("alice", &t, URLENCODED, body));
    assert_eq!(reason(&r), (403, Some("csrf-token-form-too-large".into())));
    assert_eq!(
        polled.load(Ordering::SeqCst),
        5,
        "stops at the frame that passes 64 KiB"
    );
    assert_eq!(app.calls(), calls + 1);
}

#[test]
fn a_body_read_in_frames_is_handed_on_frame_by_frame_with_its_trailers() {
    let app = FormApp::new(false);
    let mut svc = Layer::shared(policy())
        .csrf_secret(secret(1))
        .layer(app.clone());
    let t = issue_for_form(&mut svc, &app, "alice");
    let mut trailers = http::HeaderMap::new();
    trailers.insert("x-checksum", "abc".parse().unwrap());
    // The token field split across frames, in the middle of an escape.
    let body = format!("a=1&csrf%5Ftoken={t}&b=%41");
    let pieces: Vec<Bytes> = [&body[..5], &body[5..7], &body[7..60], &body[60..]]
        .iter()
        .map(|p| Bytes::copy_from_slice(p.as_bytes()))
        .collect();
    let mut frames: Vec<_> = pieces.iter().cloned().map(|d| Ok(Frame::data(d))).collect();
    frames.push(Ok(Frame::trailers(trailers.clone())));
    let (b, _) = Frames::new(frames);
    let r = run_body(&mut svc, form("alice", &t, URLENCODED, b));
    assert_eq!(reason(&r), (200, None));
    let seen = app.last();
    assert_eq!(seen.data, pieces, "the same frames, in order");
    assert_eq!(seen.trailers, Some(trailers));
    // A body that fails while it is read is refused.
    let (b, _) = Frames::new(vec![
        Ok(Frame::data(Bytes::from(format!("csrf_token={t}")))),
        Err("connection reset"),
    ]);
    let r = run_body(&mut svc, form("alice", &t, URLENCODED, b));
    assert_eq!(reason(&r), (403, Some("csrf-token-form-invalid".into())));
}

#[test]
fn other_form_posts_without_the_header_are_refused_and_other_bodies_are_not_read() {
    let app = FormApp::new(false);
    let mut svc = Layer::shared(policy())
        .csrf_secret(secret(1))
        .layer(app.clone());
    let t = issue_for_form(&mut svc, &app, "alice");
    let calls = app.calls();
    for ct in ["multipart/form-data; boundary=x", "text/plain"] {
        let (b, polled) = Frames::new(vec![Ok(Frame::data(Bytes::from(format!(
            "csrf_token={t}"
        ))))]);
        let r = run_body(&mut svc, form("alice", &t, ct, b));
        assert_eq!(
            reason(&r),
            (403, Some("csrf-token-form-unsupported".into())),
            "{ct}"
        );
        assert_eq!(polled.load(Ordering::SeqCst), 0, "never read");
    }
    // JSON without the header: refused as before, the body unread.
    let (b, polled) = Frames::new(vec![Ok(Frame::data(Bytes::from(format!(
        "{{\"csrf_token\":\"{t}\"}}"
    ))))]);
    let r = run_body(&mut svc, form("alice", &t, "application/json", b));
    assert_eq!(reason(&r), (403, Some("csrf-token-missing".into())));
    assert_eq!(polled.load(Ordering::SeqCst), 0);
    assert_eq!(app.calls(), calls);
    // With the header, any form passes without its body being read by the layer.
    let (b, polled) = Frames::new(vec![Ok(Frame::data(Bytes::from_static(b"--x--")))]);
    let mut req = form("alice", &t, "multipart/form-data; boundary=x", b);
    req.headers_mut().insert("x-csrf-token", t.parse().unwrap());
    let r = run_body(&mut svc, req);
    assert_eq!(reason(&r), (200, None));
    assert_eq!(
        polled.load(Ordering::SeqCst),
        1,
        "read once, by the application"
    );
    assert_eq!(app.last().data, [Bytes::from_static(b"--x--")]);
}

#[test]
fn defer_forms_hands_form_posts_to_the_application_which_the_layer_checks_on_the_way_out() {
    for verify in [false, true] {
        let app = FormApp::new(verify);
        let mut svc = Layer::shared(policy_with(true))
            .csrf_secret(secret(1))
            .layer(app.clone());
        let t = issue_for_form(&mut svc, &app, "alice");
        for ct in [URLENCODED, "multipart/form-data; boundary=x", "text/plain"] {
            let body = format!("csrf_token={t}");
            let r = run_body(&mut svc, form("alice", &t, ct, body.clone()));
            assert_eq!(reason(&r), (200, None), "{ct}");
            let seen = app.last();
            assert_eq!(seen.data.concat(), body.as_bytes());
            let ext = seen.token.unwrap();
            assert!(ext.is_pending(), "{ct}");
            assert_eq!(ext.is_verified(), verify, "clones share the flag");
            assert_eq!(
                r.extensions()
                    .get::<guestlist::CsrfTokenUnverified>()
                    .is_some(),
                !verify,
                "the layer marks a response to a post nobody verified ({ct})"
            );
        }
        // A JSON post without the header is still refused.
        let r = run_body(
            &mut svc,
            form("alice", &t, "application/json", String::from("{}")),
        );
        assert_eq!(reason(&r), (403, Some("csrf-token-missing".into())));
    }
    // The helper's own refusals.
    let app = FormApp::new(false);
    let mut svc = Layer::shared(policy_with(true))
        .csrf_secret(secret(1))
        .layer(app.clone());
    let t = issue_for_form(&mut svc, &app, "alice");
    let other = issue_for_form(&mut svc, &app, "bob");
    run_body(&mut svc, form("alice", &t, URLENCODED, String::new()));
    let ext = app.last().token.unwrap();
    assert_eq!(
        ext.verify_submitted(""),
        Err(guestlist::Reason::CsrfTokenMissing)
    );
    assert_eq!(
        ext.verify_submitted(&other),
        Err(guestlist::Reason::CsrfTokenMismatch)
    );
    assert!(!ext.is_verified());
    assert_eq!(ext.verify_submitted(&t), Ok(()));
    assert!(ext.is_verified());
}

#[test]
fn a_path_with_two_readings_reads_the_body_when_either_reading_verifies_forms() {
    // `/x/y%2Fz` is `/x/*` as sent and `/x/y/*` normalised; one route's policy verifies form
    // fields and the other's defers them, both ways round. The verifying one decides.
    let csrf = |name: &str, defer| CsrfSpec {
        name: name.into(),
        token: Some(token_spec(defer)),
        ..Default::default()
    };
    let route = |pattern: &str, csrf| RouteSpec {
        pattern: pattern.into(),
        csrf: Some(csrf),
        ..Default::default()
    };
    for defer_as_sent in [false, true] {
        let policy = Arc::new(
            Policy::from_spec(PolicySpec {
                routes: vec![route("/x/*", 0), route("/x/y/*", 1)],
                csrf: vec![
                    csrf("as-sent", defer_as_sent),
                    csrf("normalised", !defer_as_sent),
                ],
                ..Default::default()
            })
            .unwrap(),
        );
        let app = FormApp::new(false);
        let mut svc = Layer::shared(policy)
            .csrf_secret(secret(1))
            .layer(app.clone());
        let t = issue_at(&mut svc, &app, "/x/a", "alice");
        let post = |body: String| {
            http::Request::post("/x/y%2Fz")
                .header("content-type", URLENCODED)
                .header("cookie", format!("session=alice; __Host-csrf={t}"))
                .body(body)
                .unwrap()
        };
        let r = run_body(&mut svc, post("title=x".into()));
        assert_eq!(reason(&r), (403, Some("csrf-token-missing".into())));
        let r = run_body(&mut svc, post(format!("csrf_token={t}")));
        assert_eq!(reason(&r), (200, None));
    }
}

/// The evaluator without the body (`decide_full`, as a middleware of one's own or a log line
/// calls it) never lets a form post through unverified: an urlencoded post without the token
/// header is refused, with the reason that says its field was not read, and passes only once
/// the body is given and its field verifies. Only `defer-forms` lets it through, and then the
/// outcome says the application must verify it.
#[test]
fn without_its_body_an_urlencoded_form_post_is_refused() {
    let s = secret(1);
    let t = guestlist::mint_csrf_token(&s, b"alice").unwrap();
    let cookie = format!("session=alice; __Host-csrf={t}");
    let field = format!("title=x&csrf_token={t}");
    let other = guestlist::mint_csrf_token(&s, b"bob").unwrap();
    let wrong = format!("csrf_token={other}");
    for ct in [
        URLENCODED,
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
    ] {
        let headers = [
            ("cookie".to_string(), cookie.clone()),
            ("content-type".to_string(), ct.to_string()),
        ];
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            let strict = policy();
            let d = strict.decide_full(method, "/account", None, &headers[..], Some(&s));
            assert_eq!(
                (d.kind, d.reason),
                (
                    guestlist::Kind::CsrfRejected,
                    guestlist::Reason::CsrfTokenInForm
                ),
                "{method} {ct}"
            );
            assert_eq!(d.status(), Some(403));
            assert!(d.token.is_none());
            // The same through `decide_form` with the body unread, then read.
            let decide = |form| {
                let d = strict.decide_form(method, "/account", None, &headers[..], Some(&s), form);
                (d.kind, d.reason, d.token.map(|t| t.reason))
            };
            assert_eq!(
                decide(guestlist::FormBody::Unread).1,
                guestlist::Reason::CsrfTokenInForm
            );
            assert_eq!(
                decide(guestlist::FormBody::Read(field.as_bytes())),
                (
                    guestlist::Kind::NotCors,
                    guestlist::Reason::NoCorsPolicy,
                    Some(guestlist::Reason::CsrfTokenValid)
                ),
                "{method} {ct}"
            );
            for (form, why) in [
                (
                    guestlist::FormBody::Read(b"title=x"),
                    guestlist::Reason::CsrfTokenMissing,
                ),
                (
                    guestlist::FormBody::Read(wrong.as_bytes()),
                    guestlist::Reason::CsrfTokenMismatch,
                ),
                (
                    guestlist::FormBody::TooLarge,
                    guestlist::Reason::CsrfTokenFormTooLarge,
                ),
                (
                    guestlist::FormBody::Unreadable,
                    guestlist::Reason::CsrfTokenFormInvalid,
                ),
            ] {
                assert_eq!(
                    decide(form),
                    (guestlist::Kind::CsrfRejected, why, None),
                    "{method} {ct} {form:?}"
                );
            }
            // `defer-forms`: passes unread, deferred to the application.
            let deferring = policy_with(true);
            let d = deferring.decide_full(method, "/account", None, &headers[..], Some(&s));
            assert_eq!(d.kind, guestlist::Kind::NotCors, "{method} {ct}");
            assert_eq!(
                d.token.map(|t| t.reason),
                Some(guestlist::Reason::CsrfTokenDeferred)
            );
        }
    }
    // Whatever else is sent, no unsafe request on a token route without the header passes
    // the evaluator unverified unless the policy defers forms.
    let strict = policy();
    for ct in [
        URLENCODED,
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/json",
        "",
    ] {
        let mut headers = vec![("cookie".to_string(), cookie.clone())];
        if !ct.is_empty() {
            headers.push(("content-type".to_string(), ct.to_string()));
        }
        let d = strict.decide_full("POST", "/account", None, &headers[..], Some(&s));
        assert_eq!(
            d.kind,
            guestlist::Kind::CsrfRejected,
            "{ct}: {:?}",
            d.reason
        );
    }
}

#[test]
fn a_rotated_secret_is_accepted_during_the_rotation_only() {
    let app = app();
    let mut old = Layer::shared(policy())
        .csrf_secret(secret(1))
        .layer(app.clone());
    let t = issue(&mut old, &app, "alice");
    let rotating = CsrfSecret::new(vec![2u8; 32])
        .unwrap()
        .with_previous(vec![1u8; 32])
        .unwrap();
    let mut during = Layer::shared(policy())
        .csrf_secret(rotating)
        .layer(app.clone());
    assert_eq!(
        reason(&common::run(&mut during, post("alice", Some(&t), Some(&t)))),
        (200, None)
    );
    // A page load during the rotation re-issues the token under the new secret.
    let r = common::run(&mut during, get("alice", Some(&t)));
    assert!(r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("__Host-")));
    let mut after = Layer::shared(policy())
        .csrf_secret(secret(2))
        .layer(app.clone());
    assert_eq!(
        reason(&common::run(&mut after, post("alice", Some(&t), Some(&t)))),
        (403, Some("csrf-token-other-session".into()))
    );
}

#[test]
fn without_a_secret_unsafe_requests_are_refused() {
    let app = app();
    let mut svc = Layer::shared(policy()).layer(app.clone());
    assert!(policy().needs_csrf_secret());
    assert_eq!(
        reason(&common::run(&mut svc, post("alice", None, Some("x")))),
        (403, Some("csrf-token-no-secret".into()))
    );
    assert_eq!(common::run(&mut svc, get("alice", None)).status(), 200);
}

proptest::proptest! {
    /// No token verifies for a different session value. (Printable values without `;` and
    /// space, so that each is read back from the Cookie line exactly as written: `b = ";"`
    /// would be read as the empty session, which is `a = ""`'s.)
    #[test]
    fn no_token_verifies_for_another_session(a in "[!-:<-~]{0,40}", b in "[!-:<-~]{0,40}") {
        proptest::prop_assume!(a != b);
        let s = secret(9);
        let t = guestlist::mint_csrf_token(&s, a.as_bytes()).unwrap();
        let policy = policy();
        let headers = [
            ("cookie".to_string(), format!("session={b}; __Host-csrf={t}")),
            ("x-csrf-token".to_string(), t.clone()),
        ];
        let d = policy.decide_full("POST", "/x", None, &headers[..], Some(&s));
        proptest::prop_assert_eq!(d.kind, guestlist::Kind::CsrfRejected);
        // ... and it does verify for its own.
        let headers = [
            ("cookie".to_string(), format!("session={a}; __Host-csrf={t}")),
            ("x-csrf-token".to_string(), t.clone()),
        ];
        let d = policy.decide_full("POST", "/x", None, &headers[..], Some(&s));
        proptest::prop_assert_eq!(d.kind, guestlist::Kind::NotCors);
    }
}
