//! Replays the committed fuzz corpora (tests/fuzz/corpus) through the fuzz targets.
//!
//! Every file under `tests/fuzz/corpus/<target>/` goes through the same function of
//! `packpub::fuzz_targets` that the AFL++ binary of that name runs (tests/fuzz), without AFL++:
//! each input must return without a panic and within [`PER_INPUT`]. The corpora are what the
//! campaigns kept (minimised), plus the crashes found (`crash-*`, fixed), so a regression shows
//! here.

use packpub::fuzz_targets;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Far above what any corpus input takes (milliseconds, unoptimised): a hang, not a slow run.
const PER_INPUT: Duration = Duration::from_secs(20);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus")
}

/// Every input of `target`'s corpus.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    files
}

/// Runs `target` on every input of its corpus on a worker thread, naming the input that
/// panicked or did not finish in time.
fn replay(name: &str, target: fn(&[u8])) {
    let files = corpus(name);
    // The worker says which input it starts, then how that input ended.
    let (tell, told) = mpsc::channel::<(PathBuf, Option<Result<(), String>>)>();
    std::thread::spawn(move || {
        for path in files {
            let data = std::fs::read(&path).unwrap();
            if tell.send((path.clone(), None)).is_err() {
                return;
            }
            let outcome = std::panic::catch_unwind(|| target(&data)).map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            });
            if tell.send((path, Some(outcome))).is_err() {
                return;
            }
        }
    });
    let mut current: Option<(PathBuf, Instant)> = None;
    loop {
        match told.recv_timeout(PER_INPUT) {
            Ok((path, None)) => current = Some((path, Instant::now())),
            Ok((_, Some(Ok(())))) => current = None,
            Ok((path, Some(Err(panic)))) => {
                panic!("{name}: {} panicked: {panic}", path.display())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                assert!(current.is_none(), "{name}: the replay stopped mid-input");
                return;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => match &current {
                Some((path, started)) => panic!(
                    "{name}: {} did not finish within {:?}",
                    path.display(),
                    started.elapsed()
                ),
                None => panic!("{name}: the replay stalled between inputs"),
            },
        }
    }
}

#[test]
fn fuzz_corpus_scan() {
    replay("scan", fuzz_targets::scan);
}

#[test]
fn fuzz_corpus_scan_tar() {
    replay("scan_tar", fuzz_targets::scan_tar);
}

#[test]
fn fuzz_corpus_pack_json() {
    replay("pack_json", fuzz_targets::pack_json);
}

#[test]
fn fuzz_corpus_values_yaml() {
    replay("values_yaml", fuzz_targets::values_yaml);
}

#[test]
fn fuzz_corpus_reference() {
    replay("reference", fuzz_targets::reference);
}

#[test]
fn fuzz_corpus_challenge() {
    replay("challenge", fuzz_targets::challenge);
}
