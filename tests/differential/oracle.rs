//! The oracle: `palette-readers` (tests/oracle), Go's own readers as Palette runs them, built
//! offline from Debian's Go packages and asked one file at a time over a pipe.

use base64::Engine;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// What Go's readers said of one file.
#[derive(Debug, Clone)]
pub struct Answer {
    pub ok: bool,
    pub reader: String,
    pub error: String,
}

pub struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// Builds the oracle once per test run (build.sh does nothing when it is up to date).
fn binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = root.join("target/oracle/palette-readers");
        let status = Command::new(root.join("tests/oracle/build.sh"))
            .arg(&out)
            .current_dir(root)
            .status()
            .expect("run tests/oracle/build.sh");
        assert!(
            status.success(),
            "the Go oracle did not build (tests/run.sh installs golang-go and Debian's Go YAML, sigs.k8s.io/yaml and Sprig packages)"
        );
        out
    })
}

impl Oracle {
    pub fn start() -> Self {
        let mut child = Command::new(binary())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start palette-readers");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self {
            child,
            stdin,
            stdout,
        }
    }

    /// Go's verdict on `data` read as `kind` (values, manifest, template, yaml, yaml-map, chart,
    /// chart-yaml).
    pub fn ask(&mut self, kind: &str, data: &[u8]) -> Answer {
        let request = json!({
            "kind": kind,
            "data": base64::engine::general_purpose::STANDARD.encode(data),
        });
        writeln!(self.stdin, "{request}").expect("write to the oracle");
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read the oracle's answer");
        let answer: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the oracle answered {line:?}: {e}"));
        let text = |key: &str| answer[key].as_str().unwrap_or_default().to_string();
        assert_ne!(text("reader"), "request", "bad request: {}", text("error"));
        Answer {
            ok: answer["ok"].as_bool().expect("ok is a bool"),
            reader: text("reader"),
            error: text("error"),
        }
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
