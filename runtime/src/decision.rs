//! The decision: what the evaluator found ([`Decision`]: kind, reason, route, policies) and
//! the facts its response headers follow from. [`Decision::for_each_header`] is the one place
//! that lists the CORS headers a decision sends. A decision allocates nothing: header values
//! are table strings or slices of the request's own header values.

use crate::headers::NameList;
use crate::headers::MAX_ACRH_LINES;
use crate::origin::OriginMatch;
use crate::policy::{Cors, Guards};
use crate::reason::{Kind, Reason};

/// `*`, the value of Access-Control-Allow-Origin for any origin.
pub(crate) const STAR: http::HeaderValue = http::HeaderValue::from_static("*");

/// A CORS response header the runtime sets: an `Access-Control-*` header or `Vary`
/// ([`CorsHeader::as_str`] gives its lowercase name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorsHeader {
    /// `Access-Control-Allow-Origin`
    AllowOrigin,
    /// `Access-Control-Allow-Credentials`
    AllowCredentials,
    /// `Access-Control-Allow-Methods`
    AllowMethods,
    /// `Access-Control-Allow-Headers`
    AllowHeaders,
    /// `Access-Control-Max-Age`
    MaxAge,
    /// `Access-Control-Expose-Headers`
    ExposeHeaders,
    /// `Vary`
    Vary,
}

impl CorsHeader {
    /// The lowercase header name.
    pub fn as_str(self) -> &'static str {
        match self {
            CorsHeader::AllowOrigin => "access-control-allow-origin",
            CorsHeader::AllowCredentials => "access-control-allow-credentials",
            CorsHeader::AllowMethods => "access-control-allow-methods",
            CorsHeader::AllowHeaders => "access-control-allow-headers",
            CorsHeader::MaxAge => "access-control-max-age",
            CorsHeader::ExposeHeaders => "access-control-expose-headers",
            CorsHeader::Vary => "vary",
        }
    }
}

/// Which request header a value is echoed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Echo {
    /// The `Origin` header.
    Origin,
    /// `Access-Control-Request-Method`.
    Method,
    /// The `n`th field line of `Access-Control-Request-Headers` that names a header.
    HeadersLine(u8),
}

/// The values the runtime writes itself, whatever the policy: a closed set, so turning one
/// into an `http::HeaderValue` cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FixedValue {
    /// `*` (Access-Control-Allow-Origin of `allow-origins *`).
    Star,
    /// `true` (Access-Control-Allow-Credentials).
    True,
    /// `Origin` (Vary).
    Origin,
}

impl FixedValue {
    /// The value's text.
    pub fn as_str(self) -> &'static str {
        match self {
            FixedValue::Star => "*",
            FixedValue::True => "true",
            FixedValue::Origin => "Origin",
        }
    }
}

/// A header value: from the policy's tables, a fixed string, or echoed from the request. The
/// tower layer turns each into an `http::HeaderValue` without allocating (table values and
/// request values are cloned, which shares their bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A precomputed value from the policy.
    Table(&'a http::HeaderValue),
    /// `*`, `true`, `Origin`.
    Fixed(FixedValue),
    /// A request header's value, echoed.
    Echo(Echo, &'a [u8]),
}

impl<'a> Value<'a> {
    /// The value's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            Value::Table(v) => v.as_bytes(),
            Value::Fixed(f) => f.as_str().as_bytes(),
            Value::Echo(_, b) => b,
        }
    }
}

/// One header the decision sets (`append == false`: replaces any value the application set)
/// or appends (`Vary`, which is never overwritten).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Which header.
    pub name: CorsHeader,
    /// Its value.
    pub value: Value<'a>,
    /// Append rather than replace.
    pub append: bool,
}

pub(crate) const CAPACITY: usize = 8 + MAX_ACRH_LINES;
pub(crate) const NO_HEADER: Header<'static> = Header {
    name: CorsHeader::Vary,
    value: Value::Fixed(FixedValue::Origin),
    append: true,
};

