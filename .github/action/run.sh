#!/usr/bin/env bash
# The packpub GitHub Action's work (action.yml runs it; tests/action.rs runs it locally):
# installs a packpub release for this runner, checked against the release's SHA256SUMS, and,
# given packs, pushes them with `packpub push --json`, writing the result to the step's outputs
# and a Markdown table to the job summary.
#
# Inputs arrive as INPUT_* variables (action.yml maps them): VERSION, TARGET, DOWNLOAD_URL,
# PACKS, REGISTRY, USERNAME, PASSWORD, SYNC. ACTION_REF and ACTION_REPOSITORY say where the
# action was taken from (the default release). Other settings reach packpub through its own
# PACKPUB_* variables (PACKPUB_PLAIN_HTTP, PACKPUB_CA_FILE, ...) and SPECTROCLOUD_APIKEY for
# --sync, set in the step's env.
#
# Kept to bash 3.2 (macOS runners), curl, tar, jq and sha256sum or shasum: what GitHub's
# hosted runners have.
set -euo pipefail

fail() {
  echo "::error title=packpub action::$*"
  exit 2
}

# The password reaches packpub on stdin only: never argv, never packpub's environment, and
# never an expanded word that `bash -x` would print (so no assignment, no test of its value).
if [ -n "${INPUT_PASSWORD:+given}" ]; then
  exec 3<<<"$INPUT_PASSWORD"
  unset INPUT_PASSWORD
  password_given=1
else
  exec 3</dev/null
  password_given=
fi

# The release this action's own tag names, or the one asked for.
version=${INPUT_VERSION:-}
if [ -z "$version" ]; then
  case "${ACTION_REF:-}" in
    v[0-9]*) version=${ACTION_REF} ;;
    *) fail "set the input 'version' (e.g. 0.1.0): this action was not taken from a release tag" ;;
  esac
fi
version=${version#v}

target=${INPUT_TARGET:-}
if [ -z "$target" ]; then
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) target=x86_64-unknown-linux-musl ;;
    Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-musl ;;
    Darwin/x86_64) target=x86_64-apple-darwin ;;
    Darwin/arm64) target=aarch64-apple-darwin ;;
    *) fail "no packpub release for $(uname -s) $(uname -m): packpub runs on Linux and macOS (x86_64, arm64); on Windows, run the job in a Linux container" ;;
  esac
fi

base=${INPUT_DOWNLOAD_URL:-}
if [ -z "$base" ]; then
  # github.action_repository is empty in some composite runs (actions/runner#2473); the
  # action's checkout path, _actions/OWNER/REPO/REF, names it too.
  repository=${ACTION_REPOSITORY:-}
  if [ -z "$repository" ]; then
    origin=${GITHUB_ACTION_PATH:-}; origin=${origin#*/_actions/}
    repository=$(echo "$origin" | cut -d/ -f1-2)
  fi
  [ -n "$repository" ] || fail "cannot tell which repository this action came from: set the input 'download-url'"
  base=https://github.com/$repository/releases/download/v$version
fi
base=${base%/}

name=packpub-$version-$target
work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/packpub.XXXXXX")
download() { curl -fsSL --retry 3 -o "$work/$1" "$base/$1" || fail "cannot download $base/$1"; }
download SHA256SUMS
download "$name.tar.gz"

if command -v sha256sum >/dev/null; then
  actual=$(sha256sum "$work/$name.tar.gz" | cut -d' ' -f1)
else
  actual=$(shasum -a 256 "$work/$name.tar.gz" | cut -d' ' -f1)
fi
# sha256sum writes `HASH  NAME` (or `HASH *NAME` in binary mode).
expected=$(awk -v f="$name.tar.gz" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS")
[ -n "$expected" ] || fail "SHA256SUMS at $base has no entry for $name.tar.gz"
[ "$actual" = "$expected" ] || fail "$name.tar.gz does not match SHA256SUMS (sha256 $actual, expected $expected): not installed"

tar -xzf "$work/$name.tar.gz" -C "$work"
bin_dir=$work/$name
"$bin_dir/packpub" --version
echo "$bin_dir" >> "${GITHUB_PATH:-/dev/null}"
echo "path=$bin_dir" >> "${GITHUB_OUTPUT:-/dev/null}"

[ -n "${INPUT_PACKS:-}" ] || exit 0

[ -n "${INPUT_REGISTRY:-}" ] || fail "the input 'registry' is required with 'packs'"
if [ -n "${INPUT_USERNAME:-}" ] && [ -z "$password_given" ]; then
  fail "the input 'username' needs 'password'"
elif [ -z "${INPUT_USERNAME:-}" ] && [ -n "$password_given" ]; then
  fail "the input 'password' needs 'username'"
fi
command -v jq >/dev/null || fail "jq is needed to report the result (GitHub's runners have it)"

# Whitespace-separated, globs expanded: `packs: packs/*/` pushes every pack folder.
# shellcheck disable=SC2206
packs=($INPUT_PACKS)
args=(push "${packs[@]}" --registry "$INPUT_REGISTRY" --json)
[ -z "$password_given" ] || args+=(--username "$INPUT_USERNAME" --password-stdin)
case "${INPUT_SYNC:-false}" in
  true) args+=(--sync) ;;
  false | "") ;;
  *) fail "the input 'sync' is true or false, not '$INPUT_SYNC'" ;;
esac

set +e
"$bin_dir/packpub" "${args[@]}" <&3 > "$work/result.json"
code=$?
set -e
exec 3<&-

# One line: the document as compact JSON (what a failure before the push prints, too).
result=$(jq -c . "$work/result.json" 2>/dev/null || true)
{
  echo "result=$result"
  echo "exit-code=$code"
} >> "${GITHUB_OUTPUT:-/dev/null}"

# `push --json` prints an array of outcomes; with --sync, {packs, sync}; failing before any
# push, {error, exit_code}. The table goes to the job's summary and to the step's log.
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
if [ -z "$result" ]; then
  echo "packpub push printed no result (exit $code): see the step's log" | tee -a "$summary"
else
  jq -r --arg registry "$INPUT_REGISTRY" '
    def cell: tostring | gsub("\\|"; "\\|") | gsub("[\r\n]+"; " ");
    (if type == "array" then . elif type == "object" and has("packs") then .packs else null end) as $packs
    | "### packpub push to \($registry | cell)", "",
      if $packs == null then
        "Failed before pushing: \(.error? // "no result" | cell)"
      else
        "| pack | version | status | reference | digest or error |",
        "| --- | --- | --- | --- | --- |",
        ($packs[] | "| \(.name // "" | cell) | \(.version // "" | cell) | \(.status // "" | cell) | \(.reference // "" | cell) | \(.digest // .error // "" | cell) |"),
        (if type == "object" and has("sync") then
          "", "Palette registry \(.sync.registry.name | cell): sync \(.sync.sync.status | cell); listed: \([(.sync.packs // [])[] | "\(.name):\(.version) \(if .visible then "yes" else "no" end)"] | join(", ") | cell)"
        else empty end)
      end
  ' <<< "$result" | tee -a "$summary" \
    || echo "packpub push exited $code; its result could not be tabled: $result" | tee -a "$summary"
fi

exit "$code"
