//! Local state shared between runs (issue 20, classes 3 and 4): concurrent writers into one
//! layout or bundle lose nothing, a bundle reached through a link is written where the link
//! points, and lock folders or cache entries another local user planted neither hang, redirect
//! nor fool packpub.

use crate::support::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// Well past what any case here needs on a loaded two-core machine; a hang is killed there.
const DEADLINE: Duration = Duration::from_secs(120);

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

/// `count` copies of the example named `p00`, `p01`, … under `parent`.
fn packs(parent: &Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let name = format!("p{i:02}");
            let dir = example_in(parent, &name);
            edit_pack_json(&dir, |doc| doc["name"] = name.into());
            dir
        })
        .collect()
}

/// Runs every command at once, each capped and bounded; their runs and peak RSS.
fn all_at_once(cmds: Vec<Command>) -> Vec<(Run, u64)> {
    let runs: Vec<_> = cmds
        .into_iter()
        .map(|cmd| std::thread::spawn(move || run_capped_within(cmd, DEADLINE)))
        .collect();
    runs.into_iter().map(|r| r.join().unwrap()).collect()
}

fn push_cmd(packs: &[PathBuf], target: &str) -> Command {
    let mut cmd = packpub();
    cmd.arg("push").args(packs).args(["--registry", target]);
    cmd
}

/// The ref names an `index.json` lists, sorted.
fn ref_names(index: &[u8]) -> Vec<String> {
    let index: serde_json::Value = serde_json::from_slice(index).unwrap();
    let mut names: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(String::from)
        .collect();
    names.sort();
    names
}

/// The ref names of the `index.json` in the bundle `bundle`.
fn bundle_refs(bundle: &Path) -> Vec<String> {
    let mut archive = tar::Archive::new(fs::File::open(bundle).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path_bytes().as_ref() == b"index.json" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            return ref_names(&bytes);
        }
    }
    panic!("{} holds no index.json", bundle.display());
}

fn expected_refs(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("spectro-packs/archive/p{i:02}:1.0.0"))
        .collect()
}

fn report(case: &str, runs: &[(Run, u64)], started: std::time::Instant) {
    let rss = runs.iter().map(|(_, rss)| *rss).max().unwrap_or(0);
    eprintln!(
        "{case}: {} runs, peak RSS {rss} KiB, {:?}",
        runs.len(),
        started.elapsed()
    );
}

#[test]
fn concurrent_pushes_into_one_layout_keep_every_pack() {
    let tmp = TempDir::new().unwrap();
    let all = packs(tmp.path(), 50);
    let layout = tmp.path().join("layout");
    let target = format!("oci:{}", layout.display());
    let started = std::time::Instant::now();
    let runs = all_at_once(all.chunks(10).map(|c| push_cmd(c, &target)).collect());
    report("5 pushes into one layout", &runs, started);
    for (run, _) in runs {
        run.expect(0);
    }
    assert_eq!(
        ref_names(&fs::read(layout.join("index.json")).unwrap()),
        expected_refs(50)
    );
}

#[test]
fn concurrent_copies_into_one_bundle_through_two_paths_keep_every_pack() {
    let tmp = TempDir::new().unwrap();
    let all = packs(tmp.path(), 20);
    let source = format!("oci:{}", tmp.path().join("source").display());
    run_capped_within(push_cmd(&all, &source), DEADLINE)
        .0
        .expect(0);
    // One bundle, two names: usb/p.tar and site/p.tar, site being a link to usb.
    fs::create_dir(tmp.path().join("usb")).unwrap();
    std::os::unix::fs::symlink("usb", tmp.path().join("site")).unwrap();
    let copies = (0..4).map(|i| {
        let folder = if i % 2 == 0 { "usb" } else { "site" };
        let bundle = format!("oci-archive:{}/{folder}/p.tar", tmp.path().display());
        let mut cmd = packpub();
        cmd.args(["copy", &source, &bundle]);
        cmd.args((i * 5..i * 5 + 5).map(|p| format!("p{p:02}:1.0.0")));
        cmd
    });
    let started = std::time::Instant::now();
    let runs = all_at_once(copies.collect());
    report("4 copies into one bundle", &runs, started);
    for (run, _) in runs {
        run.expect(0);
    }
    assert_eq!(
        bundle_refs(&tmp.path().join("usb/p.tar")),
        expected_refs(20)
    );
}

#[test]
fn a_bundle_that_is_a_link_is_written_where_it_points() {
    let tmp = TempDir::new().unwrap();
    let all = packs(tmp.path(), 2);
    for folder in ["usb", "site"] {
        fs::create_dir(tmp.path().join(folder)).unwrap();
    }
    let real = tmp.path().join("usb/p.tar");
    let link = tmp.path().join("site/p.tar");
    run_capped_within(
        push_cmd(&all[..1], &format!("oci-archive:{}", real.display())),
        DEADLINE,
    )
    .0
    .expect(0);
    std::os::unix::fs::symlink("../usb/p.tar", &link).unwrap();
    let (run, rss) = run_capped_within(
        push_cmd(&all[1..], &format!("oci-archive:{}", link.display())),
        DEADLINE,
    );
    eprintln!("push through a bundle link: peak RSS {rss} KiB");
    run.expect(0);
    assert!(
        fs::symlink_metadata(&link).unwrap().is_symlink(),
        "the link was replaced"
    );
    assert_eq!(bundle_refs(&real), expected_refs(2));
}

