//! The WebSocket decider (spec/language.md section 7a): a handshake's `Origin` against the
//! route's websocket policy.

use crate::decision::Decision;
use crate::guards::WebSocket;
use crate::headers::{single, HeaderLookup, RequestHeader};
use crate::host::{same_authority, RequestAuthority};
use crate::origin::origin_authority;
use crate::reason::{Kind, Reason};

/// A WebSocket opening handshake: `GET` with `websocket` among the `Upgrade` tokens.
pub(crate) fn is_websocket_upgrade<H>(method: &str, headers: &H) -> bool
where
    H: HeaderLookup + ?Sized,
{
    method == "GET"
        && headers.values(RequestHeader::Upgrade).any(|v| {
            v.split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"websocket"))
        })
}

pub(crate) fn decide_websocket<'a, H>(
    ws: &'a WebSocket,
    authority: Option<&'a str>,
    headers: &'a H,
    d: &mut Decision<'a>,
) where
    H: HeaderLookup + ?Sized,
{
    match single(headers, RequestHeader::Origin) {
        Err(()) => d.set(Kind::WebsocketRejected, Reason::MultipleOrigins),
        Ok(None) if ws.allow_missing => d.set(Kind::WebsocketAllowed, Reason::WebsocketNoOrigin),
        Ok(None) => d.set(Kind::WebsocketRejected, Reason::WebsocketMissingOrigin),
        Ok(Some(o)) => {
            if let Some(m) = ws.match_origin(o) {
                d.set(Kind::WebsocketAllowed, Reason::WebsocketOriginAllowed);
                d.origin_match = Some(m);
                return;
            }
            if ws.same_origin {
                let request = RequestAuthority::read(authority, headers).get();
                if let (Some(a), Some(h)) = (origin_authority(o), request) {
                    if same_authority(a, h) {
                        return d.set(Kind::WebsocketAllowed, Reason::WebsocketSameOrigin);
                    }
                }
            }
            d.set(Kind::WebsocketRejected, Reason::WebsocketOriginNotAllowed);
        }
    }
}
