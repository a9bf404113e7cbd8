//! Reading a pack archive back: a `<name>-<version>.tar.gz` given to `push`, or a layer
//! downloaded by `verify` and `pull`. The archive is hostile until proven otherwise, so one
//! reader ([`scan`]) serves every use, and what it accepts is what Go's `archive/tar` +
//! `compress/gzip` (what Palette runs) and GNU tar would read, never more:
//! - every gzip member is read (as Go and GNU tar do), and anything after the gzip data that is
//!   not another member is refused, as is anything but zeros after the tar end marker;
//! - every header-declared length is capped before it is read (long names, PAX records), and
//!   the inflated size stops at a ceiling ([`Limits`]), so a small archive cannot claim memory;
//! - only regular files and folders under one top-level folder are allowed: no absolute paths,
//!   no `..`, no links, devices or sparse files, no entry twice, no file where a folder must be;
//! - names are shown only as a short, escaped prefix.
//!
//! [`inspect`] validates and hashes; [`extract`] writes the same entries into a staging folder
//! and renames it into place, so a refused archive leaves nothing behind.

use super::Identity;
use super::findings::Findings;
use super::model::{PACK_JSON, PACK_JSON_LIMIT, VALUES_YAML};
use super::pack_json;
use super::rules::Rule;
use super::tar::{pax_records, shown_name};
use crate::digest::{Digest, HashingWriter};
use crate::exit::{Code, Failure};
use crate::growing::Grown;
use crate::output::escape;
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// The longest entry name accepted (Linux's PATH_MAX).
const MAX_NAME: u64 = 4096;
/// The largest PAX extended header accepted: a few records, never megabytes.
const MAX_PAX: u64 = 64 << 10;
/// Entries in one archive: far above any pack (pack-central's largest has a few hundred).
const MAX_ENTRIES: usize = 100_000;

/// What a reader may spend on one archive.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The ceiling on the inflated (tar) size; past it the archive is refused.
    pub max_inflated: u64,
}

impl Limits {
    /// 4 GiB: hundreds of times the largest pack-central pack (about 6 MB).
    pub const DEFAULT_MAX_INFLATED: u64 = 4 << 30;

    /// Why an archive of `compressed` bytes (its manifest's declared size) need not be
    /// downloaded: gzip never shrinks data by more than its stored blocks' framing (5 bytes in
    /// 64 KiB) and its header and trailer, so an archive that large inflates past the ceiling.
    pub fn refuses_compressed(&self, compressed: u64) -> Option<String> {
        let most = self
            .max_inflated
            .saturating_add(self.max_inflated / 8192)
            .saturating_add(1024);
        (compressed > most).then(|| {
            format!(
                "its manifest declares a {compressed}-byte archive, which inflates past the \
                 {}-byte ceiling (--max-inflated-size, PACKPUB_MAX_INFLATED_SIZE); nothing was \
                 downloaded",
                self.max_inflated
            )
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_inflated: Self::DEFAULT_MAX_INFLATED,
        }
    }
}

pub struct Tarball {
    /// pack.json's identity, when it validated far enough to have one.
    pub id: Option<Identity>,
    pub findings: Findings,
    /// Why the archive must not be extracted, one line per entry or problem; empty when safe.
    pub unsafe_entries: Vec<String>,
    /// Every regular file under the top folder (path inside it) with its content digest.
    pub files: BTreeMap<String, Digest>,
    /// The files among them that are executable, and every folder entry.
    pub executables: BTreeSet<String>,
    pub dirs: BTreeSet<String>,
    /// The single top-level folder, when there is one.
    pub top: Option<String>,
    pub digest: Digest,
    pub size: u64,
}

impl Tarball {
    /// Whether every entry is safe to extract under one top-level folder.
    pub fn safe_to_extract(&self) -> bool {
        self.unsafe_entries.is_empty() && self.top.is_some()
    }

    /// What it holds, as an extractor sees it (meaningful when safe to extract).
    pub fn listing(&self) -> super::Listing {
        super::Listing::new(
            self.top.clone(),
            self.files.clone(),
            self.executables.clone(),
            self.dirs.iter().cloned(),
        )
    }

