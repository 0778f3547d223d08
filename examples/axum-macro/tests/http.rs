//! The macro-compiled policy over real HTTP on 127.0.0.1.

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

/// Header pairs that borrow their values.
fn h<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// CSRF tokens in form posts, over real HTTP through axum: the layer reads an urlencoded
/// body's token field (Content-Length or chunked), refuses what it cannot verify, and the
/// handler gets the body it was sent; a `defer-forms` route hands form posts to the handler,
/// and the layer marks the answer of one that never verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_form_posts_over_http() {
    let secret = guestlist::CsrfSecret::new(vec![0x42; 32]).unwrap();
    let addr = axum_macro_example::serve_with_secret(&axum_macro_example::GUARDS_POLICY, secret, 0)
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        // A page load: the token in the page and in the `__Host-` cookie.
        let page = |path: &str, session: &str| {
            let r = http_test::send(
                addr,
                "GET",
                path,
                &[("Cookie", &format!("session={session}"))],
            );
            assert_eq!(r.status, 200, "{r:?}");
            let token = r.body.clone();
            assert_eq!(token.len(), guestlist::TOKEN_LEN, "{r:?}");
            assert!(
                r.all("set-cookie")
                    .iter()
                    .any(|c| c.starts_with(&format!("__Host-csrf={token};"))),
                "{r:?}"
            );
            token
        };
        let t = page("/account/page", "alice");
        let cookie = format!("session=alice; __Host-csrf={t}");
        let form = |ct: &'static str| {
            [
                ("Cookie", cookie.clone()),
                ("Content-Type", ct.to_string()),
                ("Sec-Fetch-Site", "same-origin".to_string()),
            ]
        };
        let urlencoded = form("application/x-www-form-urlencoded");
        let post = |path: &str, headers: &[(&str, &str)], body: &str| {
            http_test::send_body(addr, "POST", path, headers, Some(body.as_bytes()))
        };

        // The token field, read by the layer: the handler gets the same bytes, not pending.
        let body = format!("title=Caf%C3%A9+au+lait&csrf_token={t}&tags=a&tags=b");
        let r = post("/account/save", &h(&urlencoded), &body);
        assert_eq!((r.status, r.body.as_str()), (200, body.as_str()), "{r:?}");
        assert_eq!(r.get("x-token-pending"), Some("no"));
        assert_eq!(r.get("guestlist-reason"), None);

        // Chunked, the token split across chunks: the same.
        let chunks: Vec<&[u8]> = vec![
            &body.as_bytes()[..30],
            &body.as_bytes()[30..50],
            &body.as_bytes()[50..],
        ];
        let r = http_test::send_chunked(addr, "POST", "/account/save", &h(&urlencoded), &chunks);
        assert_eq!((r.status, r.body.as_str()), (200, body.as_str()), "{r:?}");

        // What the layer refuses, before the handler (whose answer would echo the body).
        let other = page("/account/page", "bob");
        let mut tampered = t.clone().into_bytes();
        tampered[5] = if tampered[5] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).unwrap();
        for (body, want) in [
            ("title=x".to_string(), "csrf-token-missing"),
            (
                format!("csrf_token={t}&csrf_token={t}"),
                "csrf-token-mismatch",
            ),
            (format!("csrf_token={other}"), "csrf-token-mismatch"),
            (format!("csrf_token={tampered}"), "csrf-token-mismatch"),
            (
                format!("csrf_token={t}&note=100%"),
                "csrf-token-form-invalid",
            ),
        ] {
            let r = post("/account/save", &h(&urlencoded), &body);
            assert_eq!(
                (r.status, r.get("guestlist-reason")),
                (403, Some(want)),
                "{body}: {r:?}"
            );
            assert!(r.body.is_empty(), "{r:?}");
        }
        // Bob's token with Bob's cookie, for Alice's session.
        let r = http_test::send_body(
            addr,
            "POST",
            "/account/save",
            &[
                ("Cookie", &format!("session=alice; __Host-csrf={other}")),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(format!("csrf_token={other}").as_bytes()),
        );
        assert_eq!(
            (r.status, r.get("guestlist-reason")),
            (403, Some("csrf-token-other-session")),
            "{r:?}"
        );

        // Over 64 KiB: refused, by Content-Length or once the chunks pass it.
        let big = format!(
            "csrf_token={t}&pad={}",
            "a".repeat(guestlist::FORM_BODY_LIMIT)
        );
        let r = post("/account/save", &h(&urlencoded), &big);
        assert_eq!(
            (r.status, r.get("guestlist-reason")),
            (403, Some("csrf-token-form-too-large")),
            "{r:?}"
        );
        let pieces: Vec<&[u8]> = big.as_bytes().chunks(8 * 1024).collect();
        let r = http_test::send_chunked(addr, "POST", "/account/save", &h(&urlencoded), &pieces);
        assert_eq!(
            (r.status, r.get("guestlist-reason")),
            (403, Some("csrf-token-form-too-large")),
            "{r:?}"
        );
        // At the limit: read and verified.
        let pad = guestlist::FORM_BODY_LIMIT - format!("csrf_token={t}&pad=").len();
        let full = format!("csrf_token={t}&pad={}", "a".repeat(pad));
        let r = post("/account/save", &h(&urlencoded), &full);
        assert_eq!(
            (r.status, r.body.len()),
            (200, guestlist::FORM_BODY_LIMIT),
            "{:?}",
            r.headers
        );

        // JSON without the header: refused as before; with it, passes.
        let json = form("application/json");
        let r = post("/account/save", &h(&json), "{}");
        assert_eq!(
            (r.status, r.get("guestlist-reason")),
            (403, Some("csrf-token-missing"))
        );
        let mut with_header = h(&json);
        with_header.push(("X-CSRF-Token", &t));
        let r = post("/account/save", &with_header, "{}");
        assert_eq!((r.status, r.body.as_str()), (200, "{}"));
        // A multipart form without the header: the layer cannot read it.
        let multipart = form("multipart/form-data; boundary=x");
        let r = post("/account/save", &h(&multipart), "--x--");
        assert_eq!(
            (r.status, r.get("guestlist-reason")),
            (403, Some("csrf-token-form-unsupported"))
        );

        // `defer-forms`: the handler gets the post, pending; one that never verifies is marked.
        let t = page("/legacy/checked", "alice");
        let cookie = format!("session=alice; __Host-csrf={t}");
        let legacy = [
            ("Cookie", cookie.as_str()),
            ("Content-Type", "multipart/form-data; boundary=x"),
        ];
        let r = post("/legacy/unchecked", &legacy, "--x--");
        assert_eq!((r.status, r.body.as_str()), (200, "--x--"), "{r:?}");
        assert_eq!(r.get("x-token-pending"), Some("yes"));
        assert_eq!(r.get("x-csrf-unverified"), Some("1"));
        let legacy = [
            ("Cookie", cookie.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let r = post("/legacy/checked", &legacy, &format!("csrf_token={t}"));
        assert_eq!((r.status, r.body.as_str()), (200, "saved"), "{r:?}");
        assert_eq!(r.get("x-csrf-unverified"), None);
        let r = post("/legacy/checked", &legacy, "csrf_token=forged");
        assert_eq!(r.status, 403, "{r:?}");
        assert!(r.body.contains("csrf-token-mismatch"), "{r:?}");
        assert_eq!(
            r.get("x-csrf-unverified"),
            Some("1"),
            "refused by the handler, never verified"
        );
    })
    .await
    .unwrap();
}
