//! Where a request comes from, as the audit log records it.

use actix_web::HttpRequest;
use gatehouse_domain::Origin;

use crate::client_address::TrustedProxies;
use crate::request_id::XRequestId;

/// The client's address (the peer's, or the one a trusted proxy forwarded) and the request's id.
pub fn origin_of(request: &HttpRequest, proxies: &TrustedProxies) -> Origin {
    Origin {
        address: proxies.client_of(request),
        request_id: Some(XRequestId::of(request).0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_origin_is_the_peer_and_the_requests_own_id() {
        let request = TestRequest::default()
            .peer_addr("192.0.2.9:4000".parse().unwrap())
            .insert_header(("X-Request-Id", "abc-1"))
            .to_http_request();
        let origin = origin_of(&request, &TrustedProxies::default());
        assert_eq!(origin.address, Some("192.0.2.9".parse().unwrap()));
        // Outside the middleware, the id is made up once and kept for the request.
        let id = origin.request_id.unwrap();
        assert_eq!(
            Some(id),
            origin_of(&request, &TrustedProxies::default()).request_id
        );
    }
}
