//! The CORS decider (spec/language.md section 7): an actual request or a preflight against one
//! cors table, and against two readings' tables (section 6, "Path forms").

use crate::decision::{Decision, Fold, Out, Reading, Shape};
use crate::headers::{
    is_token, names_a_header, HeaderLookup, NameList, RequestHeader, MAX_ACRH_BYTES,
    MAX_ACRH_LINES, MAX_ACRH_NAMES,
};
use crate::keyset::KeySet;
use crate::origin::{match_origin, OriginMatch};
use crate::policy::Cors;
use crate::reason::{Kind, Reason};

pub(crate) const SAFELISTED_METHODS: [&[u8]; 3] = [b"GET", b"HEAD", b"POST"];

/// [`SAFELISTED_METHODS`] as [`crate::policy::method_words`] writes them.
pub(crate) const SAFELISTED_WORDS: [u64; 3] = [
    u32::from_le_bytes(*b"GET\0") as u64,
    u32::from_le_bytes(*b"HEAD") as u64,
    u32::from_le_bytes(*b"POST") as u64,
];

impl Cors {
    /// Which entry allows `origin`, if any.
    #[inline]
    pub fn match_origin(&self, origin: &[u8]) -> Option<OriginMatch> {
        let m = match_origin(self.any_origin, &self.origins, &self.patterns, origin);
        #[cfg(feature = "provided")]
        if m.is_none() && !self.provided.is_empty() {
            return self.match_provided(origin);
        }
        m
    }

    /// The sets supplied at run time, in order: the first whose current table allows
    /// `origin`.
    #[cfg(feature = "provided")]
    #[inline(never)]
    fn match_provided(&self, origin: &[u8]) -> Option<OriginMatch> {
        self.provided
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.match_origin(u32::try_from(i).ok()?, origin))
    }

    /// Safelisted or listed (byte-exact).
    #[inline]
    #[expect(
        clippy::manual_contains,
        reason = "measured: `any` stops at the first hit, `contains` compares all eight"
    )]
    fn method_listed(&self, m: &[u8]) -> bool {
        // A method of up to eight bytes is one integer, compared with each listed one's.
        if let (1..=8, Some(words)) = (m.len(), &self.method_words) {
            let w = crate::keyset::le_word(m);
            // No listed method holds a NUL byte: one that ends `m` is in no listed word.
            let ends_nonzero = (71 - w.leading_zeros()) / 8 == m.len() as u32;
            return ends_nonzero
                && (SAFELISTED_WORDS.contains(&w) || words.iter().any(|&x| x == w));
        }
        self.method_listed_bytes(m)
    }

    /// [`Cors::method_listed`] for longer methods, or more than eight listed.
    fn method_listed_bytes(&self, m: &[u8]) -> bool {
        // Compared a word at a time (slice `==` is a `memcmp` call per method).
        SAFELISTED_METHODS
            .iter()
            .any(|s| crate::keyset::eq_exact(s, m))
            || self
                .methods
                .iter()
                .any(|x| crate::keyset::eq_exact(x.as_bytes(), m))
    }
}

/// How many names `line` lists when it is `a,b,c` with every name a key of `set` (a small
/// set); `None` otherwise.
#[inline]
pub(crate) fn listed_line(set: &KeySet, line: &[u8]) -> Option<usize> {
    let mut rest = line;
    let mut n = 0;
    loop {
        let len = set.leading_key(rest)?;
        n += 1;
        match rest.get(len..) {
            Some([]) | None => return Some(n),
            Some([_comma, tail @ ..]) if !tail.is_empty() => rest = tail,
            Some(_) => return None,
        }
    }
}

/// Where a table of a merged decision comes from: a reading of the path, or another host
/// block's route for it (spec/language.md, section 6a).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The route a reading of the path selects on the request's host.
    Reading(Reading),
    /// A host block's route for the path.
    Host,
    /// The top level's route for the path, on a host that selected another: its csrf and
    /// websocket checks run, its CORS takes no part.
    GuardOnly,
}