/// What the CSRF token check found on a request it let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOutcome<'a> {
    /// `CsrfTokenValid`, `CsrfTokenIssued` or `CsrfTokenDeferred` (the application verifies
    /// the form field: [`CsrfToken::is_pending`](crate::CsrfToken::is_pending)).
    pub reason: Reason,
    /// The request's token cookie.
    pub cookie: Option<&'a [u8]>,
    /// The session value the token is bound to (empty without a session cookie).
    pub session: &'a [u8],
    /// Whether the layer sets a new token cookie (none, or not valid for this session, or
    /// made with the previous secret).
    pub issue: bool,
    /// The csrf policy (index) whose `token` line was checked.
    pub csrf: u32,
}

/// The outcome of evaluating one request against a [`Policy`](crate::Policy).
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// The kind of request and what the runtime does with it.
    pub kind: Kind,
    /// Why.
    pub reason: Reason,
    /// Index of the matched route.
    pub route: Option<u32>,
    /// Index of the applied CORS policy.
    pub cors: Option<u32>,
    /// The origin entry that allowed the request.
    pub origin_match: Option<OriginMatch>,
    /// For header and method refusals: the offending request value.
    pub offending: Option<&'a [u8]>,
    /// The matched route's CSP, header, CSRF and WebSocket policies.
    pub guards: Guards,
    /// Why the CSRF check let the request through, when the route has a csrf policy.
    pub csrf_reason: Option<Reason>,
    /// The CSRF token check, when the route's csrf policy has a `token` line and the request
    /// was not refused.
    pub token: Option<TokenOutcome<'a>>,
    /// When the path is not structurally normal: its normalised reading (the fields above are
    /// the as-sent reading's).
    pub readings: Option<Readings>,
    /// What the response headers are made from (see [`Decision::for_each_header`]).
    pub(crate) out: Out<'a>,
}

/// One of the two readings of a path that is not structurally normal (spec/language.md, "Path
/// forms").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reading {
    /// The path's bytes as sent: nothing decoded, merged or resolved, as a router on the raw
    /// path (axum, matchit) sees it.
    AsSent,
    /// Decoded, `//` merged, dot segments resolved: the path nginx's `location` sees.
    Normalised,
}

impl Reading {
    /// The stable name (`explain --format json`): `as-sent` or `normalised`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::AsSent => "as-sent",
            Reading::Normalised => "normalised",
        }
    }
}

/// The normalised reading of a path that is not structurally normal: its route and that
/// route's policies. The decision is no looser than either reading's (spec/language.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readings {
    /// The normalised reading's route.
    pub route: Option<u32>,
    /// Its CORS policy.
    pub cors: Option<u32>,
    /// Its CSP, header, CSRF and WebSocket policies.
    pub guards: Guards,
    /// The reading whose check refused the request, when one did (the as-sent reading's
    /// checks run first).
    pub refused_by: Option<Reading>,
}

/// The facts a decision's response headers are made from. The evaluator records these, not
/// the headers themselves: the headers follow from them and the CORS table, one function
/// ([`Decision::for_each_header`]) lists them, and the tower layer writes them straight into
/// the response without building a list first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out<'a> {
    /// The applied CORS table (none: no CORS headers at all).
    pub(crate) cors: Option<&'a Cors>,
    /// The stricter settings of every CORS table that allowed the request, when several did
    /// (a path's two readings, host blocks' contributing routes): the headers take these
    /// instead of the applied table's own.
    pub(crate) fold: Fold<'a>,
    /// Which headers besides `Vary`.
    pub(crate) shape: Shape,
    /// `Vary: Origin` is appended.
    pub(crate) vary: bool,
    /// The request's `Origin` (echoed in Allow-Origin). An `Option`, like every field a new
    /// decision starts without, so that a fresh decision is all zero bytes.
    pub(crate) origin: Option<&'a [u8]>,
    /// The preflight's `Access-Control-Request-Method` (echoed in Allow-Methods).
    pub(crate) method: Option<&'a [u8]>,
    /// The preflight's `Access-Control-Request-Headers` lines that name a header, echoed one by
    /// one when `allow-headers *` is literal (credentials); otherwise the table's list is sent.
    pub(crate) echo_lines: Option<[&'a [u8]; MAX_ACRH_LINES]>,
    /// How many of `echo_lines` are set.
    pub(crate) echo_len: u8,
    /// The preflight asked for at least one header (Allow-Headers is sent).
    pub(crate) names: bool,
}

