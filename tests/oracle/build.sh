#!/usr/bin/env bash
# Builds the palette-readers oracle offline, from Debian's Go sources only (GOPATH mode, no
# module proxy). Usage: tests/oracle/build.sh [OUTPUT]  (default: target/oracle/palette-readers
# under the repository root). Does nothing when the binary is newer than every source.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/oracle/palette-readers}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
src="$here/palette-readers"
gopath="$root/target/oracle/gopath"
debian=/usr/share/gocode/src

fail() { echo "oracle build: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || fail "no 'go' command: apt-get install golang-go"
# text/template/parse.SkipFuncCheck needs Go 1.17; Debian 12 has 1.19.
go_minor="$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
[ -n "$go_minor" ] && [ "$go_minor" -ge 17 ] || fail "Go $(go env GOVERSION) is too old (1.17+ needed): apt-get install golang-go"

# Each import path the oracle needs, with the Debian package that ships it.
need=(
  "gopkg.in/yaml.v2 golang-gopkg-yaml.v2-dev"
  "gopkg.in/yaml.v3 golang-gopkg-yaml.v3-dev"
  "sigs.k8s.io/yaml golang-k8s-sigs-yaml-dev"
  "github.com/Masterminds/sprig golang-github-masterminds-sprig-dev"
  "github.com/Masterminds/semver golang-github-masterminds-semver-dev"
  "github.com/Masterminds/goutils golang-github-masterminds-goutils-dev"
  "github.com/google/uuid golang-github-google-uuid-dev"
  "github.com/huandu/xstrings golang-github-huandu-xstrings-dev"
  "github.com/imdario/mergo golang-github-imdario-mergo-dev"
  "github.com/mitchellh/copystructure golang-github-mitchellh-copystructure-dev"
  "github.com/mitchellh/reflectwalk golang-github-mitchellh-reflectwalk-dev"
  "github.com/shopspring/decimal golang-github-shopspring-decimal-dev"
  "github.com/spf13/cast golang-github-spf13-cast-dev"
  "golang.org/x/crypto golang-golang-x-crypto-dev"
)
missing=()
for pair in "${need[@]}"; do
  set -- $pair
  [ -d "$debian/$1" ] || missing+=("$2 (for $1)")
done
if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do echo "oracle build: not installed: $m" >&2; done
  fail "missing Go sources under $debian: apt-get install ${missing[*]%% *}"
fi

mkdir -p "$(dirname "$out")"
# The tests run it from several processes at once: one builds while the others wait on this
# lock, then find the binary up to date (without it, two builds raced on one temp file).
exec 9>"$out.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

# Up to date: nothing to do when the binary is newer than this script and every source.
if [ -x "$out" ] && [ -z "$(find "$src" "$here/build.sh" -newer "$out" -print -quit)" ]; then
  exit 0
fi

# Sprig and its callers import ".../v3" paths, which GOPATH mode finds only as folders of that
# name: the scratch GOPATH holds them as links to Debian's folders (searched before Debian's).
mkdir -p "$gopath/src/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/semver"
ln -sfn "$debian/github.com/Masterminds/sprig" "$gopath/src/github.com/Masterminds/sprig/v3"
ln -sfn "$debian/github.com/Masterminds/semver" "$gopath/src/github.com/Masterminds/semver/v3"

cd "$src"
GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOPROXY=off GOFLAGS= \
  go build -trimpath -o "$out.tmp.$$" . || fail "go build failed (see above)"
mv -f "$out.tmp.$$" "$out"
