//! The CORS settings of several cors tables that all allow a request, folded in the runtime's
//! order (spec/language.md, "Path forms" and section 6a: the decision under several routes is
//! no looser than any one's): what an edge emitter writes for a path with two readings or a
//! policy with host blocks. Engine-neutral; `nginx` and `caddy` use it.

use guestlist::Cors;

/// The exposed headers of several tables folded in order: the list the other contains, none
/// when neither contains the other ([`Cors::stricter_expose`], pair by pair).
pub(crate) fn fold_expose<'a>(all: &[&'a Cors]) -> Option<&'a http::HeaderValue> {
    let (&first, rest) = all.split_first()?;
    // The table whose list the fold holds so far.
    let mut acc = first;
    for &c in rest {
        let v = acc.stricter_expose(c)?;
        if c.expose_headers_value() == Some(v) {
            acc = c;
        }
    }
    acc.expose_headers_value()
}

/// The max-age of several tables folded in order: the smaller, none counting as the browser's
/// default ([`Cors::stricter_max_age`], pair by pair).
pub(crate) fn fold_max_age<'a>(all: &[&'a Cors]) -> Option<&'a http::HeaderValue> {
    let (&first, rest) = all.split_first()?;
    // The table whose max-age the fold holds so far.
    let mut acc = first;
    for &c in rest {
        let v = acc.stricter_max_age(c);
        if v != acc.max_age_value() {
            acc = c;
        }
    }
    acc.max_age_value()
}