/// The CORS decision for a request decided under several routes with different cors policies
/// (a path's two readings, host blocks' contributing routes; at least one has a cors policy):
/// allowed only where every one allows, with the stricter settings of all, folded in order; a
/// route with no cors policy (or no route) allows nothing. Returns the source that refused, if
/// one did.
pub(crate) fn decide_cors_all<'a, H, I>(
    tables: I,
    method: &str,
    headers: &'a H,
    d: &mut Decision<'a>,
) -> Option<Source>
where
    H: HeaderLookup + ?Sized,
    I: Iterator<Item = (Source, Option<&'a Cors>)> + Clone,
{
    let one = |c: Option<&'a Cors>| {
        let mut x = Decision::new(Kind::NotCors, Reason::NoCorsPolicy);
        if let Some(c) = c {
            decide_cors(c, method, headers, &mut x);
        }
        x
    };
    // The first route with a cors policy says what kind of request this is: a preflight, an
    // actual request, or one without Origin.
    let first_table = tables.clone().find_map(|(_, c)| c)?;
    let first = one(Some(first_table));
    let allowed = |x: &Decision<'_>| match first.kind {
        Kind::PreflightOk | Kind::PreflightRejected => x.kind == Kind::PreflightOk,
        Kind::ActualAllowed | Kind::ActualNotAllowed => x.kind == Kind::ActualAllowed,
        _ => x.reason == Reason::NoOrigin,
    };
    let mut vary = false;
    let mut static_any = true;
    let mut fold = Fold::of(first_table);
    let mut answer: Option<Decision<'a>> = None;
    let mut refusal: Option<(Source, Decision<'a>, bool)> = None;
    for (source, c) in tables {
        let x = one(c);
        vary |= x.out.vary;
        static_any &= x.out.shape == Shape::StaticAny;
        if let Some(c) = c {
            fold = fold.add(c);
        }
        if refusal.is_none() && !allowed(&x) {
            refusal = Some((source, x, c.is_some()));
        } else if answer.is_none() {
            answer = Some(x);
        }
    }
    let Some((source, refused, has_table)) = refusal else {
        // Every route allows (or none sees an Origin): the first one's answer, with the
        // stricter settings of all where the headers are written.
        let a = answer.unwrap_or(first);
        d.set(a.kind, a.reason);
        d.origin_match = a.origin_match;
        d.out = Out {
            fold,
            vary,
            ..a.out
        };
        if a.out.shape == Shape::StaticAny && !static_any {
            d.out.shape = Shape::None;
        }
        if a.kind == Kind::PreflightOk && a.out.names {
            // Every requested name passed every table: they are echoed.
            let (lines, n) = request_header_lines(headers);
            d.out.echo_lines = Some(lines);
            d.out.echo_len = n;
        }
        return None;
    };
    // Not allowed: the first refusing route's answer; a route with no cors policy refuses
    // with `readings-disagree` (a reading) or `hosts-disagree` (a host block's route).
    let (kind, reason) = match refused.kind {
        Kind::PreflightRejected | Kind::ActualNotAllowed => (refused.kind, refused.reason),
        _ if has_table => (first.kind, first.reason),
        _ => {
            let why = match source {
                Source::Reading(_) => Reason::ReadingsDisagree,
                Source::Host | Source::GuardOnly => Reason::HostsDisagree,
            };
            match first.kind {
                Kind::PreflightOk | Kind::PreflightRejected => (Kind::PreflightRejected, why),
                Kind::ActualAllowed | Kind::ActualNotAllowed => (Kind::ActualNotAllowed, why),
                _ => (Kind::NotCors, first.reason),
            }
        }
    };
    d.set(kind, reason);
    d.origin_match = refused.origin_match;
    d.offending = refused.offending;
    // No CORS headers; the application's own are replaced (the path is governed).
    d.out.cors = Some(first_table);
    d.out.vary = vary;
    (kind != Kind::NotCors).then_some(source)
}

