//! Registry host names, spelled one way. Credentials are stored and found by host, and targets
//! name a host, so both `credentials/` and `registry/` normalise through this one module:
//! `https://Harbor.Example.com:443/` and `harbor.example.com` are the same registry.

/// A registry host as a user or a config file may write it (`https://Harbor.Example.com/`,
/// `harbor.example.com:443`, `https://index.docker.io/v1/`), normalised.
pub fn from_url(input: &str) -> Result<String, String> {
    let bare = input.split_once("://").map_or(input, |(_, rest)| rest);
    normalize(bare.split('/').next().unwrap_or_default())
}

/// Whether a config key (`https://host/v1/`, `host:443`, `Host`) names `host` (normalised).
pub fn same(key: &str, host: &str) -> bool {
    from_url(key).is_ok_and(|k| k == host)
}

/// One spelling per registry: lower case, no `:443`, docker.io's aliases folded. A name is
/// letters, digits, '-' and '.', or an IPv6 address in brackets; one `:PORT` may follow. Every
/// spelling this returns parses again to itself.
pub fn normalize(host: &str) -> Result<String, String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let (address, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("has an unclosed '[' in {host:?}"))?;
        let ipv6 = |c: char| c.is_ascii_hexdigit() || c == ':' || c == '.';
        if address.is_empty() || !address.chars().all(ipv6) {
            return Err(format!("has an invalid IPv6 address [{address}]"));
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                format!("has {after:?} after the IPv6 address; only :PORT may follow")
            })?),
        };
        (&host[..address.len() + 2], port)
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host.as_str(), None),
        }
    };
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!(
            "has {port:?} after ':', which is neither a port nor allowed here (no tags in the registry)"
        ));
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if name.is_empty() || (!name.starts_with('[') && !name.chars().all(valid)) {
        return Err(format!("has an invalid host name {name:?}"));
    }
    let name = match name {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    };
    Ok(match port {
        Some("443") | None => name.to_string(),
        Some(port) => format!("{name}:{port}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_per_registry() {
        for spelling in [
            "harbor.example.com",
            "Harbor.Example.com",
            "harbor.example.com:443",
            "https://harbor.example.com/",
            "https://harbor.example.com:443/v2/",
        ] {
            assert_eq!(
                from_url(spelling).unwrap(),
                "harbor.example.com",
                "{spelling}"
            );
        }
        assert_eq!(
            from_url("https://index.docker.io/v1/").unwrap(),
            "docker.io"
        );
        assert_eq!(normalize("localhost:5000").unwrap(), "localhost:5000");
        assert!(same("http://LOCALHOST:5000", "localhost:5000"));
        assert!(normalize("host:abc").is_err());
        // Found by fuzzing: a tag before the port, and IPv6 with the default port.
        assert!(normalize("harbor.example.com:abc:443").is_err());
        assert!(normalize("harbor.example.com:abc:5000").is_err());
        assert_eq!(normalize("[::1]:443").unwrap(), "[::1]");
        assert_eq!(normalize("[::1]").unwrap(), "[::1]");
        assert_eq!(normalize("[::1]:5000").unwrap(), "[::1]:5000");
        assert!(normalize("[::1]x").is_err());
        assert!(normalize("[zz]").is_err());
        assert!(normalize("bad host").is_err());
    }
}
