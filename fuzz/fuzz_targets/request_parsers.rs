//! The request-side parsers on any bytes: Origin matching (exact and pattern), the
//! Access-Control-Request-Headers scanner, path normalisation, and whole decisions.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn policy() -> &'static guestlist::Policy {
    static P: OnceLock<guestlist::Policy> = OnceLock::new();
    P.get_or_init(|| {
        let c = guestlist_compiler::Compilation::from_str(
            "p.policy",
            "cors a {\n allow-origins \"https://app.example.com\" \"https://*.preview.example.com\" \"http://localhost:*\" \"http://[::1]:*\"\n allow-methods PUT patch\n allow-headers Content-Type X-Id\n allow-credentials true\n max-age 2h\n}\ncors b {\n allow-origins *\n allow-headers *\n max-age 0\n}\nroute \"/api/*\" { cors a }\nroute \"/b/*\" { cors b }\n",
        );
        c.lower("default").expect("the fixed policy lowers").policy
    })
}

fuzz_target!(|data: &[u8]| {
    // Fields separated by 0xff: path, origin, method, ACRM, ACRH lines...
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
    let p = policy();
    for cors in p.cors_policies() {
        let _ = cors.match_origin(origin.as_bytes());
    }
    let mut buf = [0u8; guestlist::MAX_PATH];
    let _ = guestlist::normalize_path(&path, &mut buf);
    let d = p.decide(&method, &path, &headers[..]);
    let acao = d
        .headers()
        .iter()
        .find(|h| h.name == guestlist::HeaderName::AllowOrigin);
    if let Some(h) = acao {
        assert!(h.value.as_bytes() == b"*" || h.value.as_bytes() == origin.as_bytes());
    }
});
