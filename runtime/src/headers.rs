//! Reading request headers without allocating: the [`HeaderLookup`] trait and the
//! single-pass `Access-Control-Request-Headers` scanner; and what a header name
//! ([`is_token`]) and a header value ([`is_header_value`]) may be, and the tables' header values
//! built or checked by that definition.

use http::HeaderValue;

use crate::keyset::{refuse, TableError};

/// The request headers the evaluator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestHeader {
    /// `Origin`.
    Origin,
    /// `Access-Control-Request-Method`.
    RequestMethod,
    /// `Access-Control-Request-Headers`.
    RequestHeaders,
    /// `Host`.
    Host,
    /// `Sec-Fetch-Site`.
    SecFetchSite,
    /// `Upgrade`.
    Upgrade,
    /// `Cookie`.
    Cookie,
    /// `Content-Type`.
    ContentType,
}

impl RequestHeader {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestHeader::Origin => "origin",
            RequestHeader::RequestMethod => "access-control-request-method",
            RequestHeader::RequestHeaders => "access-control-request-headers",
            RequestHeader::Host => "host",
            RequestHeader::SecFetchSite => "sec-fetch-site",
            RequestHeader::Upgrade => "upgrade",
            RequestHeader::Cookie => "cookie",
            RequestHeader::ContentType => "content-type",
        }
    }
}

/// Read access to a request's header field lines, by name.
///
/// Implemented for `http::HeaderMap` (feature `http`) and for slices of `(name, value)` pairs
/// (used by the CLI and tests). Every field line is yielded separately, in order, so that
/// duplicates (two `Origin` lines) are visible to the evaluator.
pub trait HeaderLookup {
    /// Iterator over the values of one header name.
    type Values<'s>: Iterator<Item = &'s [u8]>
    where
        Self: 's;

    /// All values of the header `name`, in order.
    fn values<'s>(&'s self, name: RequestHeader) -> Self::Values<'s>;

    /// All values of a header the policy names (a CSRF token header), by lowercase name.
    fn values_named<'s>(&'s self, name: &'s str) -> Self::Values<'s>;

    /// Whether `X-Forwarded-Host` replaces the request's authority
    /// ([`Layer::trust_forwarded_host`](crate::Layer::trust_forwarded_host)); off unless the
    /// deployment says so.
    fn forwarded_host(&self) -> bool {
        false
    }
}

/// Iterator for [`HeaderLookup`] on `[(name, value)]` slices.
#[derive(Debug, Clone)]
pub struct PairValues<'s, N, V> {
    pairs: std::slice::Iter<'s, (N, V)>,
    name: &'s str,
}

impl<'s, N: AsRef<str>, V: AsRef<[u8]>> Iterator for PairValues<'s, N, V> {
    type Item = &'s [u8];
    fn next(&mut self) -> Option<&'s [u8]> {
        for (n, v) in self.pairs.by_ref() {
            if n.as_ref().eq_ignore_ascii_case(self.name) {
                return Some(v.as_ref());
            }
        }
        None
    }
}

impl<N: AsRef<str>, V: AsRef<[u8]>> HeaderLookup for [(N, V)] {
    type Values<'s>
        = PairValues<'s, N, V>
    where
        Self: 's;
    fn values<'s>(&'s self, name: RequestHeader) -> PairValues<'s, N, V> {
        PairValues {
            pairs: self.iter(),
            name: name.as_str(),
        }
    }
    fn values_named<'s>(&'s self, name: &'s str) -> PairValues<'s, N, V> {
        PairValues {
            pairs: self.iter(),
            name,
        }
    }
}

/// Iterator for [`HeaderLookup`] on `http::HeaderMap`.
#[derive(Debug)]
pub struct MapValues<'s> {
    inner: http::header::ValueIter<'s, http::HeaderValue>,
}

impl<'s> Iterator for MapValues<'s> {
    type Item = &'s [u8];
    #[inline]
    fn next(&mut self) -> Option<&'s [u8]> {
        self.inner.next().map(http::HeaderValue::as_bytes)
    }
}

