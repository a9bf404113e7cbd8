//! A real terminal for what only shows on one (progress bars, password prompts): a tmux
//! server of the test's own (its socket in a temp dir) running one command in a detached
//! session, read back with `capture-pane` and typed into with `send-keys`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub struct Tmux {
    dir: TempDir,
}

impl Tmux {
    /// Runs `program args` in a 160x40 terminal with the environment of `env` (a [`Command`]
    /// whose variables are set up as for packpub, e.g. [`super::packpub`]); when the program
    /// ends, the pane shows `[exit N]` and stays.
    pub fn run(env: Command, program: &Path, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        let mut line = quote(program.to_str().unwrap());
        for arg in args {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        line.push_str("; echo \"[exit $?]\"; sleep 600");
        let mut tmux = Command::new("tmux");
        tmux.envs(env.get_envs().filter_map(|(k, v)| Some((k, v?))));
        for (key, value) in env.get_envs() {
            if value.is_none() {
                tmux.env_remove(key);
            }
        }
        let status = tmux
            .arg("-S")
            .arg(dir.path().join("socket"))
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "40",
            ])
            .args(["sh", "-c", &line])
            .status()
            .expect("tmux (apt-get install tmux)");
        assert!(status.success(), "tmux new-session failed");
        Self { dir }
    }

    fn tmux(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(self.dir.path().join("socket"));
        cmd
    }

    /// What the terminal shows now.
    pub fn screen(&self) -> String {
        let out = self.tmux().args(["capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen once `done` holds for it; panics with the last screen after `within`.
    pub fn wait_for(&self, within: Duration, mut done: impl FnMut(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(start.elapsed() < within, "timed out; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `text` and Enter.
    pub fn type_line(&self, text: &str) {
        let sent = self
            .tmux()
            .args(["send-keys", "-l", text])
            .status()
            .unwrap();
        assert!(sent.success());
        let enter = self.tmux().args(["send-keys", "Enter"]).status().unwrap();
        assert!(enter.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}
