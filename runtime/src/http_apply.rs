//! Applying a [`Decision`] to an `http::HeaderMap` (feature `http`): the framework-free half of
//! the tower layer.

use http::header::{HeaderMap, HeaderName as HttpName, HeaderValue, VARY};

use crate::eval::{Decision, HeaderName};

fn http_name(n: HeaderName) -> HttpName {
    use http::header;
    match n {
        HeaderName::AllowOrigin => header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderName::AllowCredentials => header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderName::AllowMethods => header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderName::AllowHeaders => header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderName::MaxAge => header::ACCESS_CONTROL_MAX_AGE,
        HeaderName::ExposeHeaders => header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderName::Vary => header::VARY,
    }
}

fn vary_has_origin(map: &HeaderMap) -> bool {
    map.get_all(VARY).iter().any(|v| {
        v.as_bytes().split(|&b| b == b',').any(|t| {
            let t = t.trim_ascii();
            t.eq_ignore_ascii_case(b"origin") || t == b"*"
        })
    })
}

impl Decision<'_> {
    /// Applies the decision to response headers. On a route governed by a CORS policy, every
    /// `Access-Control-*` header the application set is removed first, so the policy's headers
    /// replace them and are never duplicated. `Vary: Origin` is appended, never overwriting the
    /// application's `Vary`, and not repeated when it is already there.
    pub fn apply_to_headers(&self, map: &mut HeaderMap) {
        if self.cors.is_some() {
            let app_set: Vec<HttpName> = map
                .keys()
                .filter(|k| k.as_str().starts_with("access-control-"))
                .cloned()
                .collect();
            for k in app_set {
                map.remove(k);
            }
        }
        for h in self.headers() {
            let Ok(value) = HeaderValue::from_bytes(h.value) else {
                continue;
            };
            let name = http_name(h.name);
            if h.name == HeaderName::Vary {
                if !vary_has_origin(map) {
                    map.append(name, value);
                }
            } else if h.append {
                map.append(name, value);
            } else {
                map.insert(name, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{CorsSpec, Policy, RouteSpec};
    use http::HeaderMap;

    #[test]
    fn replaces_app_cors_headers_and_appends_vary() {
        let p = Policy::build(
            vec![RouteSpec {
                pattern: "/*".into(),
                cors: Some(0),
            }],
            vec![CorsSpec {
                name: "a".into(),
                origins: vec!["https://a.test".into()],
                ..Default::default()
            }],
        )
        .unwrap();
        let req = [("origin", "https://a.test")];
        let d = p.decide("GET", "/x", &req[..]);
        let mut resp = HeaderMap::new();
        resp.insert("access-control-allow-origin", "*".parse().unwrap());
        resp.append(
            "access-control-allow-origin",
            "https://evil.test".parse().unwrap(),
        );
        resp.insert("access-control-allow-methods", "DELETE".parse().unwrap());
        resp.insert("vary", "Accept-Encoding".parse().unwrap());
        d.apply_to_headers(&mut resp);
        let acao: Vec<_> = resp.get_all("access-control-allow-origin").iter().collect();
        assert_eq!(acao, ["https://a.test"]);
        assert!(resp.get("access-control-allow-methods").is_none());
        let vary: Vec<_> = resp.get_all("vary").iter().collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);
        // Applying twice (two layers) never duplicates anything.
        d.apply_to_headers(&mut resp);
        assert_eq!(resp.get_all("vary").iter().count(), 2);
        assert_eq!(
            resp.get_all("access-control-allow-origin").iter().count(),
            1
        );
    }
}
