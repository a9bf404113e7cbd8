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

/// One spelling per registry: lower case, no `:443`, docker.io's aliases folded.
pub fn normalize(host: &str) -> Result<String, String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(']') || host.starts_with('[') => (name, Some(port)),
        _ => (host.as_str(), None),
    };
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!(
            "has {port:?} after ':', which is neither a port nor allowed here (no tags in the registry)"
        ));
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || "-.[]:".contains(c);
    if name.is_empty() || !name.chars().all(valid) {
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
        assert!(normalize("bad host").is_err());
    }
}
