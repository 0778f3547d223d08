// Static tables written by hand the way generated code writes them, each holding something
// `Policy::build` refuses at run time: the constructors refuse them when the crate compiles.
use guestlist::__private as p;

static NONE: [p::Cow<'static, str>; 0] = [];
static NO_SLOTS: [u32; 0] = [];

// `*` with credentials.
static WILDCARD_WITH_CREDENTIALS: guestlist::Cors = p::cors(
    "api",
    true,
    p::key_set(&NONE, &NO_SLOTS, false),
    p::pattern_set(&NONE, &NO_SLOTS),
    true,
    false,
    &NONE,
    false,
    p::key_set(&NONE, &NO_SLOTS, true),
    None,
    None,
    None,
);

// An origin pattern the matcher cannot search (an exact origin, not `scheme://*.host`).
static LOOSE: [p::Cow<'static, str>; 1] = [p::Cow::Borrowed("https://app.example.com")];
static NOT_STRICT: guestlist::PatternSet = p::pattern_set(&LOOSE, &[1, 0, 0, 0]);

// Slots that do not name each key: two keys, one slot used.
static TWO: [p::Cow<'static, str>; 2] = [p::Cow::Borrowed("/a"), p::Cow::Borrowed("/b")];
static WRONG_SLOTS: guestlist::KeySet = p::key_set(&TWO, &[1, 0, 0, 0], false);

// A CSP value with a control byte, and a header value that is not ASCII.
static CONTROL: [p::Cow<'static, str>; 1] = [p::Cow::Borrowed("report-uri https://a.example/r\u{1}x")];
static CONTROL_CSP: guestlist::Csp = p::csp("e", false, &CONTROL, None);
static NON_ASCII: p::HeaderValue = p::header_value("https://\u{e4}.example/r");

// A route naming a cors policy the table does not hold.
static ROUTES: [guestlist::Route; 1] = [p::route("/a", Some(3), guestlist::Guards::NONE)];
static ROUTE_KEYS: [p::Cow<'static, str>; 1] = [p::Cow::Borrowed("/a")];
static DANGLING: guestlist::Policy = p::policy(
    &ROUTES,
    p::key_set(&ROUTE_KEYS, &[1, 0, 0, 0], false),
    &[],
    &[],
    &[],
    &[],
    &[],
    guestlist::NonNormalPaths::Reject,
);

fn main() {
    let _ = (&WILDCARD_WITH_CREDENTIALS, &NOT_STRICT, &WRONG_SLOTS, &CONTROL_CSP);
    let _ = (&NON_ASCII, &DANGLING);
}