/// The CORS headers of a decision that reaches the application: [`Decision::actual_parts`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActualParts<'a> {
    /// Access-Control-Allow-Origin.
    pub(crate) acao: Option<Value<'a>>,
    /// Access-Control-Allow-Credentials: true.
    pub(crate) acac: bool,
    /// Access-Control-Expose-Headers.
    pub(crate) aceh: Option<&'a http::HeaderValue>,
    /// `Vary: Origin`.
    pub(crate) vary: bool,
}

/// Which CORS headers (besides `Vary`) a decision sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// None.
    None,
    /// A request without `Origin` on a route whose answer never depends on it: `*` and the
    /// exposed headers.
    StaticAny,
    /// An allowed actual request: Allow-Origin, Allow-Credentials, Expose-Headers.
    Actual,
    /// An allowed preflight: Allow-Origin, Allow-Credentials, Allow-Methods, Allow-Headers,
    /// Max-Age.
    Preflight,
}

impl Out<'_> {
    pub(crate) const NONE: Out<'static> = Out {
        cors: None,
        fold: Fold::OFF,
        shape: Shape::None,
        vary: false,
        origin: None,
        method: None,
        echo_lines: None,
        echo_len: 0,
        names: false,
    };
}

/// The headers of a decision, in order: [`Decision::headers`]. Dereferences to a slice.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    list: [Header<'a>; CAPACITY],
    len: usize,
}

impl<'a> std::ops::Deref for Headers<'a> {
    type Target = [Header<'a>];
    fn deref(&self) -> &[Header<'a>] {
        self.list.get(..self.len).unwrap_or(&[])
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = Header<'a>;
    type IntoIter = std::iter::Take<std::array::IntoIter<Header<'a>, CAPACITY>>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter().take(self.len)
    }
}

impl<'a> Decision<'a> {
    pub(crate) fn new(kind: Kind, reason: Reason) -> Self {
        Decision {
            kind,
            reason,
            route: None,
            cors: None,
            origin_match: None,
            offending: None,
            guards: Guards::NONE,
            csrf_reason: None,
            token: None,
            readings: None,
            out: Out::NONE,
        }
    }

    pub(crate) fn set(&mut self, kind: Kind, reason: Reason) {
        self.kind = kind;
        self.reason = reason;
    }

    /// The headers the runtime sets or appends, in order.
    pub fn headers(&self) -> Headers<'a> {
        let mut h = Headers {
            list: [NO_HEADER; CAPACITY],
            len: 0,
        };
        self.for_each_header(|x| {
            if let Some(slot) = h.list.get_mut(h.len) {
                *slot = x;
                h.len += 1;
            }
        });
        h
    }

    /// Calls `f` with each header the runtime sets or appends, in order: the one place that
    /// says which headers a decision sends. [`Decision::headers`] collects them; the tower
    /// layer writes them straight into the response.
    pub fn for_each_header(&self, mut f: impl FnMut(Header<'a>)) {
        let o = &self.out;
        let Some(c) = o.cors else { return };
        let set = |name, value| Header {
            name,
            value,
            append: false,
        };
        match o.shape {
            Shape::None | Shape::StaticAny | Shape::Actual => {
                let a = self.actual_parts();
                if let Some(v) = a.acao {
                    f(set(CorsHeader::AllowOrigin, v));
                }
                if a.acac {
                    f(set(
                        CorsHeader::AllowCredentials,
                        Value::Fixed(FixedValue::True),
                    ));
                }
                if let Some(v) = a.aceh {
                    f(set(CorsHeader::ExposeHeaders, Value::Table(v)));
                }
            }
            Shape::Preflight => {
                f(set(CorsHeader::AllowOrigin, self.allow_origin(c)));
                if self.credentials(c) {
                    f(set(
                        CorsHeader::AllowCredentials,
                        Value::Fixed(FixedValue::True),
                    ));
                }
                f(set(
                    CorsHeader::AllowMethods,
                    Value::Echo(Echo::Method, o.method.unwrap_or_default()),
                ));
                if o.names {
                    match &o.echo_lines {
                        Some(lines) => {
                            let n = usize::from(o.echo_len);
                            for (i, line) in lines.iter().take(n).enumerate() {
                                f(Header {
                                    name: CorsHeader::AllowHeaders,
                                    value: Value::Echo(
                                        Echo::HeadersLine(u8::try_from(i).unwrap_or(u8::MAX)),
                                        line,
                                    ),
                                    append: i > 0,
                                });
                            }
                        }
                        None => {
                            if let Some(v) = &c.acah {
                                f(set(CorsHeader::AllowHeaders, Value::Table(v)));
                            }
                        }
                    }
                }
                let max_age = if o.fold.on {
                    o.fold.max_age
                } else {
                    c.max_age.as_ref()
                };
                if let Some(v) = max_age {
                    f(set(CorsHeader::MaxAge, Value::Table(v)));
                }
            }
        }
        if o.vary {
            f(Header {
                name: CorsHeader::Vary,
                value: Value::Fixed(FixedValue::Origin),
                append: true,
            });
        }
    }

    /// Access-Control-Allow-Origin for an allowed request: `*`, or the request's `Origin`.
    #[inline]
    pub(crate) fn allow_origin(&self, c: &Cors) -> Value<'a> {
        let f = &self.out.fold;
        if (f.on && f.any_origin) || (!f.on && c.any_origin) {
            Value::Fixed(FixedValue::Star)
        } else {
            Value::Echo(Echo::Origin, self.out.origin.unwrap_or_default())
        }
    }

