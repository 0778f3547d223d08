//! Signed double-submit CSRF tokens through the tower layer: the cookie and the request
//! extension on safe requests, verification on unsafe ones, every refusal, rotation, and a
//! property test that no token verifies for another session.
#![cfg(all(feature = "csrf-token", feature = "tower"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests fail by panicking

mod common;

use std::sync::Arc;

use guestlist::{CsrfSecret, CsrfSpec, CsrfToken, Layer, Policy, PolicySpec, RouteSpec, TokenSpec};
use tower_layer::Layer as _;

fn policy() -> Arc<Policy> {
    Arc::new(
        Policy::from_spec(PolicySpec {
            routes: vec![RouteSpec {
                pattern: "/*".into(),
                csrf: Some(0),
                ..Default::default()
            }],
            csrf: vec![CsrfSpec {
                name: "account".into(),
                token: Some(TokenSpec {
                    header: "x-csrf-token".into(),
                    cookie: "__Host-csrf".into(),
                    bind_cookie: "session".into(),
                    same_site: "Lax".into(),
                }),
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap(),
    )
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

#[test]
fn form_posts_are_checked_by_the_application_with_the_helper() {
    let app = app();
    let mut svc = Layer::shared(policy())
        .csrf_secret(secret(1))
        .layer(app.clone());
    let t = issue(&mut svc, &app, "alice");
    let req = http::Request::post("/account")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("session=alice; __Host-csrf={t}"))
        .body(())
        .unwrap();
    assert_eq!(common::run(&mut svc, req).status(), 200);
    let ext = app.seen.lock().unwrap().pop().flatten().unwrap();
    assert!(ext.is_pending());
    assert_eq!(ext.verify_submitted(&t), Ok(()));
    assert_eq!(
        ext.verify_submitted(""),
        Err(guestlist::Reason::CsrfTokenMissing)
    );
    let other = issue(&mut svc, &app, "bob");
    assert_eq!(
        ext.verify_submitted(&other),
        Err(guestlist::Reason::CsrfTokenMismatch)
    );
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