#[test]
fn a_layout_whose_blob_folder_is_a_link_is_refused() {
    let tmp = TempDir::new().unwrap();
    let all = packs(tmp.path(), 1);
    let layout = tmp.path().join("layout");
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(layout.join("blobs")).unwrap();
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, layout.join("blobs/sha256")).unwrap();
    let (run, rss) = run_capped_within(
        push_cmd(&all, &format!("oci:{}", layout.display())),
        DEADLINE,
    );
    eprintln!("push into a layout with linked blobs: peak RSS {rss} KiB");
    let run = run.expect(6);
    assert!(
        run.stderr.contains("blobs/sha256") && run.stderr.contains("symbolic link"),
        "{}",
        run.stderr
    );
    assert!(
        list(&elsewhere).is_empty(),
        "blobs were written through the link"
    );
}

/// A push of `pack` into a fresh layout under `tmp`, with the locks in `tmp/shared` (the
/// temp folder, XDG_RUNTIME_DIR unset) and the wait bounded at `timeout`.
fn push_with_temp_locks(tmp: &Path, pack: &Path, timeout: &str) -> Command {
    let mut cmd = push_cmd(
        &[pack.to_path_buf()],
        &format!("oci:{}", tmp.join("layout").display()),
    );
    cmd.env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", tmp.join("shared"))
        .env("PACKPUB_LOCK_TIMEOUT", timeout);
    cmd
}

/// The temp folder every user shares (mode 1777, as /tmp), and the name of this user's lock
/// folder in it.
fn shared_temp(tmp: &Path) -> PathBuf {
    let shared = tmp.join("shared");
    fs::create_dir(&shared).unwrap();
    set_mode(tmp, 0o755);
    set_mode(&shared, 0o1777);
    // SAFETY: geteuid cannot fail and touches no memory.
    shared.join(format!("packpub-locks-{}", unsafe { libc::geteuid() }))
}

/// The lock file of pushing hello-like pack `name` 1.0.0 into the layout `tmp/layout`.
fn lock_name(tmp: &Path, name: &str) -> String {
    use sha2::Digest as _;
    let reference = format!(
        "oci:{}:spectro-packs/archive/{name}:1.0.0",
        tmp.join("layout").display()
    );
    format!("{:x}", sha2::Sha256::digest(reference.as_bytes()))
}

fn mkfifo(path: &Path) {
    let name = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o666) }, 0);
}

/// A lock folder others can write into, with a FIFO, then a link, planted at the lock name:
/// it is refused (exit 7, naming it and its mode), neither waited on nor written through.
#[test]
fn a_lock_folder_others_can_write_is_refused() {
    let tmp = TempDir::new().unwrap();
    let all = packs(tmp.path(), 1);
    let folder = shared_temp(tmp.path());
    fs::create_dir(&folder).unwrap();
    set_mode(&folder, 0o777);
    let planted = folder.join(lock_name(tmp.path(), "p00"));
    let victim = tmp.path().join("victim");
    for plant in ["FIFO", "link"] {
        let _ = fs::remove_file(&planted);
        match plant {
            "FIFO" => mkfifo(&planted),
            _ => std::os::unix::fs::symlink(&victim, &planted).unwrap(),
        }
        let (run, rss) =
            run_capped_within(push_with_temp_locks(tmp.path(), &all[0], "1h"), DEADLINE);
        eprintln!("push with a {plant} in a lock folder others can write: peak RSS {rss} KiB");
        let run = run.expect(7);
        assert!(
            run.stderr.contains(&folder.display().to_string()) && run.stderr.contains("mode"),
            "{}",
            run.stderr
        );
        assert!(
            !victim.exists(),
            "a file appeared where the planted link points"
        );
        assert!(!tmp.path().join("layout/index.json").exists());
    }
}

/// Another user made this user's lock folder first (as root: as `nobody`, through setpriv),
/// with a FIFO at the lock name: refused (exit 7) for its owner, at once.
#[test]
fn a_lock_folder_another_user_made_is_refused() {
    if !is_root() {
        eprintln!("skipped: only root can act as another user to plant the folder");
        return;
    }
    let tmp = TempDir::new().unwrap();
    let all = packs(tmp.path(), 1);
    let folder = shared_temp(tmp.path());
    let folder_arg = folder.to_str().unwrap();
    let fifo = folder.join(lock_name(tmp.path(), "p00"));
    let script = format!(
        "mkdir -m 700 {folder_arg} && mkfifo -m 666 {} && chmod 755 {folder_arg}",
        fifo.display()
    );
    let planted = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
        ])
        .arg(&script)
        .status()
        .expect("setpriv (util-linux)");
    assert!(planted.success());
    let (run, rss) = run_capped_within(push_with_temp_locks(tmp.path(), &all[0], "1h"), DEADLINE);
    eprintln!("push with another user's lock folder: peak RSS {rss} KiB");
    let run = run.expect(7);
    assert!(
        run.stderr.contains(folder_arg) && run.stderr.contains("belongs to user 65534"),
        "{}",
        run.stderr
    );
}

