//! The request-side parsers on any bytes: Origin matching (exact and pattern), the
//! Access-Control-Request-Headers scanner, path normalisation, and whole decisions, with the
//! CSRF (Fetch Metadata and signed tokens) and WebSocket checks.
//!
//! The input decides whether `Origin` is sent (none, once, twice), and can ask the harness for
//! a CSRF token made by the spec's formula (spec/language.md, "CSRF tokens"), re-stated here
//! with `hmac`/`sha2` directly, sent as cookie and header, or the same token with one hex digit
//! changed. A token the runtime calls valid must verify under that formula; a token the
//! harness made must be valid where nothing else in the request interferes; a changed one never
//! is. An unsafe request that passes a token route carried a verified token header (the
//! evaluator reads no body: an urlencoded form post without the header is refused). Each
//! assertion counts its runs and prints the count at every power of two
//! (the seeds `corpus/request_parsers/token-*` reach each of them).
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use hmac::{KeyInit, Mac};
use libfuzzer_sys::fuzz_target;

/// The secret the layer is given: 32 bytes of 42.
const SECRET: [u8; 32] = [42; 32];

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
    S.get_or_init(|| guestlist::CsrfSecret::new(SECRET.to_vec()).expect("32 bytes"))
}

/// Paths of the policy's routes, for inputs that ask for one (flag [`ROUTE_PATH`]).
const ROUTE_PATHS: &[&str] = &[
    "/acct/x",
    "/acct/",
    "/api/x",
    "/api/hooks/x",
    "/b/x",
    "/ws",
    "/",
];

