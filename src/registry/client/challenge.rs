//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1), read from a registry that may be hostile:
//! several challenges in one header, quoted strings holding commas and escaped quotes, token68
//! credentials, and unquoted values that break the grammar but that registries send anyway
//! (`realm=https://auth.example.com/token`). A header over [`MAX_LEN`] is refused rather than
//! parsed.

/// Far above any real challenge (Docker Hub's is under 200 bytes).
pub const MAX_LEN: usize = 8 * 1024;

/// One challenge: its scheme and parameters, names as the registry spelled them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The first parameter called `name`, in any case.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every challenge in one header value, in order; what is wrong otherwise.
pub fn parse(header: &str) -> Result<Vec<Challenge>, String> {
    if header.len() > MAX_LEN {
        return Err(format!(
            "the header is {} bytes long; packpub reads at most {MAX_LEN}",
            header.len()
        ));
    }
    let mut cursor = Cursor {
        text: header.as_bytes(),
        at: 0,
    };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        cursor.skip(|c| c == b',' || is_space(c));
        if cursor.done() {
            return Ok(challenges);
        }
        let name = cursor.token()?;
        cursor.skip(is_space);
        let is_param = cursor.peek() == Some(b'=') && !cursor.token68_ends_here();
        match challenges.last_mut() {
            Some(challenge) if is_param => {
                cursor.at += 1;
                cursor.skip(is_space);
                let value = cursor.value()?;
                challenge.params.push((name, value));
            }
            None if is_param => return Err(format!("a parameter ({name}) before any scheme")),
            _ => {
                // A scheme may carry one token68 (`Negotiate abc==`) instead of parameters.
                if cursor.token68_ends_here() && !matches!(cursor.peek(), None | Some(b',')) {
                    cursor.skip(|c| is_tchar(c) || b"/+=".contains(&c));
                }
                challenges.push(Challenge {
                    scheme: name,
                    params: Vec::new(),
                });
            }
        }
    }
}

struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.at >= self.text.len()
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip(&mut self, what: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&what) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Result<String, String> {
        let start = self.at;
        self.skip(is_tchar);
        if self.at == start {
            return Err(match self.peek() {
                Some(c) if c.is_ascii_graphic() => {
                    format!("unexpected {:?} at byte {start}", char::from(c))
                }
                _ => format!("a byte that is not printable ASCII at byte {start}"),
            });
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }

    /// Whether token68 characters, then only `=`, run from here to the end of this item: then
    /// an `=` here pads a token68 (`abc==`) instead of starting a parameter's value.
    fn token68_ends_here(&self) -> bool {
        let rest = &self.text[self.at..];
        let body = rest
            .iter()
            .take_while(|c| is_tchar(**c) || b"/+".contains(c))
            .count();
        let padded = body + rest[body..].iter().take_while(|c| **c == b'=').count();
        let after = rest[padded..].iter().find(|c| !is_space(**c));
        matches!(after, None | Some(b','))
    }

    /// A quoted string (unescaped), or everything up to the next comma or space.
    fn value(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            let start = self.at;
            self.skip(|c| c != b',' && !is_space(c) && c != b'"');
            return Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned());
        }
        let start = self.at;
        self.at += 1;
        let mut value = Vec::new();
        while let Some(c) = self.peek() {
            self.at += 1;
            match c {
                b'"' => return Ok(String::from_utf8_lossy(&value).into_owned()),
                b'\\' => {
                    let escaped = self.peek().ok_or("a quoted string ends in a backslash")?;
                    self.at += 1;
                    value.push(escaped);
                }
                _ => value.push(c),
            }
        }
        Err(format!("the quoted string at byte {start} never ends"))
    }
}

fn is_space(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// RFC 9110 `tchar`: what a scheme or parameter name is made of.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge(scheme: &str, params: &[(&str, &str)]) -> Challenge {
        Challenge {
            scheme: scheme.into(),
            params: params
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn docker_hub_and_harbor() {
        assert_eq!(
            parse(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#),
            Ok(vec![challenge(
                "Bearer",
                &[
                    ("realm", "https://auth.docker.io/token"),
                    ("service", "registry.docker.io")
                ]
            )])
        );
        assert_eq!(
            parse(r#"Basic realm="harbor""#),
            Ok(vec![challenge("Basic", &[("realm", "harbor")])])
        );
    }

    #[test]
    fn several_challenges_and_commas_inside_quotes() {
        let parsed = parse(
            r#"Basic realm="a, b", BEARER  realm = "https://x/t?a=1,2" , scope="repo:p:pull,push",Negotiate"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            vec![
                challenge("Basic", &[("realm", "a, b")]),
                challenge(
                    "BEARER",
                    &[
                        ("realm", "https://x/t?a=1,2"),
                        ("scope", "repo:p:pull,push")
                    ]
                ),
                challenge("Negotiate", &[]),
            ]
        );
        assert!(parsed[1].is("bearer"));
        assert_eq!(parsed[1].param("REALM"), Some("https://x/t?a=1,2"));
    }

    #[test]
    fn escapes_token68_and_unquoted_urls() {
        assert_eq!(
            parse(r#"Bearer realm="say \"hi\" \\ there""#).unwrap()[0].param("realm"),
            Some(r#"say "hi" \ there"#)
        );
        assert_eq!(
            parse("Negotiate abc+/d==, Bearer realm=http://evil/token").unwrap(),
            vec![
                challenge("Negotiate", &[]),
                challenge("Bearer", &[("realm", "http://evil/token")]),
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn malformed_or_oversized_headers_are_refused() {
        assert!(
            parse(r#"Bearer realm="https://x"#)
                .unwrap_err()
                .contains("never ends")
        );
        assert!(
            parse(r#"realm="https://x""#)
                .unwrap_err()
                .contains("before any scheme")
        );
        assert!(parse("Bearer realm=\"x\", \u{1b}[2J").is_err());
        assert!(parse("Bearer realm=\"x\\").is_err());
        let long = format!(r#"Bearer realm="https://x/{}""#, "a".repeat(MAX_LEN));
        assert!(parse(&long).unwrap_err().contains("at most 8192"));
    }
}
