//! The request-side parsers on any bytes: Origin matching (exact and pattern), the
//! Access-Control-Request-Headers scanner, path normalisation, and whole decisions, with the
//! CSRF (Fetch Metadata and signed tokens) and WebSocket checks.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn policy() -> &'static guestlist::Policy {
    static P: OnceLock<guestlist::Policy> = OnceLock::new();
    P.get_or_init(|| {
        let c = guestlist_compiler::Compilation::from_str(
            "p.policy",
            "cors a {\n allow-origins \"https://app.example.com\" \"https://*.preview.example.com\" \"http://localhost:*\" \"http://[::1]:*\"\n allow-methods PUT patch\n allow-headers Content-Type X-Id\n allow-credentials true\n max-age 2h\n}\ncors b {\n allow-origins *\n allow-headers *\n max-age 0\n}\nroute \"/api/*\" { cors a; csrf forms }\nroute \"/b/*\" { cors b }\ncsrf forms {\n trusted-origins \"https://partner.example.com\"\n exempt POST \"/api/hooks/*\"\n}\ncsrf acct {\n token header \"X-CSRF-Token\" cookie \"__Host-csrf\" bind-to cookie \"session\"\n}\nwebsocket live {\n allow-origins same-origin \"https://*.app.example.com\"\n}\nroute \"/acct/*\" { csrf acct }\nroute \"/ws\" { websocket live }\n",
        );
        c.lower("default").expect("the fixed policy lowers").policy
    })
}

fn secret() -> &'static guestlist::CsrfSecret {
    static S: OnceLock<guestlist::CsrfSecret> = OnceLock::new();
    S.get_or_init(|| guestlist::CsrfSecret::new(vec![42u8; 32]).expect("32 bytes"))
}

fuzz_target!(|data: &[u8]| {
    // `main 0xfe extra`. main: fields separated by 0xff: path, origin, method, ACRM, ACRH
    // lines... extra: Sec-Fetch-Site, Upgrade, Cookie, X-CSRF-Token, Host, Content-Type.
    let mut halves = data.splitn(2, |&b| b == 0xfe);
    let data = halves.next().unwrap_or(b"");
    let extra = halves.next();
    let mut parts = data.split(|&b| b == 0xff);
    let path = String::from_utf8_lossy(parts.next().unwrap_or(b""));
    let origin = String::from_utf8_lossy(parts.next().unwrap_or(b"")).into_owned();
    let method = String::from_utf8_lossy(parts.next().unwrap_or(b"OPTIONS")).into_owned();
    let mut headers = vec![("Origin".to_string(), origin.clone())];
    if let Some(m) = parts.next() {
        headers.push((
            "Access-Control-Request-Method".into(),
            String::from_utf8_lossy(m).into_owned(),
        ));
    }
    for line in parts {
        headers.push((
            "Access-Control-Request-Headers".into(),
            String::from_utf8_lossy(line).into_owned(),
        ));
        let _ = guestlist::NameList::new(line).count();
    }
    if let Some(extra) = extra {
        let names = [
            "Sec-Fetch-Site",
            "Upgrade",
            "Cookie",
            "X-CSRF-Token",
            "Host",
            "Content-Type",
        ];
        for (n, v) in names.iter().zip(extra.split(|&b| b == 0xff)) {
            headers.push((n.to_string(), String::from_utf8_lossy(v).into_owned()));
        }
    }
    let p = policy();
    let d = p.decide_full(&method, &path, None, &headers[..], Some(secret()));
    if d.kind == guestlist::Kind::CsrfRejected || d.kind == guestlist::Kind::WebsocketRejected {
        assert_eq!(d.status(), Some(403));
        assert!(d
            .headers()
            .iter()
            .all(|h| h.name != guestlist::CorsHeader::AllowOrigin));
    }
    // A token route lets an unsafe request through only with a header that equals the cookie
    // and verifies for the session (or as a form post the application must check).
    if let Some(t) = d.token {
        let unsafe_method = !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
        if unsafe_method && t.reason == guestlist::Reason::CsrfTokenValid {
            let header: Vec<&str> = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("x-csrf-token"))
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(header.len(), 1);
            assert_eq!(Some(header[0].as_bytes()), t.cookie);
            assert_eq!(header[0].len(), guestlist::TOKEN_LEN);
        }
    }
    for cors in p.cors_policies() {
        let _ = cors.match_origin(origin.as_bytes());
    }
    let mut buf = [0u8; guestlist::MAX_PATH];
    let _ = guestlist::normalize_path(&path, &mut buf);
    let d = p.decide(&method, &path, &headers[..]);
    let acao = d
        .headers()
        .into_iter()
        .find(|h| h.name == guestlist::CorsHeader::AllowOrigin);
    if let Some(h) = acao {
        assert!(h.value.as_bytes() == b"*" || h.value.as_bytes() == origin.as_bytes());
    }
});
