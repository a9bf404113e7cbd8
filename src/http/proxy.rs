//! Which forward proxy a request to a registry goes through, read from the environment the
//! way curl and Go's `net/http` read it, so that a machine where `curl` and `docker` reach the
//! registry needs nothing more for packpub.
//!
//! - `https://` URLs use `https_proxy`, else `HTTPS_PROXY`; `http://` URLs use `http_proxy`,
//!   else `HTTP_PROXY` (ignored in a CGI program, `REQUEST_METHOD` set: the httpoxy rule both
//!   follow). A value without a scheme is `http://`.
//! - `no_proxy`, else `NO_PROXY`: comma-separated entries, spaces ignored, any case. `*` means
//!   no proxy at all; an IP address or CIDR block matches IP hosts; a domain (with or without a
//!   leading `.` or `*.`) matches itself and its subdomains; either with `:port` (`[v6]:port`)
//!   matches on that port only.
//! - `localhost` and loopback addresses are never proxied, as Go (docker, oras, skopeo, Palette)
//!   has it: a proxy elsewhere cannot reach this machine's loopback. curl would send them to
//!   the proxy; no user wants that.
//!
//! reqwest's own reading of these variables ignores ports in `no_proxy`, so packpub decides.

use reqwest::Url;
use std::net::IpAddr;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proxies {
    https: Option<Url>,
    http: Option<Url>,
    bypass: Vec<Bypass>,
    everything_bypassed: bool,
}

/// One `no_proxy` entry.
#[derive(Debug, Clone, PartialEq)]
enum Bypass {
    /// An address or block, on any port or one.
    Net(IpAddr, u8, Option<u16>),
    /// A domain and its subdomains, on any port or one.
    Domain(String, Option<u16>),
}

impl Proxies {
    /// The proxies this process's environment names.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let cgi = get("REQUEST_METHOD").is_some();
        let url = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| get(n))
                .and_then(|v| parse_proxy(&v))
        };
        let http_names: &[&str] = if cgi {
            &["http_proxy"]
        } else {
            &["http_proxy", "HTTP_PROXY"]
        };
        let no_proxy = get("no_proxy")
            .or_else(|| get("NO_PROXY"))
            .unwrap_or_default();
        let entries: Vec<String> = no_proxy
            .split(',')
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        Self {
            https: url(&["https_proxy", "HTTPS_PROXY"]),
            http: url(http_names),
            everything_bypassed: entries.iter().any(|e| e == "*"),
            bypass: entries.iter().filter_map(|e| parse_bypass(e)).collect(),
        }
    }

    /// The proxy for `url`, if any.
    pub fn for_url(&self, url: &Url) -> Option<&Url> {
        let proxy = match url.scheme() {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }?;
        let host = url
            .host_str()?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        let port = url.port_or_known_default()?;
        let loopback =
            host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback
            || self.everything_bypassed
            || self.bypass.iter().any(|b| b.matches(&host, port))
        {
            return None;
        }
        Some(proxy)
    }
}

impl Bypass {
    fn matches(&self, host: &str, port: u16) -> bool {
        let (found, wanted) = match self {
            Bypass::Net(net, bits, wanted) => (
                host.parse::<IpAddr>()
                    .is_ok_and(|ip| in_net(ip, *net, *bits)),
                wanted,
            ),
            Bypass::Domain(domain, wanted) => (
                host == domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|rest| rest.ends_with('.')),
                wanted,
            ),
        };
        found && wanted.is_none_or(|wanted| wanted == port)
    }
}

/// A proxy setting as a URL: `http://` when it names no scheme; `None` when it is no URL.
fn parse_proxy(value: &str) -> Option<Url> {
    let value = value.trim();
    let with_scheme = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{value}")
    };
    Url::parse(&with_scheme).ok().filter(|u| u.host().is_some())
}

