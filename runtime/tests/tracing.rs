//! With the `tracing` feature, every refusal emits an event carrying its reason code, so a
//! 403 in production is never silent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking; an allow, not an expect: some feature sets compile parts of this file out"
)]

mod common;

use std::sync::{Arc, Mutex};

use guestlist::CorsSpec;
use tower_layer::Layer as _;
use tower_service::Service as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<(Level, String)>>>);

struct ReasonVisitor(Option<String>);

impl Visit for ReasonVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "reason" {
            self.0 = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut v = ReasonVisitor(None);
        e.record(&mut v);
        if let Some(r) = v.0 {
            self.0.lock().unwrap().push((*e.metadata().level(), r));
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn refusals_are_traced_with_their_reason() {
    let policy = common::one_route(CorsSpec {
        name: "a".into(),
        origins: vec!["https://a.test".into()],
        ..Default::default()
    });
    let mut svc = guestlist::Layer::shared(Arc::new(policy))
        .layer(common::App::new(|_| (), || http::Response::new(())));
    let rec = Recorder::default();
    tracing::subscriber::with_default(rec.clone(), || {
        let preflight = http::Request::options("/x")
            .header("origin", "https://evil.test")
            .header("access-control-request-method", "PUT")
            .body(String::new())
            .unwrap();
        drop(svc.call(preflight));
        let actual = http::Request::get("/x")
            .header("origin", "https://evil.test")
            .body(String::new())
            .unwrap();
        drop(svc.call(actual));
        let allowed = http::Request::get("/x")
            .header("origin", "https://a.test")
            .body(String::new())
            .unwrap();
        drop(svc.call(allowed));
    });
    let events = rec.0.lock().unwrap().clone();
    assert_eq!(
        events,
        vec![
            (Level::WARN, "origin-not-allowed".to_string()),
            (Level::INFO, "origin-not-allowed".to_string())
        ]
    );
}

/// An urlencoded form post without the token header is traced once, with the reason its body
/// gave (the decision made before the body was read, `csrf-token-in-form`, is not a refusal
/// anyone receives).
#[cfg(feature = "csrf-token")]
#[test]
fn a_form_post_is_traced_with_the_reason_its_body_gave() {
    let policy = guestlist::Policy::from_spec(guestlist::PolicySpec {
        routes: vec![guestlist::RouteSpec {
            pattern: "/*".into(),
            csrf: Some(0),
            ..Default::default()
        }],
        csrf: vec![guestlist::CsrfSpec {
            name: "account".into(),
            token: Some(guestlist::TokenSpec {
                header: "x-csrf-token".into(),
                cookie: "__Host-csrf".into(),
                bind_cookie: "session".into(),
                same_site: "Lax".into(),
                field: "csrf_token".into(),
                defer_forms: false,
            }),
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap();
    let secret = guestlist::CsrfSecret::new(vec![5u8; 32]).unwrap();
    let token = guestlist::mint_csrf_token(&secret, b"s").unwrap();
    let mut svc = guestlist::Layer::shared(Arc::new(policy))
        .csrf_secret(secret)
        .layer(common::App::new(|_| (), || http::Response::new(())));
    let rec = Recorder::default();
    tracing::subscriber::with_default(rec.clone(), || {
        let post = http::Request::post("/save")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("session=s; __Host-csrf={token}"))
            .body(())
            .unwrap();
        // An empty body: no field.
        let r = common::run(&mut svc, post);
        assert_eq!(r.status(), 403);
    });
    let events = rec.0.lock().unwrap().clone();
    assert_eq!(
        events,
        vec![(Level::WARN, "csrf-token-missing".to_string())]
    );
}

/// A form post deferred to the application (`defer-forms`) that the application answers
/// without verifying its token: a warning with reason `csrf-token-deferred`.
#[cfg(feature = "csrf-token")]
#[test]
fn an_unverified_deferred_form_post_is_traced() {
    let policy = guestlist::Policy::from_spec(guestlist::PolicySpec {
        routes: vec![guestlist::RouteSpec {
            pattern: "/*".into(),
            csrf: Some(0),
            ..Default::default()
        }],
        csrf: vec![guestlist::CsrfSpec {
            name: "legacy".into(),
            token: Some(guestlist::TokenSpec {
                header: "x-csrf-token".into(),
                cookie: "__Host-csrf".into(),
                bind_cookie: "session".into(),
                same_site: "Lax".into(),
                field: "csrf_token".into(),
                defer_forms: true,
            }),
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap();
    let secret = guestlist::CsrfSecret::new(vec![5u8; 32]).unwrap();
    let token = guestlist::mint_csrf_token(&secret, b"s").unwrap();
    let mut svc = guestlist::Layer::shared(Arc::new(policy))
        .csrf_secret(secret)
        .layer(common::App::new(|_| (), || http::Response::new(())));
    let rec = Recorder::default();
    tracing::subscriber::with_default(rec.clone(), || {
        let post = http::Request::post("/save")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("session=s; __Host-csrf={token}"))
            .body(())
            .unwrap();
        let r = common::run(&mut svc, post);
        assert_eq!(r.status(), 200);
        assert!(r
            .extensions()
            .get::<guestlist::CsrfTokenUnverified>()
            .is_some());
    });
    let events = rec.0.lock().unwrap().clone();
    assert_eq!(
        events,
        vec![(Level::WARN, "csrf-token-deferred".to_string())]
    );
}
