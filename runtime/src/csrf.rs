//! The CSRF decider (spec/language.md section 7a): Go's `CrossOriginProtection` check with the
//! policy's named choices, then the signed double-submit token check.

use crate::decision::TokenOutcome;
use crate::guards::Csrf;
use crate::headers::{single, HeaderLookup, RequestHeader};
use crate::host::{same_authority, RequestAuthority};
use crate::origin::origin_authority;
use crate::path::{read_path, PathBuffers, PathForm};
use crate::policy::Cors;
use crate::reason::Reason;
use crate::token::{
    check_submitted, cookie, form_field, verify as verify_token, CsrfSecret, FormBody, TokenPolicy,
    TOKEN_LEN,
};

/// Whether the CSRF check never refuses `method`: `GET`, `HEAD` and `OPTIONS`, byte for byte
/// (spec/language.md section 7a).
pub fn is_csrf_safe_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// A request body an HTML page can post without script (so it cannot carry the token header).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `application/x-www-form-urlencoded`: the layer can read the token field.
    Urlencoded,
    /// `multipart/form-data` or `text/plain`.
    Other,
}

/// The form the request's (first) `Content-Type` names, if it is one.
pub(crate) fn form_kind<H>(headers: &H) -> Option<Form>
where
    H: HeaderLookup + ?Sized,
{
    let v = headers.values(RequestHeader::ContentType).next()?;
    let media = v.split(|&b| b == b';').next().unwrap_or(&[]).trim_ascii();
    if media.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
        Some(Form::Urlencoded)
    } else if media.eq_ignore_ascii_case(b"multipart/form-data")
        || media.eq_ignore_ascii_case(b"text/plain")
    {
        Some(Form::Other)
    } else {
        None
    }
}

/// The signed double-submit token check (spec/language.md, "csrf tokens").
pub(crate) fn check_token<'a, H>(
    t: &TokenPolicy,
    secret: Option<&CsrfSecret>,
    method: &str,
    headers: &'a H,
    form: FormBody<'_>,
) -> Result<TokenOutcome<'a>, Reason>
where
    H: HeaderLookup + ?Sized,
{
    let session = cookie(headers, &t.bind_cookie).unwrap_or(&[]);
    let tok_cookie = cookie(headers, &t.cookie);
    let outcome = |reason, issue| TokenOutcome {
        csrf: 0,
        reason,
        cookie: tok_cookie,
        session,
        issue,
    };
    let safe = is_csrf_safe_method(method);
    let Some(secret) = secret else {
        return if safe {
            Ok(outcome(Reason::CsrfTokenNoSecret, false))
        } else {
            Err(Reason::CsrfTokenNoSecret)
        };
    };
    if safe {
        return Ok(match tok_cookie.map(|c| verify_token(secret, session, c)) {
            Some(Ok(false)) => outcome(Reason::CsrfTokenValid, false),
            Some(Ok(true)) => outcome(Reason::CsrfTokenValid, true),
            _ => outcome(Reason::CsrfTokenIssued, true),
        });
    }
    let mut hv = headers.values_named(&t.header);
    let submitted = match (hv.next(), hv.next()) {
        (Some(h), None) => h,
        (Some(_), Some(_)) => return Err(Reason::CsrfTokenMismatch),
        // No header: a form post's token is in its body, read by the layer (urlencoded only)
        // or, with `defer-forms`, by the application. A body nobody read has no token that
        // verified: refused, whoever decides (the layer reads it and decides again).
        (None, _) => match (form_kind(headers), form) {
            (None, _) => return Err(Reason::CsrfTokenMissing),
            (Some(_), _) if t.defer_forms => return Ok(outcome(Reason::CsrfTokenDeferred, false)),
            (Some(Form::Other), _) => return Err(Reason::CsrfTokenFormUnsupported),
            (Some(Form::Urlencoded), FormBody::Unread) => return Err(Reason::CsrfTokenInForm),
            (Some(Form::Urlencoded), FormBody::TooLarge) => {
                return Err(Reason::CsrfTokenFormTooLarge)
            }
            (Some(Form::Urlencoded), FormBody::Unreadable) => {
                return Err(Reason::CsrfTokenFormInvalid)
            }
            (Some(Form::Urlencoded), FormBody::Read(body)) => {
                let mut field = [0u8; TOKEN_LEN];
                let v = form_field(body, &t.field, &mut field)?;
                check_submitted(secret, session, tok_cookie, v)?;
                return Ok(outcome(Reason::CsrfTokenValid, false));
            }
        },
    };
    check_submitted(secret, session, tok_cookie, submitted)?;
    Ok(outcome(Reason::CsrfTokenValid, false))
}

