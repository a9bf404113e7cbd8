//! Go's `archive/tar` reader as Helm v3 runs it on a chart (`reader.go` `Next`/`readHeader`/
//! `handleRegularFile`, `format.go` `getFormat`, `strconv.go`; a test reads Go's own test archives
//! with both and compares, when Go is installed): a chart is
//! judged by what Helm sees in it, so entries start, end and are named where Go says. Ported:
//! the two checksums Go accepts (unsigned and signed), octal and base-256 numbers, V7, USTAR,
//! STAR and GNU headers (the USTAR prefix where Go uses it, pre-Go 1.8 GNU files included), GNU
//! long names, PAX records (`path` and `size` override the header; a bad number is a bad
//! header), a global PAX header handed out as an entry (Helm skips it), header-only types
//! (links, devices, folders, FIFOs: no data whatever their size field says), a `\0` type with a
//! trailing '/' read as a folder, and the end: two zero blocks, or the input running out on a
//! header or padding boundary. Sparse files are recognised, not expanded: the caller refuses
//! them. An extension header holds at most 1 MiB, Go's `maxSpecialFileSize`.

use std::io::{self, Read};

const BLOCK: usize = 512;
/// Go's `maxSpecialFileSize`: the most a PAX header or a GNU long name may hold.
const MAX_SPECIAL: u64 = 1 << 20;
/// What Go calls `ErrHeader`.
const BAD_HEADER: &str = "has an invalid tar header (archive/tar: invalid tar header)";
const TRUNCATED: &str = "is cut short (unexpected EOF)";

/// An entry as Go's `tar.Reader.Next` returns it.
#[derive(Debug)]
pub struct Header {
    pub typeflag: u8,
    /// Go strings are bytes: a name need not be UTF-8.
    pub name: Vec<u8>,
    /// The size the header (or its PAX record) declares.
    pub size: i64,
    pub mode: i64,
    /// A GNU sparse file (old format, or PAX 0.0, 0.1 or 1.0), whose data is not read here.
    pub sparse: bool,
}

impl Header {
    /// Go's `hd.FileInfo().IsDir()`: the folder type, or folder bits in the mode.
    pub fn is_dir(&self) -> bool {
        self.typeflag == b'5' || self.mode & !0o7777 == 0o40000
    }

    /// Links, devices and FIFOs: Go reads no data for them (`isHeaderOnlyType`, folders aside).
    pub fn is_special(&self) -> bool {
        matches!(self.typeflag, b'1' | b'2' | b'3' | b'4' | b'6')
    }
}

/// Go's `tar.Reader`: [`Reader::next`] moves to the next entry, `read` reads its data.
pub struct Reader<R> {
    r: R,
    /// Data left in the current entry, then the padding to the next block.
    left: u64,
    pad: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(r: R) -> Self {
        Self { r, left: 0, pad: 0 }
    }

    /// The next entry, `None` at the end of the archive; an error says why Go would fail.
    pub fn next(&mut self) -> Result<Option<Header>, String> {
        let mut pax: Option<Vec<(String, Vec<u8>)>> = None;
        let mut long_name = Vec::new();
        loop {
            // Discard the rest of the entry, then its padding (Go's tryReadFull: running out
            // there is the end of the archive, not an error).
            let rest = std::mem::take(&mut self.left);
            if io::copy(&mut (&mut self.r).take(rest), &mut io::sink()).map_err(describe)? < rest {
                return Err(TRUNCATED.into());
            }
            let pad = std::mem::take(&mut self.pad);
            if io::copy(&mut (&mut self.r).take(pad), &mut io::sink()).map_err(describe)? < pad {
                return Ok(None);
            }
            let Some(block) = self.block()? else {
                return Ok(None);
            };
            if block.iter().all(|b| *b == 0) {
                return match self.block()? {
                    Some(next) if next.iter().any(|b| *b != 0) => Err(BAD_HEADER.into()),
                    _ => Ok(None),
                };
            }
            let mut header = parse_header(&block)?;
            self.start(&header)?;
            match header.typeflag {
                b'x' | b'g' => {
                    let records = pax_records(&self.special()?)?;
                    if header.typeflag == b'g' {
                        // Go merges it into the header it returns, errors ignored: Helm skips
                        // the entry anyway.
                        return Ok(Some(header));
                    }
                    pax = Some(records);
                }
                b'L' | b'K' => {
                    let data = self.special()?;
                    if header.typeflag == b'L' {
                        long_name = c_string(&data).to_vec();
                    }
                }
                _ => {
                    let records = pax.unwrap_or_default();
                    merge_pax(&mut header, &records)?;
                    if !long_name.is_empty() {
                        header.name = long_name;
                    }
                    if header.typeflag == 0 {
                        header.typeflag = if header.name.ends_with(b"/") {
                            b'5'
                        } else {
                            b'0'
                        };
                    }
                    self.start(&header)?;
                    header.sparse = header.typeflag == b'S' || sparse_pax(&records);
                    return Ok(Some(header));
                }
            }
        }
    }

