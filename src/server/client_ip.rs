//! Who the client is: the socket's peer, unless that peer is one of the
//! operator's own reverse proxies (`PAYLINKS_TRUSTED_PROXIES`). Then the
//! client is the rightmost `X-Forwarded-For` hop that is not a trusted proxy:
//! everything left of it was written by the client and may be forged.

use std::net::IpAddr;

/// Networks whose forwarding headers are believed, e.g. `127.0.0.1, 10.0.0.0/8, ::1`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// A comma- or space-separated list of addresses and CIDR networks; empty trusts nobody.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut networks = Vec::new();
        for item in text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            let (address, prefix) = item.split_once('/').unwrap_or((item, ""));
            let ip: IpAddr = address.parse().map_err(|_| format!("{item:?} is not an IP address or network"))?;
            let ip = canonical(ip);
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = if prefix.is_empty() {
                max
            } else {
                prefix.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("{item:?} has a bad prefix length"))?
            };
            networks.push((ip, prefix));
        }
        Ok(TrustedProxies(networks))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(network, prefix)| in_network(ip, *network, *prefix))
    }

    /// The client's address, given the socket's peer and the `X-Forwarded-For`
    /// header values in the order received.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if self.contains(ip) => client = ip,
                Some(ip) => return ip,
                // Garbage in the chain: nothing left of it can be believed.
                None => return client,
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    None
}

/// IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn nobody_is_trusted_by_default() {
        let none = TrustedProxies::parse("").unwrap();
        assert!(none.is_empty());
        assert_eq!(none.client(ip("203.0.113.5"), &["1.2.3.4"]), ip("203.0.113.5"), "the header is ignored");
        assert_eq!(none.client(ip("127.0.0.1"), &["1.2.3.4"]), ip("127.0.0.1"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8 ::1").unwrap();
        // The client forged the leftmost hop; nginx appended the real one.
        assert_eq!(proxies.client(ip("127.0.0.1"), &["6.6.6.6, 198.51.100.7"]), ip("198.51.100.7"));
        // Two proxies: the inner one's hop is skipped.
        assert_eq!(proxies.client(ip("10.0.0.2"), &["6.6.6.6, 198.51.100.7, 10.0.0.1"]), ip("198.51.100.7"));
        // Several header lines count as one list.
        assert_eq!(proxies.client(ip("10.0.0.2"), &["6.6.6.6", "198.51.100.7:4711"]), ip("198.51.100.7"));
        assert_eq!(proxies.client(ip("::1"), &["[2001:db8::7]:443"]), ip("2001:db8::7"));
        // No header, or garbage right of the client: the last trusted address.
        assert_eq!(proxies.client(ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        assert_eq!(proxies.client(ip("10.0.0.2"), &["198.51.100.7, not-an-ip"]), ip("10.0.0.2"));
        assert_eq!(proxies.client(ip("::ffff:10.0.0.2"), &["198.51.100.7"]), ip("198.51.100.7"), "mapped IPv4 peers");
        // A peer outside the list is the client, whatever it claims.
        assert_eq!(proxies.client(ip("198.51.100.9"), &["1.2.3.4"]), ip("198.51.100.9"));
    }

    #[test]
    fn networks_parse_strictly() {
        let proxies = TrustedProxies::parse("192.168.0.0/16,fd00::/8").unwrap();
        assert!(proxies.contains(ip("192.168.44.1")));
        assert!(!proxies.contains(ip("192.169.0.1")));
        assert!(proxies.contains(ip("fd12::1")));
        assert!(!proxies.contains(ip("fe80::1")));
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["localhost", "10.0.0.0/33", "::/129", "10.0.0.0/x", "1.2.3"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }
}
