//! Webhook URLs a provider may set: parsed with the `url` crate (WHATWG rules, so
//! `http://2130706433/` is `127.0.0.1` and `http://localhost@evil.example/` has the host
//! `evil.example`), never matched as strings; then every address the host resolves to is
//! checked, because the server itself will connect there.
//!
//! Refused: anything but `https` (plain `http` only to loopback, and only when the development
//! setting allows loopback), user info in the URL, and hosts that resolve to loopback,
//! private (RFC 1918, unique-local), link-local (which holds cloud metadata at
//! 169.254.169.254), shared (100.64/10, Alibaba's metadata at 100.100.100.200), unspecified,
//! broadcast, multicast, documentation, benchmarking or reserved addresses — also when an IPv6
//! address embeds such an IPv4 one (mapped, NAT64, 6to4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use url::{Host, Url};

use crate::base::error::ApiError;

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// How long resolving the host may take.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::Invalid {
        code: "webhook_url_invalid",
        message: message.into(),
    }
}

/// What an address is, for a webhook's purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Reachable on the public internet.
    Public,
    /// This machine.
    Loopback,
    /// Anything else a server must not be made to call: private, link-local (metadata),
    /// shared, unspecified, broadcast, multicast, documentation, reserved.
    Internal,
}

/// Classifies an address (see the module documentation).
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    let internal = ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0                                   // "this network"
        || (a == 100 && (64..128).contains(&b))     // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0)           // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b))      // benchmarking
        || a >= 240; // reserved
    if internal {
        AddressClass::Internal
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address a gateway will reach.
    if segments[0] == 0x64 && segments[1] == 0xff9b && segments[2..6] == [0; 4] {
        let [.., hi, lo] = segments;
        return classify_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    if segments[0] == 0x2002 {
        return classify_v4(Ipv4Addr::from(
            (u32::from(segments[1]) << 16) | u32::from(segments[2]),
        ));
    }
    let internal = ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00             // unique local (fd00:ec2::254 is metadata)
        || (segments[0] & 0xffc0) == 0xfe80             // link-local
        || (segments[0] & 0xffc0) == 0xfec0             // site-local (deprecated)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[..6] == [0; 6]; // IPv4-compatible (deprecated)
    if internal {
        AddressClass::Internal
    } else {
        AddressClass::Public
    }
}

/// Checks a webhook URL and every address its host resolves to; the parsed URL when it may be
/// called.
pub async fn check(text: &str, allow_loopback: bool) -> Result<Url, ApiError> {
    if text.len() > MAX_URL_LEN {
        return Err(invalid(format!(
            "a webhook URL is at most {MAX_URL_LEN} characters"
        )));
    }
    let url = Url::parse(text).map_err(|e| invalid(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("a webhook URL is https://"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("a webhook URL carries no user name or password"));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match url.host() {
        None => return Err(invalid("a webhook URL needs a host")),
        Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(Host::Domain(domain)) => {
            let lookup = tokio::net::lookup_host((domain, port));
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                Ok(Err(_)) | Err(_) => {
                    return Err(invalid(format!("the host {domain} does not resolve")))
                }
            }
        }
    };
    if addresses.is_empty() {
        return Err(invalid("the host resolves to no address"));
    }
    let mut all_loopback = true;
    for ip in &addresses {
        match classify(*ip) {
            AddressClass::Public => all_loopback = false,
            AddressClass::Loopback if allow_loopback => {}
            AddressClass::Loopback => {
                return Err(invalid(
                    "the host is this machine (loopback), which webhooks may not call",
                ))
            }
            AddressClass::Internal => {
                return Err(invalid(format!(
                    "the host resolves to {ip}, a private, link-local or reserved address"
                )))
            }
        }
    }
    if url.scheme() == "http" && !all_loopback {
        return Err(invalid(
            "a webhook URL is https:// (http:// only on loopback)",
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> AddressClass {
        classify(text.parse().unwrap())
    }

    #[test]
    fn addresses_are_classified() {
        for public in ["93.184.216.34", "8.8.8.8", "2606:2800:220:1::1"] {
            assert_eq!(class(public), AddressClass::Public, "{public}");
        }
        for loopback in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(class(loopback), AddressClass::Loopback, "{loopback}");
        }
        for internal in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2001:db8::1",
            "::10.0.0.1",
        ] {
            assert_eq!(class(internal), AddressClass::Internal, "{internal}");
        }
    }

    #[tokio::test]
    async fn urls_are_parsed_not_matched() {
        for bad in [
            "http://127.0.0.1.evil.invalid/h",
            "http://localhost@evil.invalid/h",
            "https://169.254.169.254/latest",
            "https://u:p@93.184.216.34/",
            "ftp://93.184.216.34/",
            "https://2130706433/",
            "https://0x7f000001/",
            "http://93.184.216.34/",
            "https:///nohost",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                check(bad, false).await.unwrap_err().code(),
                "webhook_url_invalid",
                "{bad}"
            );
        }
        assert!(check("https://93.184.216.34/hooks", false).await.is_ok());
        assert!(check("http://127.0.0.1:9/h", false).await.is_err());
        assert!(check("http://127.0.0.1:9/h", true).await.is_ok());
        assert!(check("http://[::1]:9/h", true).await.is_ok());
        assert!(
            check("https://10.0.0.1/h", true).await.is_err(),
            "allowing loopback allows nothing else"
        );
        assert!(check(
            &format!("https://93.184.216.34/{}", "a".repeat(2048)),
            false
        )
        .await
        .is_err());
    }
}