    /// Whether this is a valid pack that says it is `id`: what `pull` hands out.
    pub fn is_valid_pack_of(&self, id: &Identity) -> bool {
        self.safe_to_extract()
            && self.id.as_ref() == Some(id)
            && self.findings.count(super::Severity::Error) == 0
    }
}

/// One entry the reader accepted, under the top-level folder.
pub enum Item<'a> {
    Dir {
        inner: &'a str,
    },
    File {
        inner: &'a str,
        executable: bool,
        data: &'a mut dyn Read,
    },
}

/// What a scan found besides the entries it handed out.
#[derive(Default)]
pub struct Scan {
    /// The single top-level folder.
    pub top: Option<String>,
    /// Why the archive is unsafe or unreadable; empty when it is neither.
    pub problems: Vec<String>,
}

/// Reads the gzip-compressed tar archive `reader`, handing each accepted entry to `visit` in
/// order. Reading stops at the first problem that makes the rest unreadable (bad framing, a
/// ceiling reached); entries that are merely unsafe are all listed. An error from `visit` ends
/// the scan and is returned as is.
pub fn scan(
    reader: impl Read,
    limits: Limits,
    visit: &mut dyn FnMut(Item<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Scan> {
    let inflated = Ceiling {
        inner: flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, reader)),
        left: limits.max_inflated,
        limit: limits.max_inflated,
    };
    let mut archive = tar::Archive::new(inflated);
    let mut scan = Scan::default();
    let mut state = State::default();
    {
        for entry in archive.entries()?.raw(true) {
            crate::interrupt::check()?;
            let outcome = match entry {
                Ok(mut entry) => state.entry(&mut entry, &mut scan, visit),
                Err(err) => Err(Stop(describe(&err))),
            };
            match outcome {
                Ok(Continue) => {}
                Err(Stop(problem)) => {
                    scan.problems.push(problem);
                    return Ok(scan);
                }
            }
            if let Some(err) = state.visit_error.take() {
                return Err(err);
            }
        }
    }
    if state.extensions.is_dangling() {
        scan.problems
            .push("ends with a long name or PAX header that describes no entry".into());
        return Ok(scan);
    }
    // What follows the end marker: zeros, then the end of the last gzip member.
    let mut rest = archive.into_inner();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match rest.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if buf[..n].iter().all(|b| *b == 0) => {}
            Ok(_) => {
                scan.problems.push(
                    "holds data after the tar end marker, which other readers ignore: a hidden part"
                        .into(),
                );
                break;
            }
            Err(err) => {
                scan.problems
                    .push(format!("{} (at its end)", describe(&err)));
                break;
            }
        }
    }
    if state.entries == 0 && scan.problems.is_empty() {
        scan.problems.push("holds no entries".into());
    }
    scan.top = state.top;
    Ok(scan)
}

/// Keeps going with the next entry.
struct Continue;
/// The rest of the archive cannot be trusted or read: stop with this problem.
struct Stop(String);

/// Metadata that applies to the next entry (GNU long name, PAX records).
#[derive(Default)]
struct Pending {
    name: Option<Vec<u8>>,
    pax_size: Option<u64>,
}

/// The extension headers (GNU long name, PAX) read for the entry that follows them, each capped
/// before it is read. Shared by every tar reader of packpub (packs here, bundles in
/// `registry::archive`), which read their archives with the `tar` crate in raw mode so that no
/// header data is read uncapped.
#[derive(Default)]
pub(crate) struct Extensions {
    pending: Option<Pending>,
}

