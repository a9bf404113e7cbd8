//! What both tar readers share (the pack archive reader, `read.rs`, and Go's `archive/tar`
//! port that Helm's loader reads charts with, `chart/gotar.rs`): PAX records parsed as Go
//! parses them, and hostile entry names made printable.

/// How much of a hostile name is ever printed.
const SHOWN_NAME: usize = 120;

/// PAX records, parsed as strictly as Go's `archive/tar` does: `"%d %s=%s\n"` with the length
/// counting the whole record, a non-empty key without '=', no NUL in names or keys.
pub(crate) fn pax_records(mut data: &[u8]) -> Result<Vec<(&str, &[u8])>, String> {
    let malformed = || "has a malformed PAX header".to_string();
    let mut records = Vec::new();
    while !data.is_empty() {
        let space = data.iter().position(|b| *b == b' ').ok_or_else(malformed)?;
        let digits = &data[..space];
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 8 {
            return Err(malformed());
        }
        let len: usize = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or_else(malformed)?;
        if len < 5 || len > data.len() || len <= space + 1 {
            return Err(malformed());
        }
        let record = &data[space + 1..len];
        let (body, newline) = record.split_at(record.len() - 1);
        if newline != b"\n" {
            return Err(malformed());
        }
        let eq = body.iter().position(|b| *b == b'=').ok_or_else(malformed)?;
        let key = std::str::from_utf8(&body[..eq]).map_err(|_| malformed())?;
        let value = &body[eq + 1..];
        let name_like = matches!(key, "path" | "linkpath" | "uname" | "gname");
        if key.is_empty() || key.contains('\0') || (name_like && value.contains(&0)) {
            return Err(malformed());
        }
        records.push((key, value));
        data = &data[len..];
    }
    Ok(records)
}

/// A hostile name made printable: escaped, and cut to a short prefix.
pub(crate) fn shown_name(raw: &[u8]) -> String {
    crate::output::excerpt(raw, SHOWN_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_parse_like_go() {
        let ok = b"30 mtime=1350244992.023960108\n20 path=hello/a.txt\n";
        let records = pax_records(ok).unwrap_or_else(|_| panic!("valid"));
        assert_eq!(records[1], ("path", &b"hello/a.txt"[..]));
        assert!(pax_records(b"10 path=x\n").is_ok());
        assert!(pax_records(b"6 k=v\n").is_ok());
        for bad in [
            &b"11 path=x\n"[..], // the length runs past the data
            b"8 path=x\n",       // the length ends before the newline
            b"x path=x\n",       // no number
            b"12 =novalue\n",    // empty key
            b"11 pathx=yy",      // no newline
            b"12 path=a\0b\n",   // NUL in a name
            b"4 a\n",            // shorter than any record
        ] {
            assert!(
                pax_records(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn names_are_shown_short_and_escaped() {
        let shown = shown_name(b"\x1b[31mred\x07");
        assert!(
            !shown.contains('\x1b') && !shown.contains('\x07'),
            "{shown}"
        );
        assert!(shown_name(&[b'a'; 1000]).chars().count() <= SHOWN_NAME + 1);
    }
}
