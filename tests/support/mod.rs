//! Shared test harness: runs the built `packpub` binary and builds pack folders on disk; the
//! submodules run the real servers tests talk to and make their certificates.

pub mod certs;
pub mod forward_proxy;
pub mod fronts;
pub mod hostile;
pub mod nginx;
pub mod palette;
pub mod proxy;
pub mod registry;
pub mod tmux;
pub mod upstream;

use std::fs;
use std::io::ErrorKind;
use std::net::{IpAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// One request as a test server (a hostile liar, the Palette stand-in) received it, and the
/// status it was answered with.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The request body as text, up to 1 MiB (passwords of posted specs included).
    pub body: String,
    pub status: u16,
}

impl Seen {
    /// Reads `request`'s line, headers and body (up to 1 MiB); the status is set once answered.
    pub fn of(request: &mut tiny_http::Request) -> Self {
        use std::io::Read;
        let mut body = Vec::new();
        let _ = request.as_reader().take(1 << 20).read_to_end(&mut body);
        Self {
            method: request.method().to_string(),
            url: request.url().to_string(),
            headers: request
                .headers()
                .iter()
                .map(|h| (h.field.to_string(), h.value.to_string()))
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            status: 0,
        }
    }

    /// The first header called `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or_default()
    }

    /// The query parameter `name`, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.url.split_once('?')?.1;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// The bundled example pack.
pub fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/examples/hello-1.0.0")
}

/// `packpub` with an environment free of the caller's settings and credentials: no
/// `PACKPUB_*`, no keyring (no session bus), an empty docker config and a cache of the test
/// run's own, unless a test adds them.
pub fn packpub() -> Command {
    isolated(Command::new(env!("CARGO_BIN_EXE_packpub")))
}

/// `cmd` (packpub, or a script that runs it) without the caller's packpub settings and
/// credentials: no `PACKPUB_*`, no keyring (no session bus) and an empty docker config.
pub fn isolated(mut cmd: Command) -> Command {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("PACKPUB_")
            || ["SOURCE_DATE_EPOCH", "NO_COLOR", "DBUS_SESSION_BUS_ADDRESS"].contains(&key.as_str())
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("DOCKER_CONFIG", "/nonexistent/packpub-test-docker-config");
    // The re-push cache of the test run, never the user's.
    cmd.env(
        "XDG_CACHE_HOME",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("xdg-cache"),
    );
    cmd
}

/// The outcome of one run, with stdout and stderr as text.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Panics with stderr unless stderr holds `words`.
    pub fn said(&self, words: &str) -> &Self {
        assert!(
            self.stderr.contains(words),
            "wanted {words:?} in:\n{}",
            self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }
}

/// Runs `cmd` with `input` on stdin.
pub fn with_stdin(mut cmd: Command, input: &str) -> Run {
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    Run::of(child.wait_with_output().unwrap())
}

/// Asserts two folders hold the same files with the same bytes (`diff -r`).
pub fn assert_same_tree(a: &Path, b: &Path) {
    let diff = Command::new("diff")
        .arg("-r")
        .arg(a)
        .arg(b)
        .output()
        .expect("diff");
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
}