impl Extensions {
    /// Takes in `entry` when it is a long-name or PAX header (`Ok(true)`): its data describes
    /// the next entry. A long link name, a global PAX header or a sparse file ends the read,
    /// with the reason.
    pub(crate) fn absorb<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<bool, String> {
        let header = entry.header();
        let size = header
            .entry_size()
            .map_err(|e| format!("has an unreadable size field: {e}"))?;
        let byte = header.entry_type().as_byte();
        match byte {
            b'L' | b'x' => {
                let limit = if byte == b'L' { MAX_NAME } else { MAX_PAX };
                if size > limit {
                    return Err(format!(
                        "has a {} header that claims {size} bytes (at most {limit} are read)",
                        if byte == b'L' { "long-name" } else { "PAX" }
                    ));
                }
                let mut data = Vec::with_capacity(size as usize);
                entry.read_to_end(&mut data).map_err(|e| describe(&e))?;
                let pending = self.pending.get_or_insert_with(Pending::default);
                if byte == b'L' {
                    if pending.name.is_some() {
                        return Err("has two long names for one entry".into());
                    }
                    while data.last() == Some(&0) {
                        data.pop();
                    }
                    pending.name = Some(data);
                } else {
                    for (key, value) in pax_records(&data)? {
                        match key {
                            "path" => pending.name = Some(value.to_vec()),
                            "size" => {
                                let text = std::str::from_utf8(value).unwrap_or_default();
                                let parsed = text
                                    .parse::<u64>()
                                    .map_err(|_| "has a PAX size that is not a number")?;
                                pending.pax_size = Some(parsed);
                            }
                            k if k.starts_with("GNU.sparse.") => {
                                return Err("holds a sparse file (GNU.sparse PAX records); only regular files are allowed".into());
                            }
                            _ => {}
                        }
                    }
                }
                Ok(true)
            }
            b'K' => {
                Err("holds a link (GNU long link name); only files and folders are allowed".into())
            }
            b'g' => Err("has a global PAX header, which packpub does not read".into()),
            _ => Ok(false),
        }
    }

    /// The name of `entry` (not an extension header), `size` bytes long by its header: the
    /// long name or PAX path before it if any. A PAX size that differs from the header's is
    /// refused: readers would disagree where the next entry starts.
    pub(crate) fn name_of<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
        size: u64,
    ) -> Result<Vec<u8>, String> {
        let pending = self.pending.take().unwrap_or_default();
        let name = pending
            .name
            .unwrap_or_else(|| entry.header().path_bytes().into_owned());
        match pending.pax_size {
            Some(pax_size) if pax_size != size => Err(format!(
                "{}: its PAX size ({pax_size}) and header size ({size}) differ, so readers would disagree where the next entry starts",
                shown_name(&name)
            )),
            _ => Ok(name),
        }
    }

    /// Whether extension headers were read that no entry followed.
    pub(crate) fn is_dangling(&self) -> bool {
        self.pending.is_some()
    }
}

#[derive(Default)]
struct State {
    extensions: Extensions,
    top: Option<String>,
    entries: usize,
    /// Every path seen, without a trailing '/'.
    seen: HashSet<String>,
    files: HashSet<String>,
    visit_error: Option<anyhow::Error>,
}

