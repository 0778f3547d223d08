//! One line of meaning for each block kind, setting and CSP directive (hover shows it,
//! completion lists it beside the word). The words themselves are the checker's
//! (`check::settings_of`, `check::BLOCKS`); a test holds this table to them.

/// `(block kind, word, meaning)`; an empty kind is a top-level block kind.
const MEANINGS: &[(&str, &str, &str)] = &[
    ("", "import", "another policy file, relative to this one; its blocks join this policy"),
    ("", "origins", "a named set of origins (`origins NAME { ... }`), or one supplied at run time (`origins NAME provided`)"),
    ("", "cors", "a CORS policy: which origins may read responses, with which methods, headers and credentials"),
    ("", "csp", "a Content-Security-Policy: one directive per line"),
    ("", "headers", "a set of security response headers (`include default` starts from the built-in set)"),
    ("", "csrf", "a cross-origin write check (Go's CrossOriginProtection), optionally with signed tokens"),
    ("", "websocket", "which origins may open a WebSocket handshake"),
    ("", "route", "a path pattern (`/x` exactly, `/x/*` below it) and the policies that govern it"),
    ("", "host", "routes that apply only to requests for these hosts"),
    ("", "hosts", "`hosts dispatched-by-application`: the application routes by host itself"),
    ("", "paths", "how a path with dot segments or escapes is read: `non-normal reject` or `two-readings`"),
    ("", "test", "a request and the decision the policy must make for it (`guestlist test`)"),
    ("cors", "allow-origins", "the origins allowed: quoted origins, `*.` patterns, set names, or `*`"),
    ("cors", "allow-methods", "methods a preflight may ask for (GET, HEAD, POST always pass), or `*`"),
    ("cors", "allow-headers", "request headers a preflight may ask for, or `*` (never covers Authorization)"),
    ("cors", "expose-headers", "response headers scripts may read, or `*` (not with credentials)"),
    ("cors", "allow-credentials", "`true`: cookies and HTTP auth may be sent and the response read with them"),
    ("cors", "max-age", "how long a browser caches a preflight answer (seconds, or 30s, 30m, 2h, 1d)"),
    ("cors", "dangerously-allow", "`CODE \"reason\"`: lowers a lowerable error of this block to a warning"),
    ("route", "cors", "the cors policy deciding cross-origin reads of this route"),
    ("route", "csp", "the Content-Security-Policy sent on this route's responses"),
    ("route", "headers", "the security header set sent on this route's responses (`default`: the built-in one)"),
    ("route", "csrf", "the csrf policy checking cross-origin writes to this route"),
    ("route", "websocket", "the websocket policy checking handshakes on this route"),
    ("host", "route", "a route that applies only to this block's hosts"),
    ("paths", "non-normal", "`reject` (400 for dot segments, the default) or `two-readings` (decide under both readings)"),
    ("test", "request", "`METHOD \"PATH\"`: the request to decide (required)"),
    ("test", "origins", "`NAME \"ORIGIN\"...`: supplies a provided set for this test only"),
    ("test", "header", "`NAME VALUE`: a request header line; repeat for more"),
    ("test", "host", "`\"AUTHORITY\"`: the request's Host line, which selects the host block"),
    ("test", "profile", "the profile to decide in (default: `default`)"),
    ("test", "expect", "the decision kind expected (required)"),
    ("test", "expect-header", "`NAME VALUE`: the response has this header with exactly this value"),
    ("test", "expect-no-header", "`NAME`: the response has no line of this header"),
    ("test", "csrf-token", "the CSRF token the request carries: valid, other-session, tampered, malformed, cookie-only or header-only"),
    ("csrf", "trusted-origins", "exact origins (or sets of them) whose cross-origin writes pass"),
    ("csrf", "self-origins", "the site's own origins: `Origin` must be one of them instead of matching `Host`"),
    ("csrf", "same-site", "`allow` or `reject` (default): whether `Sec-Fetch-Site: same-site` passes"),
    ("csrf", "missing-headers", "`allow` (default) or `reject`: a request with neither `Sec-Fetch-Site` nor `Origin`"),
    ("csrf", "exempt", "`METHOD \"PATTERN\"`: requests that skip the check (and the token check)"),
    ("csrf", "token", "signed double-submit tokens: `header`, `cookie`, `bind-to`, `same-site`, `field`, `defer-forms`"),
    ("csrf", "dangerously-allow", "`CODE \"reason\"`: lowers a lowerable error of this block to a warning"),
    ("websocket", "allow-origins", "origins whose handshakes pass: exact, `*.` patterns, set names, `same-origin` (never `*`)"),
    ("websocket", "missing-origin", "`allow` or `reject` (default): a handshake without `Origin`"),
    ("headers", "include", "`include default`: start from the built-in set; later lines replace its values"),
    ("headers", "remove", "headers removed from every response (such as `x-powered-by`)"),
    ("headers", "strict-transport-security", "`max-age=SECONDS` [`includeSubDomains`] [`preload`]: HTTPS only, for that long"),
    ("headers", "x-content-type-options", "`nosniff`: no MIME sniffing"),
    ("headers", "referrer-policy", "how much of the URL the Referer header carries (a fallback list)"),
    ("headers", "permissions-policy", "which browser features (camera, geolocation, ...) the page and its frames may use"),
    ("headers", "cross-origin-opener-policy", "whether cross-origin windows share a browsing context group with the page"),
    ("headers", "cross-origin-embedder-policy", "whether the page loads only resources that opt in (CORP or CORS)"),
    ("headers", "cross-origin-resource-policy", "which sites may embed this response (`same-origin`, `same-site`, `cross-origin`)"),
    ("headers", "x-frame-options", "`DENY` or `SAMEORIGIN`: who may frame the page (the old frame-ancestors)"),
    ("headers", "origin-agent-cluster", "`?1`: the page gets an origin-keyed agent cluster"),
    ("headers", "x-dns-prefetch-control", "`on` or `off`: DNS prefetching of links"),
    ("headers", "x-permitted-cross-domain-policies", "whether Flash and PDF clients may load cross-domain policy files"),
    ("headers", "x-xss-protection", "`0` only: switches off the removed XSS filter of old browsers"),
    ("csp", "report-only", "send Content-Security-Policy-Report-Only instead: report, do not block"),
    ("csp", "dangerously-allow", "`CODE \"reason\"`: lowers the block's lowerable CSP errors"),
    ("csp", "child-src", "sources of workers and nested frames (falls back to default-src)"),
    ("csp", "connect-src", "URLs scripts may connect to: fetch, XHR, WebSocket, EventSource"),
    ("csp", "default-src", "the fallback for every fetch directive not given"),
    ("csp", "font-src", "sources of fonts"),
    ("csp", "frame-src", "sources of frames and iframes"),
    ("csp", "img-src", "sources of images and favicons"),
    ("csp", "manifest-src", "sources of application manifests"),
    ("csp", "media-src", "sources of audio, video and text tracks"),
    ("csp", "object-src", "sources of <object> and <embed> plugins (write 'none')"),
    ("csp", "script-src", "sources of scripts: nonces, hashes, 'strict-dynamic', hosts"),
    ("csp", "script-src-elem", "sources of <script> elements (falls back to script-src)"),
    ("csp", "script-src-attr", "inline event handlers (falls back to script-src)"),
    ("csp", "style-src", "sources of stylesheets"),
    ("csp", "style-src-elem", "sources of <style> and <link rel=stylesheet> (falls back to style-src)"),
    ("csp", "style-src-attr", "inline style attributes (falls back to style-src)"),
    ("csp", "worker-src", "sources of workers and service workers"),
    ("csp", "base-uri", "URLs a <base> element may set (write 'self' or 'none')"),
    ("csp", "form-action", "URLs forms may submit to"),
    ("csp", "frame-ancestors", "who may frame the page ('none' = no one)"),
    ("csp", "sandbox", "applies an iframe-like sandbox to the page (allow-* tokens lift parts)"),
    ("csp", "report-uri", "where to POST violation reports (deprecated; keep beside report-to)"),
    ("csp", "report-to", "`NAME \"https://URL\"`: the reporting endpoint (sent as Reporting-Endpoints too)"),
    ("csp", "webrtc", "`'allow'` or `'block'`: whether WebRTC connections may be made"),
    ("csp", "upgrade-insecure-requests", "loads http: URLs of the page as https:"),
    ("csp", "block-all-mixed-content", "deprecated: blocks http: loads on https pages"),
    ("csp", "require-trusted-types-for", "`'script'`: DOM XSS sinks take Trusted Types only"),
    ("csp", "trusted-types", "the Trusted Types policy names the page may create"),
];

