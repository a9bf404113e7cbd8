#!/usr/bin/env bash
# The oracle's self-test: the Go tests in palette-readers/selftest_test.go (the libraries' own
# test cases, Helm's loader tests on rebuilt archives, the protocol), then the built binary
# end to end (JSON lines and the command-line form). Offline; builds with build.sh first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/target/oracle/palette-readers"
"$here/build.sh" "$bin"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cd "$here/palette-readers"
if ! GO111MODULE=off GOPATH="$root/target/oracle/gopath:/usr/share/gocode" GOPROXY=off GOFLAGS= \
  go test -count=1 >"$log" 2>&1; then
  cat "$log"
  echo "oracle selftest: FAILED (go test)" >&2
  exit 1
fi
cases="$(sed -n 's/^oracle selftest: \([0-9]*\) cases.*/\1/p' "$log")"
[ -n "$cases" ] || { cat "$log"; echo "oracle selftest: no summary from go test" >&2; exit 1; }

# The binary itself: one JSON line per request, in order, then the command-line form.
checks=0
check() { # name, expected, actual
  checks=$((checks + 1))
  if [ "$2" != "$3" ]; then
    echo "oracle selftest: $1: expected [$2], got [$3]" >&2
    exit 1
  fi
}
b64() { printf '%s' "$1" | base64 -w0; }
answers="$(printf '{"kind":"values","data":"%s"}\n{"kind":"manifest","data":"%s"}\n{"kind":"template","data":"%s"}\n' \
  "$(b64 $'a: 1\na: 2\n')" "$(b64 $'kind: Pod\n')" "$(b64 '{{ if }}')" | "$bin")"
check "answer count" 3 "$(printf '%s\n' "$answers" | wc -l)"
check "values answer" '{"ok":true,"reader":"sigs.k8s.io/yaml","notes":["gopkg.in/yaml.v3 refuses: yaml: unmarshal errors:\n  line 2: mapping key \"a\" already defined at line 1"]}' \
  "$(printf '%s\n' "$answers" | sed -n 1p)"
check "manifest answer" '{"ok":false,"reader":"unstructured","error":"document 1 (line 1): Object '"'"'apiVersion'"'"' is missing in '"'"'{\"kind\":\"Pod\"}'"'"'"}' \
  "$(printf '%s\n' "$answers" | sed -n 2p)"
check "template answer" '{"ok":false,"reader":"text/template","error":"template: template:1: missing value for if"}' \
  "$(printf '%s\n' "$answers" | sed -n 3p)"

tmp="$(mktemp -d)"
trap 'rm -f "$log"; rm -rf "$tmp"' EXIT
printf 'apiVersion: v2\nname: x\nversion: 1.0.0\n' >"$tmp/Chart.yaml"
printf 'apiVersion: v2\nname: x\nversion: one\n' >"$tmp/bad.yaml"
set +e
"$bin" chart-yaml "$tmp/Chart.yaml" >/dev/null; check "accepted file exits 0" 0 $?
"$bin" chart-yaml "$tmp/bad.yaml" >"$tmp/out"; check "refused file exits 1" 1 $?
"$bin" nonsense "$tmp/bad.yaml" 2>/dev/null; check "unknown kind exits 2" 2 $?
set -e
check "refusal text" '  "error": "validation: chart.metadata.version \"one\" is invalid"' "$(grep '"error"' "$tmp/out")"

echo "oracle selftest: $((cases + checks)) cases, all as Helm/go-yaml say"