impl State {
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        scan: &mut Scan,
        visit: &mut dyn FnMut(Item<'_>) -> anyhow::Result<()>,
    ) -> Result<Continue, Stop> {
        let header = entry.header();
        let byte = header.entry_type().as_byte();
        let size = header
            .entry_size()
            .map_err(|e| Stop(format!("has an unreadable size field: {e}")))?;
        if self.extensions.absorb(entry).map_err(Stop)? {
            return Ok(Continue);
        }
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(Stop(format!("has more than {MAX_ENTRIES} entries")));
        }
        let raw_name = self.extensions.name_of(entry, size).map_err(Stop)?;
        let shown = shown_name(&raw_name);
        let header = entry.header();
        let is_file = matches!(byte, b'0' | b'\0');
        let is_dir = byte == b'5';
        if !is_file && !is_dir {
            let what = match byte {
                b'1' => "a hard link",
                b'2' => "a symbolic link",
                b'3' => "a character device",
                b'4' => "a block device",
                b'6' => "a FIFO",
                _ => {
                    return Err(Stop(format!(
                        "{shown}: has entry type {:?}, which packpub does not read; only files and folders are allowed",
                        char::from(byte)
                    )));
                }
            };
            scan.problems.push(format!(
                "{shown}: is {what}; only files and folders are allowed"
            ));
            return Ok(Continue);
        }
        let path = match clean_path(&raw_name) {
            Ok(path) => path,
            Err(why) => {
                scan.problems.push(format!("{shown}: {why}"));
                return Ok(Continue);
            }
        };
        if let Some(problem) = self.place(&path, is_file) {
            scan.problems.push(format!("{shown}: {problem}"));
            return Ok(Continue);
        }
        let top = self.top.as_deref().unwrap_or_default();
        let inner = path[top.len()..].trim_start_matches('/');
        let executable = header.mode().is_ok_and(|m| m & 0o111 != 0);
        let mut watched = Watched {
            inner: entry,
            failed: None,
        };
        let item = if is_dir {
            if inner.is_empty() {
                return Ok(Continue);
            }
            Item::Dir { inner }
        } else {
            Item::File {
                inner,
                executable,
                data: &mut watched,
            }
        };
        if let Err(err) = visit(item) {
            // A failed read of the archive is the archive's problem; anything else is the
            // visitor's own (a full disk), returned as it is.
            if let Some(problem) = watched.failed {
                return Err(Stop(problem));
            }
            self.visit_error = Some(err);
        }
        Ok(Continue)
    }

    /// Records `path` (clean, no trailing '/'); why it may not stand where it does, if so.
    fn place(&mut self, path: &str, is_file: bool) -> Option<String> {
        let first = path.split('/').next().unwrap_or_default();
        match &self.top {
            None => self.top = Some(first.to_string()),
            Some(top) if top != first => {
                return Some(format!(
                    "is outside the top-level folder {:?}; keep the whole pack under one folder",
                    escape(top)
                ));
            }
            Some(_) => {}
        }
        if is_file && path == first {
            return Some("is a file at the top level; a pack is one folder".into());
        }
        let mut ancestor = path;
        while let Some((parent, _)) = ancestor.rsplit_once('/') {
            if self.files.contains(parent) {
                return Some("lies under a file of the same name as its folder".into());
            }
            ancestor = parent;
        }
        if !self.seen.insert(path.to_string()) {
            return Some("appears twice; readers would disagree on which copy wins".to_string());
        }
        if is_file {
            self.files.insert(path.to_string());
        }
        None
    }
}

/// The entry name as a clean relative path: UTF-8, no NUL, not absolute, no `..`, `.` and
/// empty components dropped, no trailing '/'.
pub(crate) fn clean_path(raw: &[u8]) -> Result<String, String> {
    if raw.len() as u64 > MAX_NAME {
        return Err(format!("has a name over {MAX_NAME} bytes"));
    }
    let text = std::str::from_utf8(raw).map_err(|_| "has a name that is not UTF-8".to_string())?;
    if text.contains('\0') {
        return Err("has a NUL byte in its name".into());
    }
    if text.starts_with('/') || text.starts_with('\\') {
        return Err("has an absolute path or '..'".into());
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("has an absolute path or '..'".into()),
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Err("has an empty name".into());
    }
    Ok(parts.join("/"))
}

/// Why reading the archive failed, in a few words: the ceiling when that stopped it.
fn describe(err: &io::Error) -> String {
    match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<CeilingReached>())
    {
        Some(reached) => reached.to_string(),
        None => format!("cannot be read: {}", escape(&err.to_string())),
    }
}

/// An entry's data as handed to a visitor, remembering whether reading the archive failed.
struct Watched<'a, R> {
    inner: &'a mut R,
    failed: Option<String>,
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|err| {
            self.failed = Some(describe(err));
        })
    }
}

/// Stops reading once `limit` inflated bytes went past.
struct Ceiling<R> {
    inner: R,
    left: u64,
    limit: u64,
}

#[derive(Debug)]
struct CeilingReached(u64);

impl std::fmt::Display for CeilingReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "inflates to more than {} bytes, the ceiling (--max-inflated-size, PACKPUB_MAX_INFLATED_SIZE)",
            self.0
        )
    }
}

impl std::error::Error for CeilingReached {}

impl<R: Read> Read for Ceiling<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One byte more tells a stream of exactly `limit` bytes from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(CeilingReached(self.limit))),
            };
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Hashes `path` and, on a second thread reading it side by side, inflates and validates what it
/// holds. A file the user names must also be named `<name>-<version>.tar.gz` after its
/// pack.json (`check_file_name`); a download in a temp file need not.
pub fn inspect(
    path: &Path,
    check_file_name: bool,
    limits: Limits,
    profile: super::rules::Profile,
) -> anyhow::Result<Tarball> {
    inspect_hashing_to(path, check_file_name, limits, profile, None)
}

