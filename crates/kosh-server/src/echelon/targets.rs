//! Where Kosh may send a merchant's callbacks (`callbackUrl`): a guard against a merchant
//! making Kosh call into the network it runs in (server-side request forgery).
//!
//! - Always: `http` or `https`, a host, and never a link-local address (`169.254.0.0/16`
//!   with the cloud metadata services, `fe80::/10`), an unspecified, multicast, broadcast
//!   or reserved address: no callback receiver lives there.
//! - Outside sandbox mode also never loopback (`127.0.0.0/8`, `::1`, `localhost`),
//!   private (`10/8`, `172.16/12`, `192.168/16`, `fc00::/7`), shared (`100.64/10`),
//!   benchmarking or documentation addresses, nor names that only an internal resolver
//!   answers (one label like `metadata`, `*.local`, `*.internal`, `*.localdomain`,
//!   `*.home.arpa`). Sandbox mode allows these: tests and local integration call back
//!   to `127.0.0.1` or a container next door.
//!
//! IP literals are read as the HTTP client reads them (`http://2130706433/`,
//! `http://0x7f.1/` and `http://[::ffff:127.0.0.1]/` are all 127.0.0.1), and addresses
//! embedded in IPv6 (mapped, NAT64, 6to4) are judged by their IPv4 address. A public
//! name that resolves to an internal address cannot be caught here (DNS answers can
//! change between this check and a delivery): filter the callback worker's egress.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a callback host is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A public address or name.
    Public,
    /// Loopback, private or internal-only: allowed in sandbox mode only.
    Local,
    /// Link-local, unspecified, multicast, broadcast or reserved: never allowed.
    Never,
}

/// Checks a callback URL; the error completes "callbackUrl …".
pub fn check_callback_url(text: &str, sandbox: bool) -> Result<(), String> {
    let not_http = || "must be an http:// or https:// URL".to_owned();
    if text.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(not_http());
    }
    let url = crate::service::Url::parse(text).map_err(|_| not_http())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(not_http());
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| "must name a host".to_owned())?;
    match (reach(host), sandbox) {
        (Reach::Public, _) | (Reach::Local, true) => Ok(()),
        (Reach::Local, false) => {
            Err(format!("must point at a public address: {host} is loopback, private or internal, allowed in sandbox mode only"))
        }
        (Reach::Never, _) => {
            Err(format!("must point at a public address: {host} is link-local, unspecified, multicast or reserved"))
        }
    }
}

/// What a URL's host (as `Url::host_str` writes it: IPv6 in brackets, IPv4 canonical,
/// names lower-case) is.
pub fn reach(host: &str) -> Reach {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return match v6.parse::<Ipv6Addr>() {
            Ok(ip) => reach_ip(IpAddr::V6(ip)),
            Err(_) => Reach::Never,
        };
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return reach_ip(ip);
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    const INTERNAL_SUFFIXES: &[&str] = &[".localhost", ".local", ".internal", ".localdomain", ".home.arpa"];
    if name == "localhost" || !name.contains('.') || INTERNAL_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        Reach::Local
    } else {
        Reach::Public
    }
}

pub fn reach_ip(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => reach_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let never = [
        ([0, 0, 0, 0], 8),      // "this network", 0.0.0.0 reaches the host itself
        ([169, 254, 0, 0], 16), // link-local, cloud metadata
        ([224, 0, 0, 0], 4),    // multicast
        ([240, 0, 0, 0], 4),    // reserved, broadcast
    ];
    let local = [
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10), // shared (carrier-grade NAT)
        ([127, 0, 0, 0], 8),
        ([172, 16, 0, 0], 12),
        ([192, 0, 0, 0], 24), // IETF protocol assignments
        ([192, 0, 2, 0], 24), // documentation
        ([192, 168, 0, 0], 16),
        ([198, 18, 0, 0], 15), // benchmarking
        ([198, 51, 100, 0], 24),
        ([203, 0, 113, 0], 24),
    ];
    if never.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix)) {
        Reach::Never
    } else if local.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix)) {
        Reach::Local
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    let s = ip.segments();
    if ip.is_loopback() {
        return Reach::Local;
    }
    if ip.is_unspecified() || ip.is_multicast() || (s[0] & 0xffc0) == 0xfe80 {
        return Reach::Never;
    }
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64
    // (64:ff9b::a.b.c.d), 6to4 (2002:aabb:ccdd::).
    let low_v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return reach_v4(low_v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return reach_v4(low_v4);
    }
    if s[0] == 0x2002 {
        return reach_v4(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    let unique_local = (s[0] & 0xfe00) == 0xfc00;
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
    if unique_local || documentation {
        Reach::Local
    } else {
        Reach::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_classified() {
        for public in ["203.0.114.9", "8.8.8.8", "shop.example.com", "[2606:4700::1111]", "100.128.0.1", "172.32.0.1"] {
            assert_eq!(reach(public), Reach::Public, "{public}");
        }
        for local in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "[::1]",
            "[fd00::1]",
            "[::ffff:7f00:1]",
            "[64:ff9b::a00:1]",
            "[2002:c0a8:101::]",
            "localhost",
            "api.localhost",
            "localhost.",
            "metadata",
            "printer.local",
            "db.internal",
        ] {
            assert_eq!(reach(local), Reach::Local, "{local}");
        }
        for never in ["169.254.169.254", "0.0.0.0", "0.1.2.3", "224.0.0.1", "255.255.255.255", "[::]", "[fe80::1]", "[ff02::1]"] {
            assert_eq!(reach(never), Reach::Never, "{never}");
        }
    }

    #[test]
    fn urls_are_read_as_the_client_reads_them() {
        let refused = |url: &str| check_callback_url(url, false).is_err();
        for sneaky in [
            "http://2130706433/cb",
            "http://0x7f.1/cb",
            "http://0177.0.0.1/cb",
            "http://127.1/cb",
            "http://[::ffff:127.0.0.1]/cb",
            "http://LOCALHOST:8080/cb",
            "http://user:pw@10.0.0.1/cb",
            "http://169.254.169.254/latest/meta-data",
        ] {
            assert!(refused(sneaky), "{sneaky}");
        }
        assert!(check_callback_url("https://shop.example.com/cb?x=1", false).is_ok());
        assert!(check_callback_url("http://127.0.0.1:9/cb", true).is_ok(), "sandbox mode calls back to loopback");
        assert!(check_callback_url("http://169.254.169.254/", true).is_err(), "never the metadata service");
        for bad in
            ["ftp://shop.example.com/cb", "file:///etc/passwd", "gopher://x/", "http://", "shop.example.com/cb", "http://a b/"]
        {
            assert!(check_callback_url(bad, true).is_err(), "{bad}");
        }
    }
}
