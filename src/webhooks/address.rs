//! Where a webhook may be sent: an `https` URL on a public address. Private, loopback,
//! link-local, shared, documentation and metadata addresses are refused (server-side request
//! forgery: an endpoint URL must not make Switchboard call into its own network), when the URL
//! is saved and again at every connection (the resolver below), so a name that later resolves
//! elsewhere is caught too. `WEBHOOK_ALLOW_INSECURE` lifts both rules for development.
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::error::{Error, Result};

/// Whether Switchboard may call this address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4-mapped and -compatible addresses are their IPv4 address.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10.
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                // Documentation 2001:db8::/32; NAT64 64:ff9b::/96 can reach IPv4 space.
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                || (first == 0x0064 && v6.segments()[1] == 0xff9b))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: includes the cloud metadata address
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Parses and checks an endpoint URL; `field` names it in the error.
pub fn parse(field: &str, raw: &str, allow_insecure: bool) -> Result<Url> {
    if raw.len() > 2000 {
        return Err(Error::invalid(field, "must be at most 2000 characters"));
    }
    let url = Url::parse(raw).map_err(|_| Error::invalid(field, "must be an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure => {}
        "http" => {
            return Err(Error::invalid(
                field,
                "must use https (http is allowed only with WEBHOOK_ALLOW_INSECURE, for development)",
            ));
        }
        _ => return Err(Error::invalid(field, "must be an https URL")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            field,
            "must not carry a user name or password",
        ));
    }
    if url.fragment().is_some() {
        return Err(Error::invalid(field, "must not have a fragment"));
    }
    let host = url
        .host()
        .ok_or_else(|| Error::invalid(field, "must name a host"))?;
    if !allow_insecure {
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost"
                    || name.ends_with(".localhost")
                    || name.ends_with(".internal")
                {
                    return Err(private(field));
                }
                None
            }
        };
        if literal.is_some_and(|ip| !is_public(ip)) {
            return Err(private(field));
        }
    }
    Ok(url)
}

fn private(field: &str) -> Error {
    Error::invalid(
        field,
        "must not point at a private, loopback, link-local or metadata address",
    )
    .with_code("webhook_url_not_public")
}

/// Resolves the URL's host now and refuses it when no address is public (saved URLs are checked
/// again at each connection).
pub async fn check_resolves_public(field: &str, url: &Url) -> Result<()> {
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| Error::invalid(field, "names a host that does not resolve"))?
        .collect();
    if addrs.is_empty() || !addrs.iter().any(|a| is_public(a.ip())) {
        return Err(private(field));
    }
    Ok(())
}

/// The webhook client's resolver: only public addresses are returned, so a connection can never
/// reach a private one whatever the name resolves to at that moment.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether this URL's host is an address literal that may not be called (the resolver does not
/// see literals).
pub fn literal_is_private(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must not be public");
        }
        for ip in ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn urls_must_be_https_on_a_public_host_unless_insecure_is_allowed() {
        assert!(parse("url", "https://crm.example.com/hooks", false).is_ok());
        for bad in [
            "http://crm.example.com/hooks",
            "ftp://crm.example.com",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost:8443/x",
            "https://user:pw@crm.example.com/",
            "not a url",
        ] {
            let err = parse("url", bad, false).unwrap_err();
            assert_eq!(err.errors[0].field, "url", "{bad}");
        }
        assert!(parse("url", "http://127.0.0.1:9000/hooks", true).is_ok());
    }
}