/// Decides the CORS part into `d` (written in place: returning a decision through every level
/// would copy it each time). Records the facts the headers follow from, not the headers.
pub(crate) fn decide_cors<'a, H>(cors: &'a Cors, method: &str, headers: &'a H, d: &mut Decision<'a>)
where
    H: HeaderLookup + ?Sized,
{
    let vary = !cors.is_static_any();
    d.out.cors = Some(cors);
    d.out.vary = vary;
    let mut origins = headers.values(RequestHeader::Origin);
    let (origin, multiple) = match (origins.next(), origins.next()) {
        (None, _) => {
            d.set(Kind::NotCors, Reason::NoOrigin);
            if !vary {
                d.out.shape = Shape::StaticAny;
            }
            return;
        }
        (Some(o), None) => (o, false),
        (Some(o), Some(_)) => (o, true),
    };
    d.out.origin = Some(origin);
    let matched = if multiple {
        None
    } else {
        cors.match_origin(origin)
    };
    let origin_reason = if multiple {
        Reason::MultipleOrigins
    } else {
        Reason::OriginNotAllowed
    };

    if method == "OPTIONS" {
        let mut acrm_lines = headers.values(RequestHeader::RequestMethod);
        if let Some(acrm) = acrm_lines.next() {
            return preflight(
                cors,
                matched,
                origin_reason,
                acrm,
                acrm_lines.next(),
                headers,
                d,
            );
        }
    }

    // Actual request: it reaches the application either way.
    match matched {
        Some(m) => {
            d.set(Kind::ActualAllowed, Reason::OriginAllowed);
            d.origin_match = Some(m);
            d.out.shape = Shape::Actual;
        }
        None => d.set(Kind::ActualNotAllowed, origin_reason),
    }
}

pub(crate) fn preflight<'a, H>(
    cors: &'a Cors,
    matched: Option<crate::OriginMatch>,
    origin_reason: Reason,
    acrm: &'a [u8],
    second_acrm: Option<&'a [u8]>,
    headers: &'a H,
    d: &mut Decision<'a>,
) where
    H: HeaderLookup + ?Sized,
{
    let reject = |d: &mut Decision<'a>, reason: Reason, offending: Option<&'a [u8]>| {
        d.set(Kind::PreflightRejected, reason);
        d.origin_match = matched;
        d.offending = offending;
    };
    // 1. origin
    let Some(m) = matched else {
        return reject(d, origin_reason, None);
    };
    // 2. method: one token, byte-exact.
    if second_acrm.is_some() {
        return reject(d, Reason::RequestMethodInvalid, Some(acrm));
    }
    // A listed (or safelisted) method is a token; only the others need the token check.
    if !cors.method_listed(acrm) {
        if !is_token(acrm) {
            return reject(d, Reason::RequestMethodInvalid, Some(acrm));
        }
        if !cors.any_method {
            return reject(d, Reason::MethodNotAllowed, Some(acrm));
        }
    }
    // 3. headers: one bounded pass over every line.
    let mut lines = 0usize;
    let mut bytes = 0usize;
    let mut names = 0usize;
    for line in headers.values(RequestHeader::RequestHeaders) {
        lines += 1;
        bytes += line.len();
        if lines > MAX_ACRH_LINES || bytes > MAX_ACRH_BYTES {
            return reject(d, Reason::RequestHeadersInvalid, None);
        }
        // Browsers send `a,b,c` with listed names: accepted in one pass when every name is a
        // key of a small set. Anything else (spaces, empty items, unlisted names, too many)
        // takes the general scan below, which alone refuses.
        if let Some(n) = listed_line(&cors.headers, line) {
            if names + n <= MAX_ACRH_NAMES {
                names += n;
                continue;
            }
        }
        for name in NameList::new(line) {
            names += 1;
            if names > MAX_ACRH_NAMES {
                return reject(d, Reason::RequestHeadersInvalid, Some(name));
            }
            // A listed name is a token (and may be Authorization); only the others need checks.
            if cors.headers.get(name).is_none() {
                if !is_token(name) {
                    return reject(d, Reason::RequestHeadersInvalid, Some(name));
                }
                if name.eq_ignore_ascii_case(b"authorization") {
                    return reject(d, Reason::AuthorizationNotListed, Some(name));
                }
                if !cors.any_header {
                    return reject(d, Reason::HeaderNotAllowed, Some(name));
                }
            }
        }
    }
    // 4. success
    d.set(Kind::PreflightOk, Reason::PreflightAllowed);
    d.origin_match = Some(m);
    d.out.shape = Shape::Preflight;
    d.out.method = Some(acrm);
    d.out.names = names > 0;
    if names > 0 && cors.any_header && cors.credentials {
        // `*` is literal with credentials: echo what was asked (every name was checked).
        let (lines, n) = request_header_lines(headers);
        d.out.echo_lines = Some(lines);
        d.out.echo_len = n;
    }
}