fn parse_bypass(entry: &str) -> Option<Bypass> {
    if entry == "*" {
        return None;
    }
    if let Some((ip, bits)) = entry.split_once('/') {
        let ip: IpAddr = ip.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return bits
            .parse::<u8>()
            .ok()
            .filter(|b| *b <= max)
            .map(|bits| Bypass::Net(ip, bits, None));
    }
    // A bare IPv6 address has colons but no port.
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) if entry.parse::<IpAddr>().is_err() => (host, Some(port.parse().ok()?)),
        _ => (entry, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Bypass::Net(ip, if ip.is_ipv4() { 32 } else { 128 }, port));
    }
    let domain = host.trim_start_matches("*.").trim_start_matches('.');
    (!domain.is_empty()).then(|| Bypass::Domain(domain.to_string(), port))
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// `scheme://host:port` of a proxy, without the credentials its URL may carry.
pub fn shown(proxy: &Url) -> String {
    let host = proxy.host_str().unwrap_or_default();
    match proxy.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", proxy.scheme()),
        None => format!("{}://{host}", proxy.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Proxies::from_lookup(|name| vars.get(name).cloned())
    }

    fn via(p: &Proxies, url: &str) -> Option<String> {
        p.for_url(&Url::parse(url).unwrap()).map(shown)
    }

    #[test]
    fn the_scheme_picks_the_variable_lower_case_first() {
        let p = proxies(&[
            ("HTTPS_PROXY", "upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("HTTP_PROXY", "http://plain:8080"),
        ]);
        assert_eq!(
            via(&p, "https://r.io/v2/").as_deref(),
            Some("http://lower:3128")
        );
        assert_eq!(
            via(&p, "http://r.io/v2/").as_deref(),
            Some("http://plain:8080")
        );
        let p = proxies(&[("HTTPS_PROXY", "upper:3128")]);
        assert_eq!(
            via(&p, "https://r.io/").as_deref(),
            Some("http://upper:3128")
        );
        assert_eq!(via(&p, "http://r.io/"), None);
        // httpoxy: a CGI request's `Proxy:` header becomes HTTP_PROXY; never trusted then.
        let p = proxies(&[("HTTP_PROXY", "evil:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(via(&p, "http://r.io/"), None);
        assert_eq!(proxies(&[]), Proxies::default());
    }

    #[test]
    fn no_proxy_entries_match_as_curl_and_go_match_them() {
        let p = proxies(&[
            ("https_proxy", "http://proxy:3128"),
            ("http_proxy", "http://proxy:3128"),
            (
                "NO_PROXY",
                " Example.com, .corp.io ,registry:5000, 10.0.0.0/8, 192.168.1.7, [fd00::1]:8443, *.star.io, ::2",
            ),
        ]);
        for direct in [
            "https://example.com/",
            "https://a.b.example.com/",
            "https://corp.io/",
            "https://x.corp.io/",
            "http://registry:5000/",
            "https://10.2.3.4/",
            "https://192.168.1.7:5000/",
            "https://[fd00::1]:8443/",
            "https://[::2]/",
            "http://a.registry:5000/",
            // Loopback, always.
            "https://127.0.0.1/",
            "https://127.1.2.3:5000/",
            "https://localhost:5000/",
            "https://[::1]:5000/",
            "https://star.io/",
            "https://a.star.io/",
        ] {
            assert_eq!(via(&p, direct), None, "{direct}");
        }
        for proxied in [
            "https://notexample.com/",
            "https://registry:5001/",
            "https://registry/",
            "https://11.0.0.1/",
            "https://192.168.1.8/",
            "https://[fd00::1]:8444/",
            "https://localhost.example/",
        ] {
            assert!(via(&p, proxied).is_some(), "{proxied}");
        }
        let p = proxies(&[("https_proxy", "proxy:1"), ("no_proxy", "a.io,*")]);
        assert_eq!(via(&p, "https://anything/"), None);
        // Lower case wins over upper case, as for the proxies themselves.
        let p = proxies(&[
            ("https_proxy", "proxy:1"),
            ("no_proxy", "a.io"),
            ("NO_PROXY", "b.io"),
        ]);
        assert_eq!(via(&p, "https://a.io/"), None);
        assert!(via(&p, "https://b.io/").is_some());
    }

    #[test]
    fn credentials_in_a_proxy_url_are_never_shown() {
        let p = proxies(&[("https_proxy", "http://user:secret@proxy:3128")]);
        let url = p.for_url(&Url::parse("https://r.io/").unwrap()).unwrap();
        assert_eq!(url.password(), Some("secret"));
        assert_eq!(shown(url), "http://proxy:3128");
    }
}