impl HeaderLookup for http::HeaderMap {
    type Values<'s> = MapValues<'s>;
    #[inline]
    fn values<'s>(&'s self, name: RequestHeader) -> MapValues<'s> {
        let inner = match name {
            RequestHeader::Origin => self.get_all(&http::header::ORIGIN),
            RequestHeader::RequestMethod => {
                self.get_all(&http::header::ACCESS_CONTROL_REQUEST_METHOD)
            }
            RequestHeader::RequestHeaders => {
                self.get_all(&http::header::ACCESS_CONTROL_REQUEST_HEADERS)
            }
            RequestHeader::Host => self.get_all(&http::header::HOST),
            RequestHeader::SecFetchSite => self.get_all("sec-fetch-site"),
            RequestHeader::Upgrade => self.get_all(&http::header::UPGRADE),
            RequestHeader::Cookie => self.get_all(&http::header::COOKIE),
            RequestHeader::ContentType => self.get_all(&http::header::CONTENT_TYPE),
        };
        MapValues {
            inner: inner.iter(),
        }
    }
    fn values_named<'s>(&'s self, name: &'s str) -> MapValues<'s> {
        MapValues {
            inner: self.get_all(name).iter(),
        }
    }
}

/// An `http::HeaderMap` with its `Origin` lines looked up once, so the tower layer can decide
/// and then clone the request's own `Origin` value into the response without a second lookup.
#[cfg(feature = "tower")]
#[derive(Debug)]
pub(crate) struct Prepared<'a> {
    map: &'a http::HeaderMap,
    /// The first two `Origin` field lines (the evaluator only needs to know whether there is
    /// more than one).
    origins: [Option<&'a http::HeaderValue>; 2],
    /// The first `Access-Control-Request-Method` line, once the evaluator has looked it up.
    method: std::cell::Cell<Option<&'a http::HeaderValue>>,
    /// `X-Forwarded-Host` replaces the authority.
    forwarded_host: bool,
}

#[cfg(feature = "tower")]
impl<'a> Prepared<'a> {
    /// With the first two `Origin` lines already looked up ([`origin_lines`]).
    #[inline]
    pub(crate) fn with_origins(
        map: &'a http::HeaderMap,
        origins: [Option<&'a http::HeaderValue>; 2],
    ) -> Self {
        Prepared {
            map,
            origins,
            method: std::cell::Cell::new(None),
            forwarded_host: false,
        }
    }

    /// With `X-Forwarded-Host` replacing the authority when `on`.
    #[inline]
    pub(crate) fn forwarded_host(mut self, on: bool) -> Self {
        self.forwarded_host = on;
        self
    }

    /// The request's first `Origin` value.
    #[inline]
    pub(crate) fn origin(&self) -> Option<&'a http::HeaderValue> {
        self.origins[0]
    }

    /// The request's first `Access-Control-Request-Method` value, if the evaluator read it.
    #[inline]
    pub(crate) fn method(&self) -> Option<&'a http::HeaderValue> {
        self.method.get()
    }
}

/// The first two `Origin` field lines of a request (the evaluator only needs to know whether
/// there is more than one).
#[cfg(feature = "tower")]
#[inline]
pub(crate) fn origin_lines(map: &http::HeaderMap) -> [Option<&http::HeaderValue>; 2] {
    let mut it = map.get_all(&http::header::ORIGIN).iter();
    let first = it.next();
    let second = first.and_then(|_| it.next());
    [first, second]
}

/// Iterator for [`HeaderLookup`] on the tower layer's prepared headers.
#[cfg(feature = "tower")]
#[derive(Debug)]
pub(crate) struct PreparedValues<'s> {
    origins: [Option<&'s [u8]>; 2],
    next: usize,
    rest: Option<MapValues<'s>>,
}

#[cfg(feature = "tower")]
impl<'s> Iterator for PreparedValues<'s> {
    type Item = &'s [u8];
    #[inline]
    fn next(&mut self) -> Option<&'s [u8]> {
        if let Some(rest) = &mut self.rest {
            return rest.next();
        }
        let v = self.origins.get(self.next).copied().flatten();
        self.next += 1;
        v
    }
}