/// The request's `Access-Control-Request-Headers` lines that name a header, to echo (a
/// preflight that passed has at most [`MAX_ACRH_LINES`]).
pub(crate) fn request_header_lines<'a, H>(headers: &'a H) -> ([&'a [u8]; MAX_ACRH_LINES], u8)
where
    H: HeaderLookup + ?Sized,
{
    let mut list: [&'a [u8]; MAX_ACRH_LINES] = [&[]; MAX_ACRH_LINES];
    let mut n = 0u8;
    for line in headers.values(RequestHeader::RequestHeaders) {
        if names_a_header(line) {
            if let Some(slot) = list.get_mut(usize::from(n)) {
                *slot = line;
                n += 1;
            }
        }
    }
    (list, n)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::decision::Decision;
    use crate::policy::Policy;
    use crate::{CorsSpec, RouteSpec};
    use std::borrow::Cow;

    pub(crate) fn policy() -> Policy {
        Policy::build(
            vec![
                RouteSpec {
                    pattern: "/api/*".into(),
                    cors: Some(0),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/assets/*".into(),
                    cors: Some(1),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/api/open".into(),
                    cors: Some(1),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/plain".into(),
                    cors: None,
                    ..Default::default()
                },
            ],
            vec![
                CorsSpec {
                    name: "api".into(),
                    origins: vec!["https://app.example.com".into()],
                    patterns: vec![
                        "https://*.preview.example.com".into(),
                        "http://localhost:*".into(),
                    ],
                    credentials: true,
                    methods: vec!["PUT".into(), "patch".into()],
                    headers: vec!["Content-Type".into(), "Authorization".into()],
                    expose: vec!["X-Total-Count".into()],
                    max_age: Some(7200),
                    ..Default::default()
                },
                CorsSpec {
                    name: "public".into(),
                    any_origin: true,
                    any_header: true,
                    max_age: Some(600),
                    ..Default::default()
                },
            ],
        )
        .unwrap()
    }

    pub(crate) fn hdrs(d: &Decision<'_>) -> Vec<(String, String)> {
        d.headers()
            .iter()
            .map(|h| {
                (
                    h.name.as_str().to_string(),
                    String::from_utf8_lossy(h.value.as_bytes()).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn methods_compared_as_words_are_compared_as_bytes() {
        let naive = |c: &Cors, m: &[u8]| {
            SAFELISTED_METHODS.contains(&m) || c.methods.iter().any(|x| x.as_bytes() == m)
        };
        let lists: [&[&str]; 6] = [
            &[],
            &["PUT", "DELETE"],
            &["PATCH", "PROPFIND", "X"],
            // More than eight, or longer than eight bytes: compared byte by byte.
            &["A", "B", "C", "D", "E", "F", "G", "H", "PUT"],
            &["PUT", "MKCALENDAR"],
            &["PU\0", "X"],
        ];
        let tries: [&[u8]; 20] = [
            b"",
            b"G",
            b"GE",
            b"GET",
            b"GET\0",
            b"\0GET",
            b"G\0ET",
            b"get",
            b"HEAD",
            b"POST",
            b"PUT",
            b"PUTS",
            b"PU\0",
            b"PU",
            b"DELETE",
            b"PATCH",
            b"PROPFIND",
            b"PROPFINDX",
            b"MKCALENDAR",
            b"X",
        ];
        for methods in lists {
            let p = Policy::build(
                vec![],
                vec![CorsSpec {
                    methods: methods.iter().map(|m| m.to_string()).collect(),
                    ..Default::default()
                }],
            )
            .unwrap();
            let c = &p.cors_policies()[0];
            assert_eq!(
                c.method_words.is_some(),
                methods.len() <= 8 && methods.iter().all(|m| m.len() <= 8 && !m.contains('\0')),
                "{methods:?}"
            );
            for m in tries {
                assert_eq!(c.method_listed(m), naive(c, m), "{methods:?} {m:?}");
            }
        }
        // Generated tables: computed in a `const`.
        static METHODS: [Cow<'static, str>; 2] = [Cow::Borrowed("PUT"), Cow::Borrowed("DELETE")];
        const WORDS: Option<[u64; 8]> = crate::policy::method_words(&METHODS);
        assert_eq!(
            WORDS,
            Some([
                u64::from(u32::from_le_bytes(*b"PUT\0")),
                u64::from_le_bytes(*b"DELETE\0\0"),
                0,
                0,
                0,
                0,
                0,
                0
            ])
        );
    }

    #[test]
    fn listed_line_accepts_only_the_canonical_form_of_listed_names() {
        // As `Cors::build` makes it: the names lowercased.
        let p = Policy::build(
            vec![],
            vec![CorsSpec {
                headers: vec!["Content-Type".into(), "x-auth-token".into(), "x-a".into()],
                ..Default::default()
            }],
        )
        .unwrap();
        let set = &p.cors_policies()[0].headers;
        for (line, want) in [
            (&b"content-type"[..], Some(1)),
            (b"content-type,x-auth-token", Some(2)),
            (b"x-a,x-auth-token,content-type", Some(3)),
            // Other case: left to the general scan, which folds it.
            (b"X-AUTH-TOKEN", None),
            (b"Content-Type", None),
            (b"x-a,x-a", Some(2)),
            (b"content-type, x-auth-token", None),
            (b"content-type,,x-a", None),
            (b"content-type,", None),
            (b",x-a", None),
            (b"x-ab", None),
            (b"x-auth-token,authorization", None),
            (b"", None),
        ] {
            assert_eq!(
                listed_line(set, line),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
            // Whatever it accepts, the general scan accepts with the same count.
            if let Some(n) = want {
                let names: Vec<&[u8]> = NameList::new(line).collect();
                assert_eq!(names.len(), n);
                assert!(names.iter().all(|x| set.get(x).is_some()));
            }
        }
        let big = KeySet::new((0..9).map(|i| format!("x-{i}")), true).unwrap();
        assert_eq!(
            listed_line(&big, b"x-1"),
            None,
            "large sets take the general scan"
        );
    }

    #[test]
    fn preflight_ok_echoes_method_and_lists_headers() {
        let p = policy();
        let h = [
            ("Origin", "https://a.b.preview.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            (
                "Access-Control-Request-Headers",
                "authorization,content-type",
            ),
        ];
        let d = p.decide("OPTIONS", "/api/x", &h[..]);
        assert_eq!(d.kind, Kind::PreflightOk, "{:?}", d.reason);
        assert_eq!(d.status(), Some(204));
        assert_eq!(
            hdrs(&d),
            vec![
                (
                    "access-control-allow-origin".into(),
                    "https://a.b.preview.example.com".into()
                ),
                ("access-control-allow-credentials".into(), "true".into()),
                ("access-control-allow-methods".into(), "PUT".into()),
                (
                    "access-control-allow-headers".into(),
                    "Content-Type, Authorization".into()
                ),
                ("access-control-max-age".into(), "7200".into()),
                ("vary".into(), "Origin".into()),
            ]
        );
    }

    #[test]
    fn preflight_refusals() {
        let p = policy();
        let cases: [(&[(&str, &str)], Reason); 7] = [
            (
                &[
                    ("Origin", "https://preview.example.com"),
                    ("Access-Control-Request-Method", "PUT"),
                ],
                Reason::OriginNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://x.preview.example.com.evil.net"),
                    ("Access-Control-Request-Method", "PUT"),
                ],
                Reason::OriginNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://APP.example.com"),
                    ("Access-Control-Request-Method", "PUT"),
                ],
                Reason::OriginNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "PATCH"),
                ],
                Reason::MethodNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "put"),
                ],
                Reason::MethodNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "PUT"),
                    ("Access-Control-Request-Headers", "x-other"),
                ],
                Reason::HeaderNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://app.example.com"),
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "PUT"),
                ],
                Reason::MultipleOrigins,
            ),
        ];
        for (h, reason) in cases {
            let d = p.decide("OPTIONS", "/api/x", h);
            assert_eq!(d.kind, Kind::PreflightRejected, "{h:?}");
            assert_eq!(d.reason, reason, "{h:?}");
            assert_eq!(d.status(), Some(403));
            assert!(d
                .headers()
                .iter()
                .all(|x| !x.name.as_str().starts_with("access-control-")));
        }
    }

    #[test]
    fn wildcard_headers_never_cover_authorization() {
        let p = policy();
        let h = [
            ("Origin", "https://anything.test"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-a, Authorization"),
        ];
        let d = p.decide("OPTIONS", "/assets/x", &h[..]);
        assert_eq!(d.reason, Reason::AuthorizationNotListed);
        let h = [
            ("Origin", "null"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-a"),
        ];
        let d = p.decide("OPTIONS", "/assets/x", &h[..]);
        assert_eq!(d.kind, Kind::PreflightOk);
        assert_eq!(
            hdrs(&d),
            vec![
                ("access-control-allow-origin".into(), "*".into()),
                ("access-control-allow-methods".into(), "GET".into()),
                ("access-control-allow-headers".into(), "*".into()),
                ("access-control-max-age".into(), "600".into()),
            ]
        );
    }

    #[test]
    fn actual_requests() {
        let p = policy();
        let d = p.decide("GET", "/api/x", &[("Origin", "http://localhost:3000")][..]);
        assert_eq!(d.kind, Kind::ActualAllowed);
        assert_eq!(d.origin_match, Some(OriginMatch::Pattern(1)));
        assert_eq!(
            hdrs(&d),
            vec![
                (
                    "access-control-allow-origin".into(),
                    "http://localhost:3000".into()
                ),
                ("access-control-allow-credentials".into(), "true".into()),
                (
                    "access-control-expose-headers".into(),
                    "X-Total-Count".into()
                ),
                ("vary".into(), "Origin".into()),
            ]
        );
        let d = p.decide("GET", "/api/x", &[("Origin", "https://evil.test")][..]);
        assert_eq!(d.kind, Kind::ActualNotAllowed);
        assert_eq!(hdrs(&d), vec![("vary".into(), "Origin".into())]);
        // OPTIONS without Access-Control-Request-Method is not a preflight.
        let d = p.decide(
            "OPTIONS",
            "/api/x",
            &[("Origin", "https://app.example.com")][..],
        );
        assert_eq!(d.kind, Kind::ActualAllowed);
        let none: [(&str, &str); 0] = [];
        let d = p.decide("GET", "/api/x", &none[..]);
        assert_eq!(d.kind, Kind::NotCors);
        assert_eq!(hdrs(&d), vec![("vary".into(), "Origin".into())]);
        let d = p.decide("GET", "/assets/x", &none[..]);
        assert_eq!(
            hdrs(&d),
            vec![("access-control-allow-origin".into(), "*".into())]
        );
        let d = p.decide(
            "GET",
            "/plain",
            &[("Origin", "https://app.example.com")][..],
        );
        assert_eq!((d.kind, d.reason), (Kind::NotCors, Reason::NoCorsPolicy));
    }

    #[test]
    fn hostile_request_headers_are_bounded() {
        let p = policy();
        let commas = ",".repeat(1000);
        let h = [
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", commas.as_str()),
        ];
        assert_eq!(
            p.decide("OPTIONS", "/api/x", &h[..]).kind,
            Kind::PreflightOk
        );
        let long = "content-type,".repeat(400);
        let h = [
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", long.as_str()),
        ];
        assert_eq!(
            p.decide("OPTIONS", "/api/x", &h[..]).reason,
            Reason::RequestHeadersInvalid
        );
    }

    #[test]
    fn runtime_refuses_wildcard_with_credentials() {
        let r = Policy::build(
            vec![],
            vec![CorsSpec {
                name: "x".into(),
                any_origin: true,
                credentials: true,
                ..Default::default()
            }],
        );
        assert!(r.is_err());
    }
}
