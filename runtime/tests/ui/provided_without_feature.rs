// DO NOT EDIT, generated from examples/hygiene/tenants.policy by compiler/tests/golden.rs (BLESS=1).
// Generated code for a policy with an origin set supplied at run time, against a
// runtime without its `provided` feature: one build error, naming the feature.
// Profile: default. Table format: 7.

/// The compiled guestlist policy.
#[allow(clippy::all, reason = "generated code")]
pub static POLICY: ::guestlist::Policy = {
    const _: () = ::guestlist::__private::check_table_format(7);
    static ROUTES: [::guestlist::Route; 1] = [
        ::guestlist::__private::route("/api/*", ::guestlist::__private::Option::Some(0), ::guestlist::Guards { csp: ::guestlist::__private::Option::None, headers: ::guestlist::__private::Option::None, csrf: ::guestlist::__private::Option::None, websocket: ::guestlist::__private::Option::None }),
    ];
    static ROUTE_KEYS: [::guestlist::__private::Cow<'static, str>; 1] = [
        ::guestlist::__private::Cow::Borrowed("/api/*"),
    ];
    static ROUTE_SLOTS: [u32; 4] = [
        1, 0, 0, 0,
    ];
    static PROVIDED0: ::guestlist::__private::ProvidedSet = ::guestlist::__private::provided_set("customers", true, false);
    static PROVIDED: [::guestlist::__private::SetRef; 1] = [
        ::guestlist::__private::set_ref(&PROVIDED0),
    ];
    static CORS0_ORIGINS_KEYS: [::guestlist::__private::Cow<'static, str>; 1] = [
        ::guestlist::__private::Cow::Borrowed("https://app.example.com"),
    ];
    static CORS0_ORIGINS_SLOTS: [u32; 4] = [
        0, 0, 1, 0,
    ];
    static CORS0_PATTERNS_KEYS: [::guestlist::__private::Cow<'static, str>; 0] = [
    ];
    static CORS0_PATTERNS_SLOTS: [u32; 0] = [
    ];
    static CORS0_HEADERS_KEYS: [::guestlist::__private::Cow<'static, str>; 0] = [
    ];
    static CORS0_HEADERS_SLOTS: [u32; 0] = [
    ];
    static CORS0_METHODS: [::guestlist::__private::Cow<'static, str>; 0] = [
    ];
    static CORS0_PROVIDED: [::guestlist::__private::SetRef; 1] = [
        ::guestlist::__private::set_ref(&PROVIDED0),
    ];
    static CORS: [::guestlist::Cors; 1] = [
        ::guestlist::__private::cors_provided(::guestlist::__private::cors(
            "api",
            false,
            ::guestlist::__private::key_set(&CORS0_ORIGINS_KEYS, &CORS0_ORIGINS_SLOTS, false),
            ::guestlist::__private::pattern_set(&CORS0_PATTERNS_KEYS, &CORS0_PATTERNS_SLOTS),
            true,
            false,
            &CORS0_METHODS,
            false,
            ::guestlist::__private::key_set(&CORS0_HEADERS_KEYS, &CORS0_HEADERS_SLOTS, true),
            ::guestlist::__private::Option::None,
            ::guestlist::__private::Option::None,
            ::guestlist::__private::Option::Some("7200"),
        ), &CORS0_PROVIDED),
    ];
    static CSP: [::guestlist::Csp; 0] = [
    ];
    static HEADER_SETS: [::guestlist::HeaderSet; 0] = [
    ];
    static CSRF: [::guestlist::Csrf; 0] = [
    ];
    static WEBSOCKET: [::guestlist::WebSocket; 0] = [
    ];
    ::guestlist::__private::policy_provided(::guestlist::__private::policy(&ROUTES, ::guestlist::__private::key_set(&ROUTE_KEYS, &ROUTE_SLOTS, false), &CORS, &CSP, &HEADER_SETS, &CSRF, &WEBSOCKET, ::guestlist::NonNormalPaths::Reject), &PROVIDED)
};

fn main() {
    let _ = &POLICY;
}