/// Holds an exclusive flock on every file in `folder` until the returned files are dropped.
fn hold_all(folder: &Path) -> Vec<fs::File> {
    fs::read_dir(folder)
        .unwrap()
        .map(|entry| {
            let file = fs::File::open(entry.unwrap().path()).unwrap();
            file.try_lock().unwrap();
            file
        })
        .collect()
}

/// One pack pushed (so its lock files exist), then every lock in the shared folder held as
/// another packpub would: the packs, the lock folder and the held locks.
fn pushed_then_held(tmp: &Path) -> (Vec<PathBuf>, PathBuf, Vec<fs::File>) {
    let all = packs(tmp, 1);
    let folder = shared_temp(tmp);
    run_capped_within(push_with_temp_locks(tmp, &all[0], "1h"), DEADLINE)
        .0
        .expect(0);
    let held = hold_all(&folder);
    (all, folder, held)
}

/// Another packpub holds the lock past PACKPUB_LOCK_TIMEOUT: exit 7 after the bound, naming
/// the lock file and the process to wait for.
#[test]
fn a_lock_held_past_the_bound_ends_in_exit_7() {
    let tmp = TempDir::new().unwrap();
    let (all, folder, _held) = pushed_then_held(tmp.path());
    let started = std::time::Instant::now();
    let (run, rss) = run_capped_within(push_with_temp_locks(tmp.path(), &all[0], "2s"), DEADLINE);
    eprintln!(
        "push waiting on a held lock: peak RSS {rss} KiB, {:?}",
        started.elapsed()
    );
    let run = run.expect(7);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(
        run.stderr.contains(&folder.display().to_string())
            && run.stderr.contains("gave up after 2s")
            && run.stderr.contains("PACKPUB_LOCK_TIMEOUT"),
        "{}",
        run.stderr
    );
}

/// The first SIGTERM ends a lock wait at once, with 143 and packpub's own message.
#[test]
fn sigterm_ends_a_lock_wait() {
    let tmp = TempDir::new().unwrap();
    let (all, _, _held) = pushed_then_held(tmp.path());
    let push = push_with_temp_locks(tmp.path(), &all[0], "1h");
    // The shell becomes packpub (exec), so the deadline kills packpub itself and the exit code
    // is its own; a background shell sends the signal once the wait has begun.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", r#"(sleep 2; kill -TERM $$) & exec "$0" "$@""#])
        .arg(push.get_program())
        .args(push.get_args());
    for (key, value) in push.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let (run, rss) = run_capped_within(cmd, Duration::from_secs(30));
    eprintln!("SIGTERM during a lock wait: peak RSS {rss} KiB");
    let run = run.expect(143);
    assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
}

/// A cache folder others can write is not believed: an entry planted there cannot turn a
/// changed pack into "already published" (exit 5, as without the cache), and a warning says so.
#[test]
fn a_cache_others_can_write_is_ignored() {
    let tmp = TempDir::new().unwrap();
    let all = packs(tmp.path(), 1);
    let cache = tmp.path().join("cache");
    let layout = |n: &str| format!("oci:{}", tmp.path().join(n).display());
    let push = |target: &str| {
        let mut cmd = push_cmd(&all, target);
        cmd.env("PACKPUB_CACHE_DIR", &cache);
        run_capped_within(cmd, DEADLINE)
    };
    push(&layout("published")).0.expect(0);
    let entries = cache
        .join("archives")
        .join(&list(&cache.join("archives"))[0]);
    let original = list(&entries);
    // The same version with other content, pushed elsewhere: its entry is the second one.
    fs::write(all[0].join("values.yaml"), "changed: true\n").unwrap();
    push(&layout("elsewhere")).0.expect(0);
    let changed = list(&entries)
        .into_iter()
        .find(|e| !original.contains(e))
        .unwrap();
    // Another user's write: the changed content "makes" the published archive.
    fs::copy(entries.join(&original[0]), entries.join(&changed)).unwrap();
    set_mode(&entries, 0o777);
    let (run, rss) = push(&layout("published"));
    eprintln!("push with a cache others can write: peak RSS {rss} KiB");
    let run = run.expect(5);
    assert!(
        run.stderr.contains("ignoring the re-push cache")
            && run.stderr.contains(&entries.display().to_string()),
        "{}",
        run.stderr
    );
    // Made private again, the same (wrong) entry is believed: the check is what decided.
    set_mode(&entries, 0o700);
    push(&layout("published")).0.expect(0);
}