/// Flags, the input's first byte.
const ORIGIN: u8 = 1;
const TWO_ORIGINS: u8 = 2;
const MINT: u8 = 4;
const TAMPER: u8 = 8;
const ROUTE_PATH: u8 = 16;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hex(HMAC-SHA256(secret, len(session) "!" session "!" len(random) "!" random))`, the tag
/// of spec/language.md's token.
fn tag(session: &[u8], random: &str) -> String {
    let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&SECRET).expect("any key");
    m.update(format!("{}!", session.len()).as_bytes());
    m.update(session);
    m.update(format!("!{}!", random.len()).as_bytes());
    m.update(random.as_bytes());
    hex(&m.finalize().into_bytes())
}

/// Counts a reached assertion; prints the count at each power of two.
fn reached(counter: &AtomicU64, what: &str) {
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_power_of_two() {
        eprintln!("request_parsers: {what} checked {n} times");
    }
}

static VALID_CHECKED: AtomicU64 = AtomicU64::new(0);
static MINTED_CHECKED: AtomicU64 = AtomicU64::new(0);
static TAMPERED_CHECKED: AtomicU64 = AtomicU64::new(0);
static SAFE_CHECKED: AtomicU64 = AtomicU64::new(0);
static PASSED_CHECKED: AtomicU64 = AtomicU64::new(0);
static UNREAD_FORM_CHECKED: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    // `flags main [0xfe extra] [0xfd session]`. main: fields separated by 0xff: path, origin,
    // method, ACRM, ACRH lines... extra: Sec-Fetch-Site, Upgrade, Cookie, X-CSRF-Token, Host,
    // Content-Type (a lone 0x00: not sent). session: the bind-to cookie's value for a minted token (its letters and
    // digits).
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let (data, session) = match data.iter().rposition(|&b| b == 0xfd) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let session: Vec<u8> = session
        .iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    let mut halves = data.splitn(2, |&b| b == 0xfe);
    let main = halves.next().unwrap_or(b"");
    let extra: Vec<&[u8]> = halves
        .next()
        .map(|e| e.split(|&b| b == 0xff).collect())
        .unwrap_or_default();
    let mut parts = main.split(|&b| b == 0xff);
    let raw_path = parts.next().unwrap_or(b"");
    let path = if flags & ROUTE_PATH != 0 {
        let i = raw_path.first().copied().unwrap_or(0);
        ROUTE_PATHS[usize::from(i) % ROUTE_PATHS.len()].to_string()
    } else {
        String::from_utf8_lossy(raw_path).into_owned()
    };
    let origin = String::from_utf8_lossy(parts.next().unwrap_or(b"")).into_owned();
    let method = String::from_utf8_lossy(parts.next().unwrap_or(b"OPTIONS")).into_owned();
    let mut headers = Vec::new();
    if flags & ORIGIN != 0 {
        headers.push(("Origin".to_string(), origin.clone()));
        if flags & TWO_ORIGINS != 0 {
            headers.push(("Origin".to_string(), origin.clone()));
        }
    }
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
    // The harness's token, sent before the input's own Cookie lines (the first value of a
    // cookie wins).
    let minted = (flags & MINT != 0).then(|| {
        let random = hex(&std::array::from_fn::<u8, 16, _>(|i| {
            data.get(i).copied().unwrap_or(0) ^ i as u8
        }));
        let mut token = format!("{}.{random}", tag(&session, &random));
        if flags & TAMPER != 0 {
            // One hex digit of the tag, changed in both copies.
            let i = usize::from(flags >> 5) % 64;
            let c = if token.as_bytes()[i] == b'0' {
                "1"
            } else {
                "0"
            };
            token.replace_range(i..=i, c);
        }
        // The session cookie always, so that the input's own Cookie lines never supply one.
        let cookie = format!(
            "session={}; __Host-csrf={token}",
            String::from_utf8_lossy(&session)
        );
        headers.push(("Cookie".to_string(), cookie));
        headers.push(("X-CSRF-Token".to_string(), token.clone()));
        token
    });
    let names = [
        "Sec-Fetch-Site",
        "Upgrade",
        "Cookie",
        "X-CSRF-Token",
        "Host",
        "Content-Type",
    ];
    // A value of one zero byte is a header not sent (so that a form post without the token
    // header, which needs a Content-Type after it, can be made).
    for (n, v) in names.iter().zip(&extra) {
        if *v != [0] {
            headers.push((n.to_string(), String::from_utf8_lossy(v).into_owned()));
        }
    }
    let no_input_token_header = extra.get(3).is_none_or(|v| *v == [0]);

    let p = policy();
    let d = p.decide_full(&method, &path, None, &headers[..], Some(secret()));
    if d.kind == guestlist::Kind::CsrfRejected || d.kind == guestlist::Kind::WebsocketRejected {
        assert_eq!(d.status(), Some(403));
        assert!(d
            .headers()
            .iter()
            .all(|h| h.name != guestlist::CorsHeader::AllowOrigin));
    }
    let unsafe_method = !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
    // A token route lets an unsafe request through only with a header that equals the cookie
    // and verifies for the session under the spec's formula.
    if let Some(t) = d.token {
        if unsafe_method && t.reason == guestlist::Reason::CsrfTokenValid {
            let header: Vec<&str> = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("x-csrf-token"))
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(header.len(), 1);
            assert_eq!(Some(header[0].as_bytes()), t.cookie);
            assert_eq!(header[0].len(), guestlist::TOKEN_LEN);
            let (mac, random) = header[0].split_at(64);
            assert_eq!(
                mac,
                tag(t.session, &random[1..]),
                "a token the formula did not make"
            );
            reached(&VALID_CHECKED, "a valid token's form and MAC");
        }
    }
    // Nothing unsafe passes a token route unverified: the fixed policy defers no forms, and
    // the evaluator, given no body, has checked no form field. What passes carried a token
    // header that verified.
    let token_route = p.csrf_token_policy(d.guards).is_some();
    if unsafe_method
        && token_route
        && matches!(
            d.kind,
            guestlist::Kind::NotCors
                | guestlist::Kind::ActualAllowed
                | guestlist::Kind::ActualNotAllowed
        )
    {
        assert_eq!(
            d.token.map(|t| t.reason),
            Some(guestlist::Reason::CsrfTokenValid),
            "an unsafe request passed a token route unverified"
        );
        assert!(headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("x-csrf-token")));
        reached(&PASSED_CHECKED, "an unsafe request passing a token route");
    }
    if unsafe_method && token_route && d.reason == guestlist::Reason::CsrfTokenInForm {
        assert_eq!(d.kind, guestlist::Kind::CsrfRejected);
        reached(&UNREAD_FORM_CHECKED, "an unread form post refused");
    }
    // A token the formula made, alone on its route, is valid (the Fetch-Metadata check may
    // still refuse the request first); a changed one never is.
    if let (Some(_), true, true) = (&minted, token_route, no_input_token_header) {
        let refused_for_token =
            d.kind == guestlist::Kind::CsrfRejected && d.reason.code().starts_with("csrf-token-");
        let outcome = d.token.map(|t| t.reason);
        if flags & TAMPER != 0 {
            if unsafe_method {
                // Refused, for the token, unless the Fetch-Metadata check refused it first.
                let metadata_refused =
                    d.kind == guestlist::Kind::CsrfRejected && !refused_for_token;
                assert!(
                    metadata_refused || d.reason == guestlist::Reason::CsrfTokenOtherSession,
                    "a changed token: {:?} {:?}",
                    d.kind,
                    d.reason
                );
            } else {
                let t = d
                    .token
                    .expect("a safe request on a token route has an outcome");
                assert_eq!(
                    (t.reason, t.issue),
                    (guestlist::Reason::CsrfTokenIssued, true)
                );
            }
            assert_ne!(outcome, Some(guestlist::Reason::CsrfTokenValid));
            reached(&TAMPERED_CHECKED, "a changed token refused");
        } else if unsafe_method {
            assert!(
                !refused_for_token,
                "the formula's token refused: {:?}",
                d.reason
            );
            if d.kind != guestlist::Kind::CsrfRejected {
                assert_eq!(outcome, Some(guestlist::Reason::CsrfTokenValid));
            }
            reached(&MINTED_CHECKED, "the formula's token accepted");
        } else {
            let t = d
                .token
                .expect("a safe request on a token route has an outcome");
            assert_eq!(
                (t.reason, t.issue),
                (guestlist::Reason::CsrfTokenValid, false)
            );
            reached(&SAFE_CHECKED, "the formula's token cookie kept");
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
        let echoed = flags & ORIGIN != 0 && h.value.as_bytes() == origin.as_bytes();
        assert!(h.value.as_bytes() == b"*" || echoed);
    }
});