    /// Whether Access-Control-Allow-Credentials is sent: the table's setting, or every
    /// allowing table's.
    #[inline]
    pub(crate) fn credentials(&self, c: &Cors) -> bool {
        if self.out.fold.on {
            self.out.fold.credentials
        } else {
            c.credentials
        }
    }

    /// Access-Control-Expose-Headers: the table's, or the stricter of every allowing table's.
    #[inline]
    pub(crate) fn expose(&self, c: &'a Cors) -> Option<&'a http::HeaderValue> {
        if self.out.fold.on {
            self.out.fold.aceh
        } else {
            c.aceh.as_ref()
        }
    }

    /// The CORS headers of a decision that reaches the application (what
    /// [`Decision::for_each_header`] lists for it, bar `Vary`), for the tower layer, which
    /// keeps them while the application runs.
    #[inline]
    pub(crate) fn actual_parts(&self) -> ActualParts<'a> {
        let o = &self.out;
        let none = ActualParts {
            acao: None,
            acac: false,
            aceh: None,
            vary: o.vary,
        };
        let Some(c) = o.cors else { return none };
        match o.shape {
            Shape::StaticAny => ActualParts {
                acao: Some(Value::Fixed(FixedValue::Star)),
                aceh: self.expose(c),
                ..none
            },
            Shape::Actual => ActualParts {
                acao: Some(self.allow_origin(c)),
                acac: self.credentials(c),
                aceh: self.expose(c),
                ..none
            },
            Shape::None | Shape::Preflight => none,
        }
    }

    /// How many headers [`Decision::for_each_header`] lists.
    #[inline]
    pub fn header_count(&self) -> usize {
        let mut n = 0;
        self.for_each_header(|_| n += 1);
        n
    }

    /// The status when the runtime answers by itself: 204 for an allowed preflight, 403 for
    /// a refused preflight, CSRF check or WebSocket handshake, 400 for a refused path.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            Kind::PreflightOk => Some(204),
            Kind::PreflightRejected | Kind::CsrfRejected | Kind::WebsocketRejected => Some(403),
            Kind::PathRejected | Kind::HostRejected => Some(400),
            _ => None,
        }
    }

    /// For a CSRF, WebSocket or path refusal, the short reason sent in the `Guestlist-Reason`
    /// header.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        match self.kind {
            Kind::CsrfRejected
            | Kind::WebsocketRejected
            | Kind::PathRejected
            | Kind::HostRejected => Some(self.reason.code()),
            _ => None,
        }
    }

    /// Whether the application is called (everything but preflights and refusals).
    pub fn reaches_app(&self) -> bool {
        self.status().is_none()
    }
}

/// How long a browser caches a preflight without `Access-Control-Max-Age` (Fetch: five
/// seconds).
pub(crate) const BROWSER_MAX_AGE: u64 = 5;