#[cfg(feature = "tower")]
impl HeaderLookup for Prepared<'_> {
    type Values<'s>
        = PreparedValues<'s>
    where
        Self: 's;
    #[inline]
    fn forwarded_host(&self) -> bool {
        self.forwarded_host
    }
    #[inline]
    fn values<'s>(&'s self, name: RequestHeader) -> PreparedValues<'s> {
        match name {
            RequestHeader::Origin => PreparedValues {
                origins: [
                    self.origins[0].map(http::HeaderValue::as_bytes),
                    self.origins[1].map(http::HeaderValue::as_bytes),
                ],
                next: 0,
                rest: None,
            },
            RequestHeader::RequestMethod => {
                let mut it = self
                    .map
                    .get_all(&http::header::ACCESS_CONTROL_REQUEST_METHOD)
                    .iter();
                let first = it.next();
                let second = first.and_then(|_| it.next());
                self.method.set(first);
                PreparedValues {
                    origins: [
                        first.map(http::HeaderValue::as_bytes),
                        second.map(http::HeaderValue::as_bytes),
                    ],
                    next: 0,
                    rest: None,
                }
            }
            other => PreparedValues {
                origins: [None, None],
                next: 0,
                rest: Some(HeaderLookup::values(self.map, other)),
            },
        }
    }
    fn values_named<'s>(&'s self, name: &'s str) -> PreparedValues<'s> {
        PreparedValues {
            origins: [None, None],
            next: 0,
            rest: Some(HeaderLookup::values_named(self.map, name)),
        }
    }
}

/// Whether `b` is an RFC 9110 `tchar`.
#[inline]
pub const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Whether `s` is a non-empty RFC 9110 token: a method, or a header name (the one definition
/// of a valid header name; tables store names lowercase). A `const fn`, so that generated
/// tables are checked at compile time.
#[inline]
pub const fn is_token(s: &[u8]) -> bool {
    let mut rest = s;
    while let [b, tail @ ..] = rest {
        if !is_tchar(*b) {
            return false;
        }
        rest = tail;
    }
    !s.is_empty()
}

/// Whether `v` is a header value guestlist sends: one or more bytes, each a visible ASCII
/// character (`!` to `~`), a space or a tab, the first and the last neither space nor tab.
///
/// The one definition, used by `Policy::build`, by the constructors generated tables call
/// (at compile time), and by the compiler's checker and emitters. It is what every target
/// carries alike: `http::HeaderValue::from_static` refuses bytes of 0x80 and above (which
/// `HeaderValue::from_str` would take, and browsers and proxies read inconsistently),
/// receivers strip leading and trailing white space, and nginx sends no header whose value is
/// empty. Normative text: spec/language.md, section 1.
pub const fn is_header_value(v: &[u8]) -> bool {
    ValueScan::START.push(v).finish()
}

/// [`is_header_value`] of a value given in pieces (a CSP's parts around its nonces), so that
/// static tables can be checked without joining them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueScan {
    ok: bool,
    empty: bool,
    blank_at_end: bool,
}

impl ValueScan {
    /// No byte yet.
    pub(crate) const START: ValueScan = ValueScan {
        ok: true,
        empty: true,
        blank_at_end: false,
    };

    /// The value continued with `bytes`.
    pub(crate) const fn push(mut self, bytes: &[u8]) -> ValueScan {
        let mut rest = bytes;
        while let [b, tail @ ..] = rest {
            let b = *b;
            let blank = b == b' ' || b == b'\t';
            if !(blank || b.is_ascii_graphic()) || (self.empty && blank) {
                self.ok = false;
            }
            self.empty = false;
            self.blank_at_end = blank;
            rest = tail;
        }
        self
    }

    /// Whether the value pushed so far is a header value.
    pub(crate) const fn finish(self) -> bool {
        self.ok && !self.empty && !self.blank_at_end
    }
}

/// Bounds on `Access-Control-Request-Headers`, so a hostile value costs at most one bounded
/// pass (rs/cors#170 and go-chi/cors#36: a megabyte of commas cost milliseconds there).
pub const MAX_ACRH_BYTES: usize = 4096;
/// At most this many field lines of `Access-Control-Request-Headers`.
pub const MAX_ACRH_LINES: usize = 8;
/// At most this many header names in `Access-Control-Request-Headers`.
pub const MAX_ACRH_NAMES: usize = 64;