/// [`inspect`], telling `hashed` of every byte hashed and then of the digest, so that an
/// upload can send what the hash has read while the rest is still being checked.
pub fn inspect_hashing_to(
    path: &Path,
    check_file_name: bool,
    limits: Limits,
    profile: super::rules::Profile,
    hashed: Option<&tokio::sync::watch::Sender<Grown>>,
) -> anyhow::Result<Tarball> {
    let file = File::open(path).map_err(|err| {
        Failure::err(
            Code::InvalidPack,
            format!("cannot read {}: {err}", path.display()),
        )
    })?;
    let shown = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let shown = escape(&shown).into_owned();
    let mut findings = Findings::new(profile);
    // Hashing the file and inflating it are independent: on two threads the pass costs the
    // slower of the two, not their sum.
    let (hashed, contents) = std::thread::scope(|scope| {
        let hasher = scope.spawn(|| {
            let read = File::open(path).and_then(|file| {
                // Reads as large as the upload's, so it hears of progress per 256 KiB, not 8 KiB.
                Digest::of_reader(BufReader::with_capacity(
                    256 << 10,
                    Announced {
                        inner: file,
                        to: hashed,
                    },
                ))
            });
            if let Some(state) = hashed {
                // The upload waits for this word: it must hear of a failure too.
                let done = read.as_ref().map(|d| *d).map_err(|e| e.to_string());
                state.send_modify(|grown| grown.done = Some(done));
            }
            read
        });
        let contents = contents(file, limits, &shown, &mut findings);
        (
            hasher.join().expect("the hashing thread does not panic"),
            contents,
        )
    });
    let (digest, size) = hashed.with_context(|| format!("cannot read {}", path.display()))?;
    let (contents, scan) = contents?;
    for problem in &scan.problems {
        findings.add(
            Rule::ArchiveName,
            &shown,
            None,
            problem.clone(),
            "re-create the archive with `packpub pack`",
        );
    }
    if let Some(id) = contents.id.as_ref().filter(|_| check_file_name) {
        let expected = id.archive_name();
        if shown != expected {
            findings.add(
                Rule::ArchiveName,
                &shown,
                None,
                format!("the file name does not match pack.json, which says {expected}"),
                &format!("rename it to {expected}, or re-create it with `packpub pack`"),
            );
        }
    }
    Ok(Tarball {
        id: contents.id,
        findings,
        unsafe_entries: scan.problems,
        files: contents.files,
        executables: contents.executables,
        dirs: contents.dirs,
        top: scan.top,
        digest,
        size,
    })
}

/// A file being hashed, each read announced to whoever uploads what was hashed.
struct Announced<'a> {
    inner: File,
    to: Option<&'a tokio::sync::watch::Sender<Grown>>,
}

impl Read for Announced<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(state) = self.to {
            // The archive is its own measure: what is read of it is what is written.
            state.send_modify(|grown| {
                grown.written += n as u64;
                grown.read = grown.written;
            });
        }
        Ok(n)
    }
}

/// What the files say.
#[derive(Default)]
struct Contents {
    id: Option<Identity>,
    files: BTreeMap<String, Digest>,
    executables: BTreeSet<String>,
    dirs: BTreeSet<String>,
}