    /// Go's `handleRegularFile`: how much data follows `header`.
    fn start(&mut self, header: &Header) -> Result<(), String> {
        let size = if matches!(header.typeflag, b'1'..=b'6') {
            0
        } else {
            header.size
        };
        let size = u64::try_from(size).map_err(|_| BAD_HEADER.to_string())?;
        self.left = size;
        self.pad = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        Ok(())
    }

    /// Go's `readSpecialFile`: the whole data of an extension header, at most 1 MiB.
    fn special(&mut self) -> Result<Vec<u8>, String> {
        if self.left > MAX_SPECIAL {
            return Err(format!(
                "has an extension header of {} bytes, more than Go reads (archive/tar: header field too long)",
                self.left
            ));
        }
        let mut data = Vec::new();
        self.read_to_end(&mut data).map_err(describe)?;
        Ok(data)
    }

    /// One block; `None` when the input ends before it, an error when it ends inside it.
    fn block(&mut self) -> Result<Option<[u8; BLOCK]>, String> {
        let mut block = [0u8; BLOCK];
        let mut n = 0;
        while n < BLOCK {
            match self.r.read(&mut block[n..]) {
                Ok(0) => break,
                Ok(read) => n += read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(describe(err)),
            }
        }
        match n {
            0 => Ok(None),
            BLOCK => Ok(Some(block)),
            _ => Err(TRUNCATED.into()),
        }
    }
}

/// The current entry's data (Go's `regFileReader`): input that ends early is an error.
impl<R: Read> Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.r.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn describe(err: io::Error) -> String {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        return TRUNCATED.into();
    }
    format!(
        "cannot be read: {}",
        crate::output::escape(&err.to_string())
    )
}

/// Go's `readHeader` past the zero-block check: checksum, format, fields.
fn parse_header(block: &[u8; BLOCK]) -> Result<Header, String> {
    let mut bad = false;
    let checksum = octal(&block[148..156], &mut bad);
    let unsigned: i64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(*b)
            }
        })
        .sum();
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(*b as i8)
            }
        })
        .sum();
    if bad || (checksum != unsigned && checksum != signed) {
        return Err(BAD_HEADER.into());
    }
    let magic = &block[257..263];
    let star = magic == b"ustar\0" && &block[508..512] == b"tar\0";
    let ustar = magic == b"ustar\0" && !star;
    let gnu = magic == b"ustar " && &block[263..265] == b" \0";
    let mut header = Header {
        typeflag: block[156],
        name: c_string(&block[..100]).to_vec(),
        size: numeric(&block[124..136], &mut bad),
        mode: numeric(&block[100..108], &mut bad),
        sparse: false,
    };
    for field in [&block[108..116], &block[116..124], &block[136..148]] {
        numeric(field, &mut bad);
    }
    let mut prefix: &[u8] = &[];
    if ustar || star || gnu {
        numeric(&block[329..337], &mut bad);
        numeric(&block[337..345], &mut bad);
    }
    if ustar {
        prefix = c_string(&block[345..500]);
    } else if star {
        prefix = c_string(&block[345..476]);
        numeric(&block[476..488], &mut bad);
        numeric(&block[488..500], &mut bad);
    } else if gnu {
        // Pre-Go 1.8 writers put a USTAR prefix where GNU keeps atime and ctime: Go falls back
        // to it when those do not parse.
        let mut times_bad = false;
        for field in [&block[345..357], &block[357..369]] {
            if field[0] != 0 {
                numeric(field, &mut times_bad);
            }
        }
        let fallback = c_string(&block[345..500]);
        if times_bad && fallback.is_ascii() {
            prefix = fallback;
        }
    }
    if !prefix.is_empty() {
        header.name = [prefix, b"/", &header.name].concat();
    }
    if bad {
        return Err(BAD_HEADER.into());
    }
    Ok(header)
}

/// Go's `parseString`: up to the first NUL.
fn c_string(b: &[u8]) -> &[u8] {
    b.iter().position(|c| *c == 0).map_or(b, |end| &b[..end])
}

/// Go's `parseNumeric`: base-256 when the top bit is set, else octal; `bad` when neither parses.
fn numeric(b: &[u8], bad: &mut bool) -> i64 {
    if b.first().is_some_and(|c| c & 0x80 != 0) {
        let inv: u8 = if b[0] & 0x40 != 0 { 0xff } else { 0 };
        let mut x: u64 = 0;
        for (i, c) in b.iter().enumerate() {
            let mut c = c ^ inv;
            if i == 0 {
                c &= 0x7f;
            }
            if x >> 56 > 0 {
                *bad = true;
                return 0;
            }
            x = x << 8 | u64::from(c);
        }
        if x >> 63 > 0 {
            *bad = true;
            return 0;
        }
        return if inv == 0xff { !(x as i64) } else { x as i64 };
    }
    octal(b, bad)
}

