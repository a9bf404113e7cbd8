//! Where words go. stdout carries the results a script reads (`ls`'s listing, the path `pull`
//! or `init` wrote) or the `--json` document; everything meant for a person (summaries,
//! progress, warnings, errors, verbose notes) goes to stderr, as cargo, gh, oras and crane do,
//! so `packpub ls | grep` works and `-q` silences the talk without losing the result. Every line for a person goes
//! through [`escape`] here, once: names and answers from archives and registries may hold
//! terminal escapes, and none of them reaches the terminal raw.

use indicatif::HumanBytes;
use serde::Serialize;
use std::borrow::Cow;
use std::io::{IsTerminal, Write};

/// `text` with every control character but the newline shown as an escape (`\u{1b}`), so
/// nothing printed can move the cursor, recolour, retitle or clear the terminal; the bidi
/// controls too, so nothing printed reads in another order than it is (CVE-2021-42574).
pub fn escape(text: &str) -> Cow<'_, str> {
    let hidden = |c: char| (c.is_control() && c != '\n') || is_bidi_control(c);
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if hidden(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// The characters that reorder text as it is shown: marks, embeddings, overrides, isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Bytes someone else chose (a file name, a registry's answer) made printable: decoded
/// lossily, cut to `max` characters with a `…`, and [`escape`]d.
pub fn excerpt(raw: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut shown: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        shown.push('…');
    }
    escape(&shown).into_owned()
}

/// A live phase of [`Output::phase`]; its spinner goes when it is dropped.
pub struct Phase(Option<indicatif::ProgressBar>);

impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(spinner) = &self.0 {
            spinner.finish_and_clear();
        }
    }
}

/// Where lines from deep inside a command go: `-v` detail, and warnings everyone sees.
#[derive(Clone)]
pub struct Notes {
    verbose: std::sync::Arc<dyn Fn(&str) + Send + Sync>,
    warn: std::sync::Arc<dyn Fn(&str) + Send + Sync>,
}

impl Notes {
    /// Notes that go nowhere.
    #[cfg(test)]
    pub fn silent() -> Self {
        Self {
            verbose: std::sync::Arc::new(|_| {}),
            warn: std::sync::Arc::new(|_| {}),
        }
    }

    pub fn verbose(&self, message: &str) {
        (self.verbose)(message);
    }

    pub fn warn(&self, message: &str) {
        (self.warn)(message);
    }
}

pub struct Output {
    /// Live progress, kept apart from the results printed once work is done.
    progress: Option<indicatif::MultiProgress>,
    json: bool,
    /// Set once the JSON document is out: stdout never holds two.
    json_done: std::sync::atomic::AtomicBool,
    quiet: bool,
    verbose: bool,
    color: bool,
    /// Off a terminal, the pause between progress lines; `None` when nothing may print them.
    heartbeat: Option<std::time::Duration>,
}

#[derive(Clone, Copy)]
enum Tone {
    Error,
    Warning,
    Success,
}

impl Tone {
    fn ansi(self) -> &'static str {
        match self {
            Tone::Error => "\x1b[1;31m",
            Tone::Warning => "\x1b[1;33m",
            Tone::Success => "\x1b[1;32m",
        }
    }
}

/// How this run speaks: what `--json`, `-q`, `-v` and `--color` ask for.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// One JSON document on stdout and nothing else there.
    pub json: bool,
    /// Only errors on stderr.
    pub quiet: bool,
    /// `-v` detail on stderr.
    pub verbose: bool,
    pub color: Color,
    /// Off a terminal, how often long work prints a line saying it is alive.
    pub progress_every: std::time::Duration,
}

/// When stderr is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// Unless NO_COLOR is set or stderr is not a terminal.
    Auto,
    Always,
    Never,
}

impl Output {
    pub fn new(args: &Style) -> Self {
        let color = match args.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        let live = !args.quiet && !args.json && std::io::stderr().is_terminal();
        Self {
            progress: live.then(indicatif::MultiProgress::new),
            json: args.json,
            json_done: std::sync::atomic::AtomicBool::new(false),
            quiet: args.quiet,
            verbose: args.verbose,
            color,
            heartbeat: (!live && !args.quiet && !args.json).then_some(args.progress_every),
        }
    }

    fn paint(&self, style: Tone, label: &str) -> String {
        if self.color {
            format!("{}{label}\x1b[0m", style.ansi())
        } else {
            label.to_string()
        }
    }

    /// Whether `--json` is on.
    pub fn json(&self) -> bool {
        self.json
    }

    /// A result line for a person; `-q` and `--json` silence it.
    pub fn success(&self, headline: &str, details: &[(&str, String)]) {
        if self.quiet || self.json {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "{} {}",
            self.paint(Tone::Success, "✔"),
            escape(headline)
        );
        let width = details.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (key, value) in details {
            let _ = writeln!(err, "  {key:width$}  {}", escape(value));
        }
    }

    /// One line of a result on stdout, the part a script pipes on; `-q` keeps it, and the
    /// `--json` document replaces it.
    pub fn result(&self, line: &str) {
        if !self.json {
            let _ = writeln!(std::io::stdout().lock(), "{}", escape(line));
        }
    }

