//! Entry points for the fuzz harness (tests/fuzz, run with AFL++) and its corpus replay
//! (tests/fuzz_corpus.rs): each takes arbitrary bytes and drives one reader of hostile input
//! the way packpub does. None returns anything: a target passes when it returns, without a
//! panic, soon and within the memory ceiling the harness sets. Not part of packpub's API.

use crate::output::{Color, Output, Style};
use crate::pack::read::{self, Item, Limits};
use crate::pack::write::Recipe;
use crate::pack::{self, ArchiveTo, BuildOptions, Identity, LocalInput};
use crate::registry::reference::Target;
use std::io::{self, Write};
use std::path::Path;

// The parser `login` uses, compiled here a second time because its module is private to
// `registry::client`; once that module is `pub(crate)`, call it there instead.
#[allow(clippy::duplicate_mod)]
#[path = "registry/client/challenge.rs"]
mod challenge;

/// The inflate ceiling the archive targets read under: far below the default (4 GiB), so one
/// input stays well inside the harness's 256 MiB and its time-out.
pub const MAX_INFLATED: u64 = 64 << 20;

const LIMITS: Limits = Limits {
    max_inflated: MAX_INFLATED,
};

/// A valid pack.json, for the target that varies values.yaml.
const PACK_JSON: &[u8] =
    br#"{"name": "fuzz", "displayName": "Fuzz", "version": "1.0.0", "layer": "addon"}"#;

/// `data` as a .tar.gz stream, through [`read::scan`] with a visitor that reads every file's
/// data to its end, as `verify` and `pull` do.
pub fn scan(data: &[u8]) {
    let _ = read::scan(data, LIMITS, &mut |item| {
        if let Item::File { data, .. } = item {
            io::copy(data, &mut io::sink())?;
        }
        Ok(())
    });
}

/// `data` as a tar stream: gzipped here (stored, no compression) and then [`scan`]ned, so the
/// fuzzer mutates tar headers directly instead of a deflate stream.
pub fn scan_tar(data: &[u8]) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    gz.write_all(data).expect("writes to memory");
    scan(&gz.finish().expect("writes to memory"));
}

/// `data` as pack.json, validated as `push` validates a pack archive: in `fuzz/pack.json` of
/// an archive read back by [`read::inspect`] (pack.json's checks are not reachable alone).
pub fn pack_json(data: &[u8]) {
    let Ok(dir) = scratch() else { return };
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::none(),
    ));
    for (name, content) in [("fuzz/pack.json", data), ("fuzz/values.yaml", b"a: 1\n")] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, content)
            .expect("writes to memory");
    }
    let archive = tar
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("writes to memory");
    let path = dir.path().join("fuzz-1.0.0.tar.gz");
    if std::fs::write(&path, archive).is_ok()
        && let Ok(tarball) = read::inspect(&path, true, LIMITS, Default::default())
    {
        for finding in &tarball.findings.list {
            let _ = finding.to_string();
        }
    }
}

/// `data` as values.yaml, validated as `pack` validates a folder: a pack folder holding it and
/// a valid pack.json, loaded by [`pack::load`] under `--strict` (values.yaml's check is not
/// reachable alone; the missing README.md and logo.png make it stop before archiving).
pub fn values_yaml(data: &[u8]) {
    let Ok(dir) = scratch() else { return };
    let folder = dir.path().join("fuzz-1.0.0");
    let written = std::fs::create_dir(&folder)
        .and_then(|()| std::fs::write(folder.join("pack.json"), PACK_JSON))
        .and_then(|()| std::fs::write(folder.join("values.yaml"), data));
    if written.is_err() {
        return;
    }
    let out = Output::new(&Style {
        json: false,
        quiet: true,
        verbose: false,
        color: Color::Never,
        // Quiet: no progress line prints.
        progress_every: std::time::Duration::MAX,
    });
    let build = BuildOptions {
        strict: true,
        profile: Default::default(),
        recipe: Recipe::on_every_core(0),
        allowed: Default::default(),
    };
    let _ = pack::load(
        &LocalInput::Folder(folder),
        &build,
        LIMITS,
        ArchiveTo::Nowhere,
        &out,
    );
}

/// `data` (as text, invalid UTF-8 replaced) as a registry target, a `NAME:VERSION` and a
/// registry URL. What parses must parse again, from the form packpub writes it in, to the
/// same value.
pub fn reference(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(target) = Target::parse(&text) {
        let again = match &target {
            Target::Layout(path) => Target::parse(&format!("oci:{}", path.display())),
            Target::Archive(path) => Target::parse(&format!("oci-archive:{}", path.display())),
            Target::Registry { host, prefix } if prefix.is_empty() => Target::parse(host),
            Target::Registry { host, prefix } => Target::parse(&format!("{host}/{prefix}")),
        };
        assert_eq!(again.as_ref(), Ok(&target), "target {text:?}");
    }
    if let Ok(id) = Identity::parse(&text) {
        assert_eq!(
            Identity::parse(&format!("{}:{}", id.name, id.version)).as_ref(),
            Ok(&id),
            "identity {text:?}"
        );
        let _ = (id.to_string(), id.archive_name());
    }
    if let Ok(host) = crate::host::from_url(&text) {
        assert_eq!(
            crate::host::from_url(&host).as_deref(),
            Ok(host.as_str()),
            "host {text:?}"
        );
    }
}

/// `data` (as text, invalid UTF-8 replaced) as a registry's `WWW-Authenticate` header value,
/// read as `login` reads it, every parameter looked up.
pub fn challenge(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(challenges) = challenge::parse(&text) {
        for found in &challenges {
            let _ = found.is("Bearer");
            for (name, _) in &found.params {
                assert!(found.param(name).is_some(), "challenge {text:?}");
            }
        }
    }
}

/// A fresh folder for one input's files, on tmpfs when there is one, removed when dropped.
fn scratch() -> io::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("packpub-fuzz-")
        .tempdir_in(base)
}