/// Go's `parseOctal`: spaces and NULs trimmed at both ends, then digits 0-7 only.
fn octal(b: &[u8], bad: &mut bool) -> i64 {
    let trim = |c: &u8| *c != b' ' && *c != 0;
    let Some(start) = b.iter().position(trim) else {
        return 0;
    };
    let end = b.iter().rposition(trim).map_or(start, |e| e + 1);
    let digits = c_string(&b[start..end]);
    match std::str::from_utf8(digits)
        .ok()
        .filter(|d| !d.starts_with(['+', '-']))
        .and_then(|d| u64::from_str_radix(d, 8).ok())
    {
        Some(x) => x as i64,
        None => {
            *bad = true;
            0
        }
    }
}

/// Go's `parsePAX`: the records, the GNU sparse 0.0 offset/size pairs checked for order.
fn pax_records(data: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let records = crate::pack::tar::pax_records(data)?;
    let mut pairs = 0usize;
    for (key, value) in &records {
        if matches!(*key, "GNU.sparse.offset" | "GNU.sparse.numbytes") {
            let want = if pairs.is_multiple_of(2) {
                "GNU.sparse.offset"
            } else {
                "GNU.sparse.numbytes"
            };
            if *key != want || value.contains(&b',') {
                return Err(BAD_HEADER.into());
            }
            pairs += 1;
        }
    }
    Ok(records
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect())
}

