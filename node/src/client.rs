//! Who a request comes from, for the limits that are kept per client: the peer address the
//! serving loop accepted the connection from (`ConnectInfo`), with IPv6 clients grouped by their
//! /64, since one host commonly holds a whole /64.
//!
//! The node is meant to face clients directly; behind a proxy every client would share the
//! proxy's address, and forwarded-for headers are not trusted (anyone can write them).

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// The client's address as limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The address `peer` is counted under.
    pub fn of(peer: IpAddr) -> ClientAddr {
        match peer.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                ClientAddr(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
            v4 => ClientAddr(v4),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Requests served in-process without a connection (tests) count as one client.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        Ok(ClientAddr::of(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientAddr::of(a), ClientAddr::of(b));
        assert_ne!(ClientAddr::of(a), ClientAddr::of(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ClientAddr::of(mapped).0, IpAddr::from([192, 0, 2, 7]));
    }
}