/// Go's `CrossOriginProtection.Check` with the policy's named choices (spec/language.md,
/// "csrf"). `Ok` carries why the request passes, `Err` why it is refused.
pub(crate) fn decide_csrf<H>(
    csrf: &Csrf,
    cors: Option<&Cors>,
    method: &str,
    path: &str,
    authority: Option<&str>,
    headers: &H,
) -> Result<Reason, Reason>
where
    H: HeaderLookup + ?Sized,
{
    if is_csrf_safe_method(method) {
        return Ok(Reason::CsrfSafeMethod);
    }
    // Only a structurally normal path is exempt, on a direct match of its bytes as sent: a
    // path the application could read otherwise (`//`, `%2F`, dot segments) never is, nor
    // one whose pattern part is escaped (`/%68ooks/x`), which a router on the raw path (axum)
    // does not read as the pattern.
    let exempt = || {
        if csrf.exempt.is_empty() {
            return false;
        }
        let mut bufs = PathBuffers::new();
        let Ok(PathForm::Normal(_)) = read_path(path, &mut bufs) else {
            return false;
        };
        let raw = path.split(['?', '#']).next().unwrap_or(path).as_bytes();
        csrf.exempt
            .iter()
            .any(|e| e.method.as_bytes() == method.as_bytes() && e.matches_path(raw))
    };
    let origin = single(headers, RequestHeader::Origin);
    // Trusted: listed, or allowed by the route's cors policy (never through `*`).
    let trusted = |o: &[u8]| {
        if csrf.trusted.get(o).is_some() || csrf.trusted_by_provided(o) {
            Some(Reason::CsrfTrustedOrigin)
        } else if cors.is_some_and(|c| !c.any_origin && c.match_origin(o).is_some()) {
            Some(Reason::CsrfCorsOrigin)
        } else {
            None
        }
    };
    let Ok(sfs) = single(headers, RequestHeader::SecFetchSite) else {
        return if exempt() {
            Ok(Reason::CsrfExempt)
        } else {
            Err(Reason::CsrfAmbiguousHeaders)
        };
    };
    match sfs {
        Some(b"same-origin" | b"none") => Ok(Reason::CsrfSameOrigin),
        Some(b"same-site") if csrf.allow_same_site => Ok(Reason::CsrfSameSite),
        Some(v) if !v.is_empty() => {
            if exempt() {
                return Ok(Reason::CsrfExempt);
            }
            match origin {
                Ok(Some(o)) => trusted(o).ok_or(Reason::CsrfCrossSite),
                _ => Err(Reason::CsrfCrossSite),
            }
        }
        _ => match origin {
            Ok(None) => {
                if csrf.reject_missing && !exempt() {
                    Err(Reason::CsrfMissingHeaders)
                } else {
                    Ok(Reason::CsrfNoBrowserHeaders)
                }
            }
            Err(()) => {
                if exempt() {
                    Ok(Reason::CsrfExempt)
                } else {
                    Err(Reason::CsrfAmbiguousHeaders)
                }
            }
            Ok(Some(o)) => {
                let own = if csrf.self_origins.is_empty() {
                    origin_authority(o).is_some_and(|a| {
                        RequestAuthority::read(authority, headers)
                            .get()
                            .is_some_and(|h| same_authority(a, h))
                    })
                } else {
                    csrf.self_origins.get(o).is_some()
                };
                if own {
                    Ok(Reason::CsrfOwnOrigin)
                } else if exempt() {
                    Ok(Reason::CsrfExempt)
                } else {
                    trusted(o).ok_or(Reason::CsrfOriginMismatch)
                }
            }
        },
    }
}