    /// A byte progress bar (rate, ETA) on a terminal; off one, a hidden bar that a line every
    /// `--progress-every` reports on while the work lasts, so a CI log shows it is alive.
    pub fn bar(&self, len: u64, label: &str) -> indicatif::ProgressBar {
        if let Some(every) = self.heartbeat {
            let label = escape(label).into_owned();
            return heartbeat(len, every, move |bar| {
                format!(
                    "{label}: {}/{} ({}/s)",
                    HumanBytes(bar.position()),
                    HumanBytes(bar.length().unwrap_or(0)),
                    HumanBytes(bar.per_sec() as u64)
                )
            });
        }
        self.progress_bar(
            len,
            label,
            "{prefix:20} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        )
    }

    /// Items done of `len` whose bytes are told too (a pack's images: how many are done says
    /// little while one of several GB is on its way): `2/3 (12s) 1.2 GiB sent` on a terminal;
    /// off one, a line every `--progress-every` while the work lasts.
    pub fn items(&self, len: u64, label: &str) -> Items {
        let bar = match self.heartbeat {
            Some(every) => {
                let label = escape(label).into_owned();
                heartbeat(len, every, move |bar| {
                    format!(
                        "{label}: {} of {} done, {}",
                        bar.position(),
                        bar.length().unwrap_or(0),
                        bar.message()
                    )
                })
            }
            None => self.progress_bar(
                len,
                label,
                "{prefix:20} {bar:30} {pos}/{len} ({elapsed}) {msg}",
            ),
        };
        let items = Items(bar);
        items.sent(0);
        items
    }

    /// A bar counting things done (packs of a run) on a terminal; a hidden one otherwise.
    pub fn counter(&self, len: u64, label: &str) -> indicatif::ProgressBar {
        self.progress_bar(len, label, "{prefix:20} {bar:30} {pos}/{len} ({elapsed})")
    }

    fn progress_bar(&self, len: u64, label: &str, template: &str) -> indicatif::ProgressBar {
        let Some(multi) = &self.progress else {
            return indicatif::ProgressBar::hidden();
        };
        let bar = multi.add(indicatif::ProgressBar::new(len));
        bar.set_style(indicatif::ProgressStyle::with_template(template).expect("a valid template"));
        bar.set_prefix(escape(label).into_owned());
        bar
    }

    /// A phase of a long wait: a spinner with the phase and the time elapsed on a terminal,
    /// else one line per phase (none with `-q` or `--json`).
    pub fn phase(&self, message: &str) -> Phase {
        match &self.progress {
            Some(multi) => {
                let spinner = multi.add(indicatif::ProgressBar::new_spinner());
                spinner.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                        .expect("a valid template"),
                );
                spinner.enable_steady_tick(std::time::Duration::from_millis(120));
                spinner.set_message(escape(message).into_owned());
                Phase(Some(spinner))
            }
            None => {
                if !self.quiet && !self.json {
                    eprintln!("{}", escape(message));
                }
                Phase(None)
            }
        }
    }

    /// A warning; `-q` silences it, `--json` does not (the JSON document repeats it).
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!(
                "{} {}",
                self.paint(Tone::Warning, "warning:"),
                escape(message)
            );
        }
    }

    /// An error line; never silenced.
    pub fn error(&self, message: &str) {
        eprintln!("{} {}", self.paint(Tone::Error, "error:"), escape(message));
    }

    /// Detail shown with `-v` only.
    pub fn verbose(&self, message: &str) {
        if self.verbose && !self.quiet {
            verbose_line(message);
        }
    }

    /// [`Output::verbose`] and [`Output::warn`] as owned callbacks, for work that outlives a
    /// borrow (the registry client naming where a password goes).
    pub fn notes(&self) -> Notes {
        let verbose = self.verbose && !self.quiet;
        let warning = (!self.quiet).then(|| self.paint(Tone::Warning, "warning:"));
        Notes {
            verbose: std::sync::Arc::new(move |message| {
                if verbose {
                    verbose_line(message);
                }
            }),
            warn: std::sync::Arc::new(move |message| {
                if let Some(label) = &warning {
                    eprintln!("{label} {}", escape(message));
                }
            }),
        }
    }

    /// The one JSON document of a `--json` run; later calls print nothing.
    pub fn print_json(&self, value: &impl Serialize) {
        if self.json {
            self.print_document(value);
        }
    }

    /// Prints `value` as the run's one JSON document on stdout whether or not `--json` was
    /// given: for a format the user chose another way (`lint --format json`).
    pub fn print_document(&self, value: &impl Serialize) {
        if !self
            .json_done
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            let mut out = std::io::stdout().lock();
            let _ = serde_json::to_writer_pretty(&mut out, value);
            let _ = writeln!(out);
        }
    }
}

/// A hidden bar of `len` whose state `line` prints every `every` until it is finished or
/// dropped.
fn heartbeat(
    len: u64,
    every: std::time::Duration,
    line: impl Fn(&indicatif::ProgressBar) -> String + Send + 'static,
) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::hidden(),
    );
    let watched = bar.downgrade();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(every);
            let Some(bar) = watched.upgrade().filter(|b| !b.is_finished()) else {
                return;
            };
            eprintln!("{}", line(&bar));
        }
    });
    bar
}

/// What [`Output::items`] shows.
pub struct Items(indicatif::ProgressBar);

impl Items {
    pub fn done_one(&self) {
        self.0.inc(1);
    }

    /// `bytes` sent so far, all items together.
    pub fn sent(&self, bytes: u64) {
        self.0.set_message(format!("{} sent", HumanBytes(bytes)));
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn verbose_line(message: &str) {
    eprintln!("  {}", escape(message));
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(escape("plain\nlines"), "plain\nlines");
        let hostile = "evil\x1b]0;owned\x07\x1b[2Jname\r\t\u{9b}31m";
        let shown = escape(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(shown.contains("\\u{1b}"), "{shown}");
        let reordered = escape("quay.io/org/img:1\u{202e}nimda");
        assert_eq!(reordered, "quay.io/org/img:1\\u{202e}nimda");
    }
}