/// The meaning of `word` in a block of `kind` (`""`: at top level).
pub(crate) fn meaning(kind: &str, word: &str) -> Option<&'static str> {
    MEANINGS
        .iter()
        .find(|(k, w, _)| *k == kind && *w == word)
        .map(|(_, _, m)| *m)
}

/// Common request and response header names (completion inside `allow-headers`,
/// `expose-headers`, a test's `header` lines).
pub(crate) const HEADER_NAMES: &[&str] = &[
    "Accept",
    "Accept-Language",
    "Access-Control-Request-Headers",
    "Access-Control-Request-Method",
    "Authorization",
    "Cache-Control",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "Cookie",
    "ETag",
    "Host",
    "If-Match",
    "If-None-Match",
    "Last-Modified",
    "Location",
    "Origin",
    "Range",
    "Sec-Fetch-Mode",
    "Sec-Fetch-Site",
    "Upgrade",
    "X-CSRF-Token",
    "X-Request-Id",
    "X-Requested-With",
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word the checker knows has a meaning here, and nothing else does.
    #[test]
    fn the_table_covers_the_checkers_words() {
        let mut expected: Vec<(String, String)> = crate::check::BLOCKS
            .iter()
            .chain(&["import", "hosts"])
            .map(|b| (String::new(), (*b).to_string()))
            .collect();
        for kind in [
            "cors",
            "route",
            "host",
            "paths",
            "test",
            "csrf",
            "websocket",
            "headers",
            "csp",
        ] {
            for s in crate::check::settings_of(kind) {
                expected.push((kind.to_string(), s.to_string()));
            }
        }
        let mut table: Vec<(String, String)> = MEANINGS
            .iter()
            .map(|(k, w, _)| ((*k).to_string(), (*w).to_string()))
            .collect();
        expected.sort();
        expected.dedup();
        table.sort();
        assert_eq!(table, expected);
    }
}
