#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need when it is missing, then
# runs the whole suite against the locked dependency set.
set -euo pipefail
cd "$(dirname "$0")/.."

# System tools the tests drive: GNU tar and diff (round trips), setpriv (root only: to read as
# a non-root user), a real CNCF Distribution registry, openssl and htpasswd (its TLS and auth
# set-up), skopeo (a peer that reads what we push), Go (its archive/tar test corpus), nginx and
# tinyproxy (the reverse and forward proxies registries sit behind), curl (the client the
# harness checks them with) and tmux (a terminal for progress bars and password prompts).
# Debian-like machines get them installed when missing; elsewhere they must be there.
need=()
command -v "${PACKPUB_TEST_REGISTRY_BIN:-docker-registry}" >/dev/null || need+=(docker-registry)
command -v skopeo >/dev/null || need+=(skopeo)
# Go: its archive/tar test archives are hostile input the readers must refuse (GOROOT/src/...),
# and the oracle of Palette's readers (tests/oracle) is built from Debian's Go sources of
# go-yaml, sigs.k8s.io/yaml and Sprig, offline, in GOPATH mode.
command -v go >/dev/null || need+=(golang-go)
gocode=/usr/share/gocode/src
[ -d "$gocode/gopkg.in/yaml.v2" ] || need+=(golang-gopkg-yaml.v2-dev)
[ -d "$gocode/gopkg.in/yaml.v3" ] || need+=(golang-gopkg-yaml.v3-dev)
[ -d "$gocode/sigs.k8s.io/yaml" ] || need+=(golang-k8s-sigs-yaml-dev)
[ -d "$gocode/github.com/Masterminds/sprig" ] || need+=(golang-github-masterminds-sprig-dev)
command -v htpasswd >/dev/null || need+=(apache2-utils)
command -v openssl >/dev/null || need+=(openssl)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v dbus-run-session >/dev/null || need+=(dbus-x11)
command -v secret-tool >/dev/null || need+=(libsecret-tools)
[ "$(id -u)" != 0 ] || command -v setpriv >/dev/null || need+=(util-linux)
command -v tar >/dev/null || need+=(tar)
command -v diff >/dev/null || need+=(diffutils)
# Debian puts nginx in /usr/sbin, off a non-root user's PATH. Installing it starts a system
# nginx on port 80 only where systemd (or another init that allows it) runs; the tests start
# their own on free loopback ports either way, so one running does not matter.
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx)
command -v tinyproxy >/dev/null || need+=(tinyproxy)
command -v curl >/dev/null || need+=(curl)
# tmux: a real terminal for what shows only on one (the progress bar, password prompts).
command -v tmux >/dev/null || need+=(tmux)
# The release archive and the GitHub Action (tests/release.rs, tests/action.rs, Linux only):
# the shells whose completion scripts must parse and complete, man-db (groff with it) to
# render every page, strip (binutils) to shrink the debug binary before it is archived, and
# jq, which the action's script reports with.
if [ "$(uname -s)" = Linux ]; then
  command -v zsh >/dev/null || need+=(zsh)
  command -v fish >/dev/null || need+=(fish)
  command -v man >/dev/null || need+=(man-db)
  command -v strip >/dev/null || need+=(binutils)
  command -v jq >/dev/null || need+=(jq)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null && { [ -z "$sudo" ] || command -v sudo >/dev/null; }; then
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "missing test tools: ${need[*]} (install them and re-run)" >&2
    exit 2
  fi
fi

# Names for this machine other than `localhost`: loopback names and addresses never go through
# a proxy (as in Go), so the proxy tests reach the registry by the first; the second is the ECR
# registry host the ECR stand-in answers as (tests/support/fronts.rs).
for name in registry.packpub.test 123456789012.dkr.ecr.us-east-1.amazonaws.com; do
  if ! grep -qs "[[:space:]]$name\$" /etc/hosts; then
    if [ -w /etc/hosts ]; then
      echo "127.0.0.1 $name" >> /etc/hosts
    elif command -v sudo >/dev/null; then
      echo "127.0.0.1 $name" | sudo tee -a /etc/hosts >/dev/null
    fi
  fi
done

# The ORAS Python SDK, a second peer, in a venv of its own (PyPI `oras`), and PyPI's
# `jsonschema` and `moto[server]`.
venv=target/test-venv
# jsonschema validates `lint --format sarif` against tests/fixtures' SARIF 2.1.0 schema; moto's
# server stands for AWS's ECR and STS APIs (tests/support/ecr_standin.py).
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import oras, jsonschema, moto.server, flask" 2>/dev/null; then
  # --clear: a venv copied or moved from elsewhere points at its old path.
  python3 -m venv --clear "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check oras jsonschema "moto[server]"
fi

if cargo nextest --version >/dev/null 2>&1; then
  runner=(cargo nextest run --locked --no-fail-fast)
else
  runner=(cargo test --locked --no-fail-fast)
fi

# The keyring tests need a real Secret Service: a private session bus with gnome-keyring,
# unlocked with a throwaway password, that lives as long as the test run.
if [ -z "${PACKPUB_IN_TEST_SESSION:-}" ] && command -v dbus-run-session >/dev/null; then
  export PACKPUB_IN_TEST_SESSION=1
  exec dbus-run-session -- "$0" "$@"
fi
if [ -n "${PACKPUB_IN_TEST_SESSION:-}" ]; then
  # A keyring of its own, so an existing login keyring (other password) never prompts.
  XDG_DATA_HOME=$(mktemp -d)
  export XDG_DATA_HOME
  echo test-keyring | gnome-keyring-daemon --unlock --components=secrets >/dev/null
fi
"${runner[@]}" "$@"
