//! The address a request comes from, for throttling failed logins: the TCP peer's, or, when the
//! peer is a proxy we trust, the address that proxy says it received the request from.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::{HeaderValue, X_FORWARDED_FOR};
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`); by default none, so that
/// no client can pick the address it is counted under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts the proxies in `networks`.
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    /// Reads `TRUSTED_PROXIES`: entries separated by commas, empty ones ignored, so that an empty
    /// list trusts no one.
    ///
    /// # Errors
    /// A sentence naming the first entry that is neither an address nor a network.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .filter(|entry| !entry.trim().is_empty())
            .map(Self::parse_entry)
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Reads one entry of `TRUSTED_PROXIES`: an address (`10.0.0.7`, `::1`) or a network in CIDR
    /// notation (`10.0.0.0/8`), spaces around it ignored.
    ///
    /// # Errors
    /// A sentence naming the entry when it is neither.
    pub fn parse_entry(raw: &str) -> Result<IpNet, String> {
        let raw = raw.trim();
        raw.parse::<IpNet>()
            .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("{raw:?} is neither an IP address nor a network in CIDR notation"))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client address of `request`; `None` when the peer is unknown (no TCP connection, as in
    /// some tests).
    pub fn client_of(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = request.peer_addr()?.ip();
        let forwarded = request.headers().get_all(X_FORWARDED_FOR);
        Some(self.client_address(peer, forwarded))
    }

    /// The client address of a request from `peer` carrying the `X-Forwarded-For` headers
    /// `forwarded` (in the order received).
    ///
    /// Only a trusted peer is believed: then the entries are read from the right (the one its
    /// peer was), skipping those that are trusted proxies too, and the first other one is the
    /// client. An entry that is not an address stops the reading: the client is then the last
    /// proxy read, which is the one that passed the entry on. When every entry is a trusted proxy,
    /// the client is the left-most. IPv4 addresses mapped into IPv6 are read as IPv4.
    pub fn client_address<'a>(
        &self,
        peer: IpAddr,
        forwarded: impl IntoIterator<Item = &'a HeaderValue>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let entries: Vec<Option<&str>> = forwarded
            .into_iter()
            .flat_map(|value| match value.to_str() {
                Ok(text) => text
                    .split(',')
                    .map(str::trim)
                    .filter(|entry| !entry.is_empty())
                    .map(Some)
                    .collect(),
                Err(_) => vec![None],
            })
            .collect();
        for entry in entries.into_iter().rev() {
            let Some(address) = entry.and_then(parse_address) else {
                return client;
            };
            client = address.to_canonical();
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// An address as proxies write it: bare, or with a port (`192.0.2.7:4711`, `[2001:db8::1]:4711`).
fn parse_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    fn proxies(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            entries
                .iter()
                .map(|entry| TrustedProxies::parse_entry(entry).unwrap())
                .collect(),
        )
    }

    fn client(trusted: &TrustedProxies, peer: &str, headers: &[&[u8]]) -> IpAddr {
        let values: Vec<HeaderValue> = headers
            .iter()
            .map(|raw| HeaderValue::from_bytes(raw).unwrap())
            .collect();
        trusted.client_address(ip(peer), &values)
    }

    #[test]
    fn entries_are_addresses_or_networks() {
        assert_eq!(
            TrustedProxies::parse_entry(" 10.0.0.7 ")
                .unwrap()
                .to_string(),
            "10.0.0.7/32"
        );
        assert_eq!(
            TrustedProxies::parse_entry("::1").unwrap().to_string(),
            "::1/128"
        );
        assert_eq!(
            TrustedProxies::parse_entry("10.0.0.0/8")
                .unwrap()
                .to_string(),
            "10.0.0.0/8"
        );
        let error = TrustedProxies::parse_entry("proxy.local").unwrap_err();
        assert!(error.contains("proxy.local"), "{error}");
        assert!(TrustedProxies::parse_entry("10.0.0.0/33").is_err());
    }

    #[test]
    fn a_list_is_entries_separated_by_commas_and_may_be_empty() {
        assert_eq!(
            TrustedProxies::parse("").unwrap(),
            TrustedProxies::default()
        );
        assert_eq!(
            TrustedProxies::parse(" , ").unwrap(),
            TrustedProxies::default()
        );
        assert_eq!(
            TrustedProxies::parse("127.0.0.1, 10.0.0.0/8,").unwrap(),
            proxies(&["127.0.0.1/32", "10.0.0.0/8"])
        );
        let error = TrustedProxies::parse("127.0.0.1,10.0.0.0/8/8").unwrap_err();
        assert!(error.contains("10.0.0.0/8/8"), "{error}");
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client(&trusted, "192.0.2.7", &[b"198.51.100.1"]),
            ip("192.0.2.7")
        );
        assert_eq!(
            client(&TrustedProxies::default(), "127.0.0.1", &[b"198.51.100.1"]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        // The client forged the first entry; the proxies added the others.
        assert_eq!(
            client(
                &trusted,
                "127.0.0.1",
                &[b"203.0.113.9, 198.51.100.1, 10.0.0.2"]
            ),
            ip("198.51.100.1")
        );
        // Several headers read as one list, in order.
        assert_eq!(
            client(&trusted, "10.0.0.1", &[b"203.0.113.9", b"198.51.100.1"]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        let trusted = proxies(&["127.0.0.1"]);
        assert_eq!(client(&trusted, "127.0.0.1", &[]), ip("127.0.0.1"));
    }

    #[test]
    fn when_every_entry_is_trusted_the_left_most_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client(&trusted, "10.0.0.1", &[b"10.0.0.3, 10.0.0.2"]),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn an_entry_that_is_no_address_stops_at_the_proxy_that_passed_it_on() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            client(&trusted, "10.0.0.1", &[b"198.51.100.1, unknown, 10.0.0.2"]),
            ip("10.0.0.2")
        );
        assert_eq!(
            client(&trusted, "10.0.0.1", &[b"198.51.100.1", b"\xff"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ports_and_mapped_addresses_are_read_as_plain_addresses() {
        let trusted = proxies(&["127.0.0.1"]);
        assert_eq!(
            client(&trusted, "::ffff:127.0.0.1", &[b"198.51.100.1:4711"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client(&trusted, "127.0.0.1", &[b"[2001:db8::1]:4711"]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client(&trusted, "127.0.0.1", &[b"::ffff:198.51.100.1"]),
            ip("198.51.100.1")
        );
    }
}