fn contents(
    file: File,
    limits: Limits,
    shown: &str,
    findings: &mut Findings,
) -> anyhow::Result<(Contents, Scan)> {
    let mut contents = Contents::default();
    let scan = scan(file, limits, &mut |item| {
        let (inner, data) = match item {
            Item::Dir { inner } => {
                contents.dirs.insert(inner.to_string());
                return Ok(());
            }
            Item::File {
                inner,
                executable,
                data,
            } => {
                if executable {
                    contents.executables.insert(inner.to_string());
                }
                (inner, data)
            }
        };
        let mut hashing = HashingWriter::new(io::sink());
        if inner == PACK_JSON {
            let mut bytes = Vec::new();
            data.take(PACK_JSON_LIMIT + 1).read_to_end(&mut bytes)?;
            io::Write::write_all(&mut hashing, &bytes)?;
            io::copy(data, &mut hashing)?;
            if bytes.len() as u64 > PACK_JSON_LIMIT {
                findings.add(
                    Rule::PackJsonUnreadable,
                    PACK_JSON,
                    None,
                    format!("is larger than {PACK_JSON_LIMIT} bytes"),
                    "keep pack.json to the pack's metadata",
                );
            } else {
                match String::from_utf8(bytes) {
                    Ok(text) => {
                        contents.id = pack_json::pack_json(&text, findings).and_then(|(id, _)| id)
                    }
                    Err(_) => findings.add(
                        Rule::PackJsonUnreadable,
                        PACK_JSON,
                        None,
                        "is not UTF-8".into(),
                        "save pack.json as UTF-8",
                    ),
                }
            }
        } else {
            io::copy(data, &mut hashing)?;
        }
        contents.files.insert(inner.to_string(), hashing.finish().0);
        Ok(())
    })?;
    if !contents.files.contains_key(PACK_JSON) {
        findings.add(
            Rule::ArchiveName,
            shown,
            None,
            "holds no <folder>/pack.json".to_string(),
            "pack the folder that holds pack.json",
        );
    }
    if !contents.files.contains_key(VALUES_YAML) {
        findings.add(
            Rule::ArchiveName,
            shown,
            None,
            "holds no <folder>/values.yaml".to_string(),
            "add values.yaml to the pack (it may be empty)",
        );
    }
    Ok((contents, scan))
}

/// Unpacks the archive at `path` into `dir/<top>`: every entry goes through [`scan`] again into
/// a staging folder inside `dir`, which is renamed into place only when the whole archive was
/// read without a problem, so a refused or interrupted extraction leaves nothing behind.
/// A folder already at `dir/<top>` is a usage error unless `replace` (`--force`).
pub fn extract(path: &Path, dir: &Path, limits: Limits, replace: bool) -> anyhow::Result<PathBuf> {
    let staging = tempfile::Builder::new()
        .prefix(".packpub-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let root = staging.path().join("top");
    std::fs::create_dir(&root)?;
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let scan = scan(file, limits, &mut |item| {
        match item {
            Item::Dir { inner } => std::fs::create_dir_all(root.join(inner))?,
            Item::File {
                inner,
                executable,
                data,
            } => {
                let target = root.join(inner);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                use std::os::unix::fs::OpenOptionsExt;
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(if executable { 0o755 } else { 0o644 })
                    .open(&target)?;
                io::copy(&mut crate::interrupt::Reader(data), &mut out)?;
            }
        }
        Ok(())
    })
    .with_context(|| format!("cannot extract {}", path.display()))?;
    let top = match (scan.top, scan.problems.is_empty()) {
        (Some(top), true) => top,
        (_, _) => {
            return Err(Failure::err(
                Code::VerifyFailed,
                format!(
                    "{} is unsafe to extract; nothing was written",
                    path.display()
                ),
            ));
        }
    };
    let target = dir.join(&top);
    if target.symlink_metadata().is_ok() {
        if !replace {
            return Err(Failure::err(
                Code::Usage,
                format!(
                    "{} already exists: pass --force to replace it, or pull into another folder \
                     (-o DIR)",
                    target.display()
                ),
            ));
        }
        // Moved into the staging folder, removed with it once the new one is in place.
        std::fs::rename(&target, staging.path().join("replaced"))
            .with_context(|| format!("cannot replace {}", target.display()))?;
    }
    std::fs::rename(&root, &target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_or_refused() {
        assert_eq!(clean_path(b"a/./b//c/").unwrap(), "a/b/c");
        for bad in [
            &b"/etc/passwd"[..],
            b"a/../../x",
            b"..",
            b"",
            b"./",
            b"a\0b",
            b"\xff/x",
        ] {
            assert!(clean_path(bad).is_err(), "{bad:?}");
        }
        assert!(clean_path(&vec![b'a'; 5000]).is_err());
    }
}