/// Go's `mergePAX`: records with a value override the header (the last of a key wins); a
/// number that does not parse is a bad header.
fn merge_pax(header: &mut Header, records: &[(String, Vec<u8>)]) -> Result<(), String> {
    let bad = || BAD_HEADER.to_string();
    for (key, value) in records {
        if value.is_empty() {
            continue;
        }
        let text = std::str::from_utf8(value).unwrap_or_default();
        match key.as_str() {
            "path" => header.name = value.clone(),
            "size" => header.size = text.parse().map_err(|_| bad())?,
            "uid" | "gid" => {
                text.parse::<i64>().map_err(|_| bad())?;
            }
            "atime" | "mtime" | "ctime" => {
                let (secs, nanos) = text.split_once('.').unwrap_or((text, ""));
                if secs.parse::<i64>().is_err() || !nanos.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Go's `readGNUSparsePAXHeaders` test for a PAX sparse file: version 0.0, 0.1 or 1.0, or a
/// sparse map without a version.
fn sparse_pax(records: &[(String, Vec<u8>)]) -> bool {
    let last = |name: &str| {
        records
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    };
    let major = last("GNU.sparse.major").unwrap_or_default();
    let minor = last("GNU.sparse.minor").unwrap_or_default();
    match (major, minor) {
        (b"0", b"0" | b"1") | (b"1", b"0") => true,
        (b"", b"") => {
            last("GNU.sparse.map").is_some_and(|m| !m.is_empty())
                || records.iter().any(|(k, _)| k == "GNU.sparse.offset")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &[u8], typeflag: u8, size: usize) -> [u8; BLOCK] {
        let mut h = tar::Header::new_ustar();
        h.as_mut_bytes()[..name.len()].copy_from_slice(name);
        h.set_entry_type(tar::EntryType::new(typeflag));
        h.set_size(size as u64);
        h.set_mode(0o644);
        h.set_cksum();
        *h.as_bytes()
    }

    fn entries(archive: &[u8]) -> Result<Vec<(String, u8, Vec<u8>)>, String> {
        let mut reader = Reader::new(archive);
        let mut out = Vec::new();
        while let Some(h) = reader.next()? {
            let mut data = Vec::new();
            reader.read_to_end(&mut data).map_err(describe)?;
            out.push((String::from_utf8_lossy(&h.name).into(), h.typeflag, data));
        }
        Ok(out)
    }

    #[test]
    fn special_types_carry_no_data_whatever_their_size_says() {
        // Go reads the next header right after a link's, though its size field says 3.
        let mut archive = header(b"a/link", b'2', 3).to_vec();
        archive.extend_from_slice(&header(b"a/f", b'0', 2));
        archive.extend_from_slice(b"hi");
        archive.resize(archive.len() + BLOCK - 2, 0);
        let found = entries(&archive).unwrap();
        assert_eq!(found[0], ("a/link".into(), b'2', vec![]));
        assert_eq!(found[1], ("a/f".into(), b'0', b"hi".to_vec()));
    }

    #[test]
    fn the_end_is_two_zero_blocks_or_the_input_running_out_between_entries() {
        let mut archive = header(b"a/f", b'0', 0).to_vec();
        assert_eq!(entries(&archive).unwrap().len(), 1);
        archive.extend_from_slice(&[0; BLOCK]);
        assert_eq!(entries(&archive).unwrap().len(), 1);
        let mut bad = archive.clone();
        bad.extend_from_slice(&header(b"a/g", b'0', 0));
        assert_eq!(entries(&bad).unwrap_err(), BAD_HEADER);
        archive.truncate(BLOCK + 100);
        assert_eq!(entries(&archive).unwrap_err(), TRUNCATED);
    }

    #[test]
    fn numbers_parse_as_go_parses_them() {
        let mut bad = false;
        assert_eq!(numeric(b" 0000644\0", &mut bad), 0o644);
        assert_eq!(numeric(b"\0\0\0\0", &mut bad), 0);
        assert_eq!(numeric(&[0x80, 0, 0, 1, 0], &mut bad), 256);
        assert_eq!(numeric(&[0xff; 8], &mut bad), -1);
        assert!(!bad);
        numeric(b"0009\0", &mut bad);
        assert!(bad);
    }

    #[test]
    fn a_global_pax_header_is_an_entry_and_gnu_long_names_apply_to_the_next() {
        let comment = b"52 comment=0123456789012345678901234567890123456789\n";
        let mut archive = header(b"pax_global_header", b'g', comment.len()).to_vec();
        archive.extend_from_slice(comment);
        archive.resize(2 * BLOCK, 0);
        let long = b"x/".repeat(80);
        archive.extend_from_slice(&header(b"././@LongLink", b'L', long.len() + 1));
        archive.extend_from_slice(&long);
        archive.resize(archive.len() + BLOCK - long.len(), 0);
        archive.extend_from_slice(&header(b"short", b'0', 0));
        let found = entries(&archive).unwrap();
        assert_eq!(found[0].1, b'g');
        assert_eq!(found[1].0.len(), 160);
    }

    /// Every archive of Go's own `archive/tar` tests, listed by Go (testdata/golist.go) and by
    /// this reader: the same entries, names, sizes and data lengths, and an error where Go
    /// fails. A sparse entry ends the comparison (this reader does not expand them).
    #[test]
    fn go_s_own_test_archives_read_as_go_reads_them() {
        let goroot = match std::process::Command::new("go")
            .args(["env", "GOROOT"])
            .output()
        {
            Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
            _ => {
                eprintln!("skipped: no Go toolchain (tests/run.sh installs golang-go)");
                return;
            }
        };
        let testdata = std::path::Path::new(goroot.trim()).join("src/archive/tar/testdata");
        let mut archives: Vec<_> = std::fs::read_dir(&testdata)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "tar"))
            .collect();
        archives.sort();
        assert!(archives.len() > 30, "Go's tar test archives");
        let program = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/pack/chart/testdata/golist.go");
        let go = std::process::Command::new("go")
            .arg("run")
            .arg(program)
            .args(&archives)
            .env("GO111MODULE", "off")
            .output()
            .unwrap();
        assert!(
            go.status.success(),
            "{}",
            String::from_utf8_lossy(&go.stderr)
        );
        let go = String::from_utf8(go.stdout).unwrap();
        let mut compared = 0;
        for (path, listed) in archives.iter().zip(go.split("FILE ").skip(1)) {
            let go_lines: Vec<&str> = listed.lines().skip(1).collect();
            let mut ours = Vec::new();
            let mut reader = Reader::new(std::fs::File::open(path).unwrap());
            loop {
                match reader.next() {
                    Ok(None) => ours.push("END".to_string()),
                    Err(_) => ours.push("ERR".to_string()),
                    Ok(Some(h)) if h.sparse => break,
                    Ok(Some(h)) if h.typeflag == b'g' => {
                        ours.push("g".into());
                        continue;
                    }
                    Ok(Some(h)) => {
                        let mut data = Vec::new();
                        let read = reader.read_to_end(&mut data);
                        let hex: String = h.name.iter().map(|b| format!("{b:02x}")).collect();
                        ours.push(format!(
                            "{} {hex} {} {} {}",
                            char::from(h.typeflag),
                            h.size,
                            data.len(),
                            h.is_dir()
                        ));
                        if read.is_err() {
                            ours.push("ERR".into());
                        } else {
                            continue;
                        }
                    }
                }
                break;
            }
            let n = ours.len().min(go_lines.len());
            assert_eq!(ours[..n], go_lines[..n], "{}", path.display());
            if ours.last().is_some_and(|l| l == "END" || l == "ERR") {
                assert_eq!(ours.len(), go_lines.len(), "{}", path.display());
            }
            compared += 1;
        }
        assert_eq!(compared, archives.len());
    }
}