/// Whether an `Access-Control-Request-Headers` line names at least one header (echoed lines are
/// counted by this: the runtime echoes, and the layer clones, only such lines).
pub(crate) fn names_a_header(line: &[u8]) -> bool {
    NameList::new(line).next().is_some()
}

/// Splits one `Access-Control-Request-Headers` line into names: split on `,`, trim optional
/// white space (space and tab), skip empty elements. Single pass, no allocation.
#[derive(Debug, Clone)]
pub struct NameList<'a> {
    rest: &'a [u8],
}

impl<'a> NameList<'a> {
    /// Scans `value`.
    pub fn new(value: &'a [u8]) -> Self {
        NameList { rest: value }
    }
}

impl<'a> Iterator for NameList<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        // Empty items and the spaces around items are skipped in a tight loop, eight commas at
        // a time, so a hostile value (`a,,,,…,b`) costs a few instructions per byte.
        let mut rest = self.rest;
        loop {
            if let Some((w, tail)) = rest.split_first_chunk::<8>() {
                if u64::from_ne_bytes(*w) == u64::from_ne_bytes([b','; 8]) {
                    rest = tail;
                    continue;
                }
            }
            match rest {
                [b',' | b' ' | b'\t', tail @ ..] => rest = tail,
                _ => break,
            }
        }
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
        let (item, tail) = rest.split_at(end);
        self.rest = tail;
        Some(trim_ows(item))
    }
}

#[inline]
fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// The request's one value of `name`: `Ok(None)` when absent or empty (as Go's
/// `Header.Get` reads it), `Err(())` when repeated.
pub(crate) fn single<H>(headers: &H, name: RequestHeader) -> Result<Option<&[u8]>, ()>
where
    H: HeaderLookup + ?Sized,
{
    let mut it = headers.values(name);
    match (it.next(), it.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(Some(v).filter(|v| !v.is_empty())),
        (Some(_), Some(_)) => Err(()),
    }
}

/// Every string of up to `max_len` bytes over `alphabet`, shortest first: exhaustive inputs
/// for checking a fast scanner against its definition.
#[cfg(test)]
pub(crate) fn every_string(alphabet: &[u8], max_len: usize) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = vec![Vec::new()];
    let mut frontier = all.clone();
    for _ in 0..max_len {
        let next: Vec<Vec<u8>> = frontier
            .iter()
            .flat_map(|s| {
                alphabet.iter().map(move |&b| {
                    let mut t = s.clone();
                    t.push(b);
                    t
                })
            })
            .collect();
        all.extend(next.iter().cloned());
        frontier = next;
    }
    all
}

/// A header value of a run-time table: [`is_header_value`], or refused.
pub(crate) fn value(s: &str) -> Result<HeaderValue, TableError> {
    if !is_header_value(s.as_bytes()) {
        return Err(TableError::InvalidHeaderValue(s.to_string()));
    }
    HeaderValue::from_str(s).map_err(|_| TableError::InvalidHeaderValue(s.to_string()))
}

/// A header value of a generated table: [`is_header_value`], or refused at compile time.
pub(crate) const fn static_value(s: &'static str) -> HeaderValue {
    if !is_header_value(s.as_bytes()) {
        refuse("guestlist: a generated table holds a header value that is not visible ASCII, spaces and tabs (with none at either end)");
    }
    HeaderValue::from_static(s)
}

pub(crate) const fn static_value_opt(s: Option<&'static str>) -> Option<HeaderValue> {
    match s {
        Some(s) => Some(static_value(s)),
        None => None,
    }
}

/// A header name of a generated table: a lowercase token (tables hold names lowercase), or
/// refused at compile time.
pub(crate) const fn static_name(s: &'static str) -> http::HeaderName {
    if !is_lowercase_token(s.as_bytes()) {
        refuse("guestlist: a generated table holds a header name that is not a lowercase token");
    }
    http::HeaderName::from_static(s)
}

