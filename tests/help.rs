//! Help a person can read (issue 22): options grouped under headings, each verb showing the
//! flags it uses, examples at the end, and `-h` of the common verbs fitting one terminal screen
//! (a real one: tmux, 160x40).

use crate::support::tmux::Tmux;
use crate::support::*;
use std::path::Path;
use std::time::Duration;

#[test]
fn short_help_of_the_common_verbs_fits_one_screen() {
    for verb in [
        "push", "pack", "lint", "verify", "ls", "pull", "copy", "sync",
    ] {
        let term = Tmux::run(
            packpub(),
            Path::new(env!("CARGO_BIN_EXE_packpub")),
            &[verb, "-h"],
        );
        let screen = term.wait_for(Duration::from_secs(30), |s| s.contains("[exit "));
        // The first line still on the screen: nothing scrolled off the top.
        assert!(
            screen.contains(&format!("Usage: packpub {verb}")) && screen.contains("[exit 0]"),
            "`packpub {verb} -h` does not fit a 40-line terminal:\n{screen}"
        );
        assert!(screen.contains("Examples:"), "{screen}");
    }
}

#[test]
fn long_help_groups_options_and_shows_only_what_the_verb_uses() {
    let help = |verb: &str| run(&[verb, "--help"]).expect(0).stdout;
    let push = help("push");
    for heading in [
        "Checks and archive:",
        "TLS and network:",
        "Credentials:",
        "Palette:",
        "Output and waits:",
        "Examples:",
    ] {
        assert!(
            push.contains(heading),
            "push --help lacks {heading}:\n{push}"
        );
    }
    // Options of every kind no longer interleave: each heading's block holds its own.
    let tls = push.split("TLS and network:").nth(1).unwrap();
    let tls = tls.split("\n\n").next().unwrap();
    assert!(
        tls.contains("--ca-file") && !tls.contains("--username"),
        "{tls}"
    );
    assert!(push.contains("--chunk-size"), "{push}");
    for verb in ["login", "ls", "verify", "pull", "sync"] {
        let text = help(verb);
        assert!(
            !text.contains("--chunk-size"),
            "{verb} --help offers --chunk-size, which does nothing there"
        );
    }
    let sync = help("sync");
    assert!(
        !sync.contains("oci:") && !sync.contains("oci-archive:"),
        "sync offers targets it refuses:\n{sync}"
    );
    // Hidden from -h is not hidden from --help.
    let short = run(&["push", "-h"]).expect(0).stdout;
    assert!(!short.contains("--chunk-size") && !short.contains("--cert-file"));
    assert!(push.contains("--cert-file"));
}
