//! Every wait has a deadline (issue 20, class 1): a server that trickles, one that accepts and
//! never answers, one that asks to come back in 30 years, a listing that never ends, and a
//! signal while packpub waits on the network. Each test bounds the child (the harness kills it
//! and fails past a deadline well above what the fixed packpub takes, well below what it took
//! before) and asserts the exit code and what the user reads.

use crate::support::hostile::{Raw, Reply, Server};
use crate::support::*;
use serde_json::json;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TAGS: &str = "/v2/spectro-packs/archive/hello/tags/list";

/// `sync` of `<registry>/proj` against Palette at `palette` (plain HTTP) with `--timeout`.
fn sync_within(palette: &str, timeout: &str) -> Command {
    let mut cmd = packpub();
    cmd.args([
        "sync",
        "--registry",
        "127.0.0.1:9/proj",
        "--plain-http",
        "--timeout",
        timeout,
    ])
    .env("SPECTROCLOUD_HOST", format!("http://{palette}"))
    .env("SPECTROCLOUD_APIKEY", "key-for-the-test");
    cmd
}

fn assert_said(run: &Run, words: &str) {
    assert!(
        run.stderr.contains(words),
        "wanted {words:?} in:\n{}",
        run.stderr
    );
}

#[test]
fn sync_timeout_holds_against_a_palette_that_trickles_its_answer() {
    let summary =
        json!({"items": [{"metadata": {"uid": "u", "name": "lab"}}], "pad": "x".repeat(4096)});
    let palette = Raw::trickling(
        summary.to_string().into_bytes(),
        0,
        Duration::from_millis(100),
    );
    let (run, rss) = run_capped_within(sync_within(&palette.host(), "3s"), Duration::from_secs(40));
    eprintln!("sync against a trickling Palette: peak RSS {rss} KiB");
    let run = run.expect(7);
    assert_said(
        &run,
        &format!(
            "error: Palette at {} did not answer v1/registries/oci/summary within the 3 s --timeout allows",
            palette.host()
        ),
    );
    assert!(rss < HOSTILE_MEMORY / 1024, "peak RSS {rss} KiB");
}

#[test]
fn sync_timeout_holds_against_a_palette_that_never_answers() {
    let palette = Raw::silent();
    let (run, _) = run_capped_within(sync_within(&palette.host(), "3s"), Duration::from_secs(40));
    assert_said(
        &run.expect(7),
        &format!(
            "error: Palette at {} did not answer v1/registries/oci/summary within the 3 s --timeout allows",
            palette.host()
        ),
    );
}

#[test]
fn a_retry_after_of_decades_is_waited_only_until_the_timeout() {
    let palette = Server::start(|_| Reply::status(429).header("Retry-After", "999999999"));
    let started = Instant::now();
    let (run, _) = run_capped_within(sync_within(&palette.host(), "3s"), Duration::from_secs(40));
    assert_said(&run.expect(7), "within the 3 s --timeout allows");
    // Asked once, then waited (the 30 s cap is longer than the 3 s left): not a retry storm.
    assert_eq!(palette.seen().len(), 1, "{:?}", started.elapsed());
}

/// A registry whose every request is challenged for a token from `realm`.
fn challenging(realm: &Raw) -> Server {
    let challenge = format!(
        r#"Bearer realm="http://{}/token",service="slow""#,
        realm.host()
    );
    Server::start(move |_| Reply::status(401).header("WWW-Authenticate", &challenge))
}

/// `ls hello` of `host` over plain HTTP, no retries, requests timed out after `timeout`.
fn ls_with_requests(host: &str, timeout: &str) -> Command {
    let mut cmd = packpub();
    cmd.args([
        "ls",
        "hello",
        "--registry",
        host,
        "--plain-http",
        "--retries",
        "0",
    ])
    .env("PACKPUB_REQUEST_TIMEOUT", timeout)
    .env("PACKPUB_USERNAME", "user")
    .env("PACKPUB_PASSWORD", "a-password");
    cmd
}

#[test]
fn a_token_service_that_trickles_is_given_up_on_after_the_request_timeout() {
    let token = json!({"token": "t".repeat(2048)}).to_string().into_bytes();
    let realm = Raw::trickling(token, 0, Duration::from_millis(100));
    let registry = challenging(&realm);
    let (run, _) = run_capped_within(
        ls_with_requests(&registry.host(), "2s"),
        Duration::from_secs(40),
    );
    let run = run.expect(7);
    assert_said(
        &run,
        &format!(
            "error: the token service of {} on {} did not answer within 2 s (--request-timeout)",
            registry.host(),
            realm.host()
        ),
    );
    assert!(!run.stderr.contains("a-password"), "{}", run.stderr);
}

/// The number after the `v<N>` a listing's `last` names (0 on the first page).
fn next_number(seen: &crate::support::Seen) -> u64 {
    seen.query("last")
        .map_or(0, |last| last[1..].parse::<u64>().unwrap() + 1)
}

#[test]
fn a_listing_that_never_ends_stops_on_entries_and_on_time() {
    // 1,000 new names a page: the entry cap ends it long before 10,000 pages.
    let wide = Server::start(|seen| match seen.path() {
        "/v2/" => Reply::json(&json!({})),
        TAGS => {
            let n = next_number(seen);
            let tags: Vec<String> = (n..n + 1000).map(|i| format!("v{i}")).collect();
            Reply::json(&json!({"tags": tags})).header(
                "Link",
                &format!(r#"<{TAGS}?n=1000&last=v{}>; rel="next""#, n + 999),
            )
        }
        _ => Reply::status(404),
    });
    let (run, rss) = run_capped_within(
        ls_with_requests(&wide.host(), "1m"),
        Duration::from_secs(120),
    );
    eprintln!("an endless listing of 1,000 names a page: peak RSS {rss} KiB");
    assert_said(
        &run.expect(1),
        "the registry named over 250000 entries; stopped there",
    );
    assert!(rss < HOSTILE_MEMORY / 1024, "peak RSS {rss} KiB");

    // One name a page, each page slow but within its own timeout: the listing's time ends it.
    let slow = Server::start(|seen| match seen.path() {
        "/v2/" => Reply::json(&json!({})),
        TAGS => {
            std::thread::sleep(Duration::from_millis(200));
            let n = next_number(seen);
            Reply::json(&json!({"tags": [format!("v{n}")]}))
                .header("Link", &format!(r#"<{TAGS}?n=100&last=v{n}>; rel="next""#))
        }
        _ => Reply::status(404),
    });
    let (run, _) = run_capped_within(
        ls_with_requests(&slow.host(), "2s"),
        Duration::from_secs(60),
    );
    assert_said(
        &run.expect(1),
        "the listing was not over after 6 s; stopped there",
    );
}

/// Starts `cmd`, sends `signal` once it has waited a second on the network, and returns its
/// exit code; fails if it has not ended 10 s after the signal.
fn signalled(mut cmd: Command, signal: libc::c_int) -> i32 {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still waiting 10 s after the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_first_signal_ends_a_wait_on_the_network() {
    let registry = Raw::silent();
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        // The request timeout (2 minutes) is far off: only the signal can end this in time.
        let mut ls = packpub();
        ls.args(["ls", "--registry", &registry.host(), "--plain-http"]);
        assert_eq!(signalled(ls, signal), code, "ls, signal {signal}");
        let palette = Raw::silent();
        let sync = sync_within(&palette.host(), "15m");
        assert_eq!(signalled(sync, signal), code, "sync, signal {signal}");
    }
}