/// Whether `s` is a token without uppercase letters.
pub(crate) const fn is_lowercase_token(s: &[u8]) -> bool {
    let mut rest = s;
    while let [b, tail @ ..] = rest {
        if b.is_ascii_uppercase() {
            return false;
        }
        rest = tail;
    }
    is_token(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "header value that is not visible ASCII")]
    fn a_static_header_value_that_is_not_one_is_refused() {
        let _ = static_value("https://\u{e4}.example");
    }

    #[test]
    fn name_list_tolerates_spaces_and_empties() {
        let names: Vec<&[u8]> =
            NameList::new(b" content-type ,,\tX-Request-Id,  ,authorization").collect();
        assert_eq!(
            names,
            vec![&b"content-type"[..], b"X-Request-Id", b"authorization"]
        );
        assert_eq!(NameList::new(b",,,,").count(), 0);
        assert_eq!(NameList::new(b"").count(), 0);
    }

    #[test]
    fn name_list_is_split_on_commas_trimmed_without_empties() {
        // The definition, against every string of up to 6 bytes over commas, spaces, tabs and
        // two letters, and runs of commas longer than a word.
        let reference = |v: &[u8]| -> Vec<Vec<u8>> {
            v.split(|&b| b == b',')
                .map(|i| trim_ows(i).to_vec())
                .filter(|i| !i.is_empty())
                .collect()
        };
        let mut all = every_string(b", \tab", 6);
        for n in [7usize, 8, 9, 16, 17, 1000] {
            all.push(format!("a{}b", ",".repeat(n)).into_bytes());
            all.push(format!("{} a {}", ",".repeat(n), ",".repeat(n)).into_bytes());
        }
        for v in &all {
            let got: Vec<Vec<u8>> = NameList::new(v).map(<[u8]>::to_vec).collect();
            assert_eq!(got, reference(v), "{:?}", String::from_utf8_lossy(v));
        }
    }

    #[test]
    fn pair_lookup_is_case_insensitive_and_keeps_duplicates() {
        let h = [("Origin", "a"), ("x", "y"), ("ORIGIN", "b")];
        let v: Vec<&[u8]> = h[..].values(RequestHeader::Origin).collect();
        assert_eq!(v, vec![&b"a"[..], b"b"]);
    }

    #[test]
    fn header_values_are_what_every_target_carries() {
        // An independent oracle: what `http` stores (`HeaderValue::from_bytes`), minus what
        // `HeaderValue::from_static` refuses (bytes of 0x80 and above), what receivers strip
        // (white space at either end) and what nginx never sends (an empty value). Every
        // string of up to three bytes over bytes of each class, and a few longer ones.
        let oracle = |v: &[u8]| {
            http::HeaderValue::from_bytes(v).is_ok()
                && v.iter().all(|&b| b < 0x80)
                && !v.is_empty()
                && v.trim_ascii() == v
                && v.first() != Some(&b'\t')
                && v.last() != Some(&b'\t')
        };
        let alphabet = [
            0, 1, b'\t', b'\n', b'\r', b' ', b'!', b'"', b'$', b'a', b'~', 0x7f, 0x80, 0xc3, 0xff,
        ];
        let mut all = every_string(&alphabet, 3);
        all.push(b"default-src 'self'; report-uri https://a.example/r?x=$y".to_vec());
        all.push("report-uri https://\u{e4}.example/r".as_bytes().to_vec());
        all.push(b"a\tb c".to_vec());
        for v in &all {
            assert_eq!(is_header_value(v), oracle(v), "{v:?}");
            // In pieces (a CSP around its nonces), the same answer.
            for cut in 0..=v.len() {
                let (a, b) = v.split_at(cut);
                assert_eq!(
                    ValueScan::START.push(a).push(b).finish(),
                    oracle(v),
                    "{v:?} at {cut}"
                );
            }
        }
    }

    #[test]
    fn tokens_are_tchars() {
        for v in every_string(b"aZ0-!\" :;{}\x80", 2) {
            let want =
                !v.is_empty() && http::HeaderName::from_bytes(&v).is_ok() && !v.contains(&0x80);
            assert_eq!(is_token(&v), want, "{v:?}");
        }
    }
}