/// Packs the bundled example into `out`; returns the archive's path.
pub fn pack_example(out: &Path) -> PathBuf {
    run(&[
        "pack",
        example().to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .expect(0);
    out.join("hello-1.0.0.tar.gz")
}

pub fn run(args: &[&str]) -> Run {
    Run::of(packpub().args(args).output().expect("run packpub"))
}

/// Copies a folder recursively, keeping executable bits.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the example pack at `parent/<folder>`.
pub fn example_in(parent: &Path, folder: &str) -> PathBuf {
    let dir = parent.join(folder);
    copy_dir(&example(), &dir);
    dir
}

/// Rewrites pack.json of `dir` through `edit`.
pub fn edit_pack_json(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("pack.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut doc);
    fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The sorted names in a folder.
pub fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Writes `size` bytes of a deterministic mix: half compressible text, half pseudo-random.
pub fn write_mixed(path: &Path, size: usize, seed: u64) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(fs::File::create(path).unwrap());
    let mut state = seed | 1;
    let mut block = vec![0u8; 1 << 16];
    let mut written = 0;
    let mut odd = false;
    while written < size {
        let n = block.len().min(size - written);
        if odd {
            for byte in &mut block[..n] {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = state as u8;
            }
        } else {
            let line = format!("key-{seed}: value {written} lorem ipsum dolor sit amet\n");
            for (i, byte) in block[..n].iter_mut().enumerate() {
                *byte = line.as_bytes()[i % line.len()];
            }
        }
        file.write_all(&block[..n]).unwrap();
        written += n;
        odd = !odd;
    }
    file.flush().unwrap();
}

/// Runs a command and returns its outcome with the child's own peak RSS in KiB (wait4), so
/// other tests running in parallel do not count.
pub fn run_measured(cmd: Command) -> (Run, u64) {
    run_measured_within(cmd, None)
}

/// [`run_measured`] with a deadline on the child: past it the child is killed (SIGKILL) and
/// the test fails saying so, with what the child had printed. This is how a hostile test
/// asserts "it ends": a bound on the child, not a performance threshold.
#[allow(
    clippy::zombie_processes,
    reason = "the child is reaped by wait4 below"
)]
fn run_measured_within(mut cmd: Command, deadline: Option<Duration>) -> (Run, u64) {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        stdout.read_to_end(&mut s).unwrap();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        stderr.read_to_end(&mut s).unwrap();
        s
    });
    let mut status = 0;
    // SAFETY: rusage is plain data, and wait4 reaps only our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let (reaped, reaped_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = deadline.map(|limit| {
        std::thread::spawn(move || {
            let expired = matches!(
                reaped_rx.recv_timeout(limit),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            );
            if expired {
                // SAFETY: kill(2) on our own child, not yet reaped (wait4 has not returned).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            expired
        })
    });
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4 failed");
    let _ = reaped.send(());
    let expired = watchdog.is_some_and(|w| w.join().unwrap());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let run = Run {
        code,
        stdout: String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    };
    assert!(
        !expired,
        "killed after {:?}: it did not end by itself\nstdout:\n{}\nstderr:\n{}",
        deadline.unwrap_or_default(),
        run.stdout,
        run.stderr
    );
    (run, usage.ru_maxrss as u64)
}

/// The memory every run on hostile input must stay under.
pub const HOSTILE_MEMORY: u64 = 256 << 20;

/// [`run_measured`] with the child's data size capped at [`HOSTILE_MEMORY`] (RLIMIT_DATA: heap
/// and every private writable mapping), so a runaway allocation fails inside the child instead
/// of swamping the machine, and the test sees it as a crash.
pub fn run_capped(cmd: Command) -> (Run, u64) {
    run_capped_within(cmd, Duration::from_secs(600))
}

/// [`run_capped`] that must also end within `deadline` (the child is killed, and the test
/// fails, past it).
pub fn run_capped_within(mut cmd: Command, deadline: Duration) -> (Run, u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and touches only the child about to exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: HOSTILE_MEMORY,
                rlim_max: HOSTILE_MEMORY,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    run_measured_within(cmd, Some(deadline))
}

/// Runs tests/support/oras_peer.py (the ORAS Python SDK as another tool's hands) with `args`.
pub fn oras_peer(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/oras_peer.py");
    let out = Command::new(oras_python())
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oras_peer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Python with the ORAS SDK that tests/run.sh installs into a venv.
pub fn oras_python() -> PathBuf {
    let python = std::env::var_os("PACKPUB_TEST_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python")
        });
    assert!(
        python.exists(),
        "no ORAS SDK venv at {}: run tests/run.sh (it creates it)",
        python.display()
    );
    python
}

/// A port nothing listens on right now at `ip`; another process could take it before the
/// caller's server binds it, which loopback-only tests accept (servers that can tell retry).
pub fn free_port(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs a system tool (`program`, from Debian `package`) in `dir` and returns its stdout;
/// panics on failure.
pub fn run_tool(program: &str, package: &str, dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| missing_tool(program, package, &e));
    assert!(
        out.status.success(),
        "`{program} {}` failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Panics for a tool that failed to start, naming the package to install when it is absent.
pub fn missing_tool(program: &str, package: &str, err: &std::io::Error) -> ! {
    if err.kind() == ErrorKind::NotFound {
        panic!(
            "`{program}` is not installed: run `apt-get install -y {package}` (tests/run.sh does)"
        );
    }
    panic!("cannot run `{program}`: {err}");
}

/// A gzip tar of `entries`: (name bytes written as they are, type flag, data).
pub fn raw_tgz(entries: &[(&[u8], tar::EntryType, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    for (name, kind, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        if *kind == tar::EntryType::Symlink {
            header.as_gnu_mut().unwrap().linkname[..11].copy_from_slice(b"/etc/passwd");
        }
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}