/// Whether every name of the comma list `x` is in `y` (ASCII case ignored), or `y` is `*`.
pub(crate) fn list_within(x: &[u8], y: &[u8]) -> bool {
    y == b"*" || NameList::new(x).all(|n| NameList::new(y).any(|m| m.eq_ignore_ascii_case(n)))
}

/// The stricter settings of several CORS tables that all allow a request, folded in order
/// (spec/language.md, "Path forms" and section 6a): Allow-Origin `*` and credentials only when
/// every table has them, the stricter exposed headers, the smaller max-age. Starts off (all
/// zero bytes, like a fresh decision).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fold<'a> {
    /// Whether the fold applies (several tables allowed the request).
    pub(crate) on: bool,
    /// Every table allows any origin (Allow-Origin `*`).
    pub(crate) any_origin: bool,
    /// Every table allows credentials.
    pub(crate) credentials: bool,
    /// The stricter exposed headers.
    pub(crate) aceh: Option<&'a http::HeaderValue>,
    /// The smaller max-age.
    pub(crate) max_age: Option<&'a http::HeaderValue>,
}

impl<'a> Fold<'a> {
    /// No fold: the applied table's own settings.
    pub(crate) const OFF: Fold<'static> = Fold {
        on: false,
        any_origin: false,
        credentials: false,
        aceh: None,
        max_age: None,
    };

    /// The settings of `c` alone.
    pub(crate) fn of(c: &'a Cors) -> Fold<'a> {
        Fold {
            on: true,
            any_origin: c.any_origin,
            credentials: c.credentials,
            aceh: c.aceh.as_ref(),
            max_age: c.max_age.as_ref(),
        }
    }

    /// The settings so far and `c`'s: the stricter of each.
    pub(crate) fn add(self, c: &'a Cors) -> Fold<'a> {
        Fold {
            on: true,
            any_origin: self.any_origin && c.any_origin,
            credentials: self.credentials && c.credentials,
            aceh: stricter_list(self.aceh, c.aceh.as_ref()),
            max_age: smaller_max_age(self.max_age, c.max_age.as_ref()),
        }
    }
}

/// The stricter of two exposed-header lists: the one the other contains (`*` contains every
/// list), none when either is none or neither contains the other.
fn stricter_list<'a>(
    x: Option<&'a http::HeaderValue>,
    y: Option<&'a http::HeaderValue>,
) -> Option<&'a http::HeaderValue> {
    let (x, y) = (x?, y?);
    if list_within(x.as_bytes(), y.as_bytes()) {
        Some(x)
    } else if list_within(y.as_bytes(), x.as_bytes()) {
        Some(y)
    } else {
        None
    }
}

/// The smaller of two max-ages, none counting as the browser's default of five seconds (so
/// none is sent when that is the smaller); the first on a tie.
fn smaller_max_age<'a>(
    x: Option<&'a http::HeaderValue>,
    y: Option<&'a http::HeaderValue>,
) -> Option<&'a http::HeaderValue> {
    let seconds = |v: Option<&http::HeaderValue>| match v {
        None => BROWSER_MAX_AGE,
        Some(v) => std::str::from_utf8(v.as_bytes())
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0),
    };
    if seconds(x) <= seconds(y) {
        x
    } else {
        y
    }
}

impl Cors {
    /// For a path whose two readings apply this table and `other`: the stricter exposed
    /// headers, the list the other contains (`*` contains every list), none when neither
    /// contains the other (spec/language.md, "Path forms").
    pub fn stricter_expose<'a>(&'a self, other: &'a Cors) -> Option<&'a http::HeaderValue> {
        stricter_list(self.aceh.as_ref(), other.aceh.as_ref())
    }

    /// For a path whose two readings apply this table and `other`: the smaller max-age, a
    /// table without one counting as the browser's default of five seconds (so none is sent
    /// when that is the smaller; spec/language.md, "Path forms").
    pub fn stricter_max_age<'a>(&'a self, other: &'a Cors) -> Option<&'a http::HeaderValue> {
        smaller_max_age(self.max_age.as_ref(), other.max_age.as_ref())
    }
}
