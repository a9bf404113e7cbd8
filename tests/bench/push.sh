#!/usr/bin/env bash
# Benchmark: `packpub push` against a raw `curl` PUT of the same bytes and the ORAS Python SDK's
# push, to a loopback CNCF Distribution registry this script starts, in the same run; the folder
# push also against `tar -czf` alone and `packpub pack` alone (what a push that compresses while
# it uploads approaches). Prints median wall time of RUNS runs, ratios and peak memory (GNU
# time), and the upload at several chunk sizes (--chunk-size) against curl.
# Usage: tests/bench/push.sh [WORKDIR]   (needs docker-registry, curl, /usr/bin/time and the
# ORAS SDK venv that tests/run.sh creates in target/test-venv; RUNS=3 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d)}
runs=${RUNS:-3}
python="$repo/target/test-venv/bin/python"
for tool in docker-registry curl /usr/bin/time "$python"; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see tests/run.sh)" >&2; exit 2; }
done
cargo build --release --locked --manifest-path "$repo/Cargo.toml" -q
packpub="$repo/target/release/packpub"
[ -d "$work/packs" ] || { mkdir -p "$work/packs"; python3 "$here/gen_packs.py" "$work/packs"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
host="127.0.0.1:$port"
rm -rf "$work/registry"; mkdir -p "$work/registry"
cat > "$work/registry/config.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry/storage}}
http: {addr: $host}
YAML
# A registry with empty storage before every measured run: Distribution completes the upload
# of a blob it already stores (from an earlier run) far faster, which would flatter the later
# runs.
# (The pid lives in a file: median_run runs in a subshell.)
pidfile="$work/registry/pid"
stop_registry() {
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    while curl -s "http://$host/v2/" >/dev/null; do sleep 0.05; done
    rm -f "$pidfile"
  fi
}
fresh_registry() {
  stop_registry
  rm -rf "$work/registry/storage"
  env -u REGISTRY_HTTP_ADDR docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 100); do curl -sf "http://$host/v2/" >/dev/null && return; sleep 0.1; done
  echo "the registry did not start: $(cat "$work/registry/log")" >&2; exit 1
}
trap stop_registry EXIT

cd "$work/packs"
"$packpub" pack mixed-1.0.0 -o "$work" -q
tarball="$work/mixed-1.0.0.tar.gz"
digest="sha256:$(sha256sum "$tarball" | cut -d' ' -f1)"
cat > "$work/sdk_push.py" <<'PY'
import os, sys, oras.client
host, target, path = sys.argv[1:4]
os.chdir(os.path.dirname(path))
oras.client.OrasClient(hostname=host, insecure=True).push(files=[os.path.basename(path)], target=target)
PY
cat > "$work/curl_put.sh" <<'SH'
set -e
loc=$(curl -sf -D - -o /dev/null -X POST "http://$1/v2/$2/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
case "$loc" in http*) ;; *) loc="http://$1$loc" ;; esac
sep='?'; case "$loc" in *\?*) sep='&' ;; esac
curl -sf -X PUT -H 'Content-Type: application/octet-stream' -T "$3" "$loc${sep}digest=$4" -o /dev/null
SH

# median_run CMD...: runs CMD $runs times, each against a fresh registry (RUN names a fresh
# repository prefix too), prints "seconds peak_kib" of the median run.
n=0
median_run() {
  local results=()
  for _ in $(seq "$runs"); do
    n=$((n + 1)); export RUN="r$n"
    fresh_registry
    /usr/bin/time -f "%e %M" -o "$work/time" bash -c "$*" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    results+=("$(cat "$work/time")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
ref='$RUN/spectro-packs/archive/mixed:1.0.0'
read -r t_curl m_curl < <(median_run "bash '$work/curl_put.sh' $host \$RUN/spectro-packs/archive/mixed '$tarball' $digest")
read -r t_sdk m_sdk < <(median_run "'$python' '$work/sdk_push.py' $host $host/$ref '$tarball'")
read -r t_pp m_pp < <(median_run "'$packpub' push '$tarball' --registry $host/\$RUN --plain-http -q")
# The upload alone at other chunk sizes: one PUT (a chunk size over the tarball), and chunks
# of 8 MiB and 1 MiB (what a 1m nginx limit leads to), against the default above.
read -r t_mono m_mono < <(median_run "'$packpub' push '$tarball' --registry $host/\$RUN --plain-http -q --chunk-size 4GiB")
read -r t_c8 m_c8 < <(median_run "'$packpub' push '$tarball' --registry $host/\$RUN --plain-http -q --chunk-size 8MiB")
read -r t_c1 m_c1 < <(median_run "'$packpub' push '$tarball' --registry $host/\$RUN --plain-http -q --chunk-size 1MiB")
read -r t_dry m_dry < <(median_run "'$packpub' push '$tarball' --registry $host/\$RUN --plain-http -q --dry-run")
read -r t_fold m_fold < <(median_run "'$packpub' push mixed-1.0.0 --registry $host/\$RUN --plain-http -q")
# The unchanged re-push: the registry already holds the folder's version (pushed untimed, which
# also fills the cache), then a re-push is timed against sha256sum of the folder's files.
export PACKPUB_CACHE_DIR="$work/cache"
rerun=()
for _ in $(seq "$runs"); do
  n=$((n + 1)); RUN="r$n"
  fresh_registry
  "$packpub" push mixed-1.0.0 --registry "$host/$RUN" --plain-http -q
  /usr/bin/time -f "%e %M" -o "$work/time" "$packpub" push mixed-1.0.0 --registry "$host/$RUN" --plain-http -q
  rerun+=("$(cat "$work/time")")
done
read -r t_re m_re < <(printf '%s\n' "${rerun[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
unset PACKPUB_CACHE_DIR
read -r t_sum m_sum < <(median_run "find mixed-1.0.0 -type f -exec sha256sum {} + > /dev/null")
mkdir -p "$work/t" "$work/p"
read -r t_pack m_pack < <(median_run "'$packpub' pack mixed-1.0.0 -o '$work/p' -q")
read -r t_tar m_tar < <(median_run "tar -czf '$work/t/mixed-1.0.0.tar.gz' mixed-1.0.0")
read -r t_tarsdk m_tarsdk < <(median_run "tar -czf '$work/t/mixed-1.0.0.tar.gz' mixed-1.0.0 && '$python' '$work/sdk_push.py' $host $host/$ref '$work/t/mixed-1.0.0.tar.gz'")

size=$(stat -c %s "$tarball")
ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }
mib() { python3 -c "print(f'{$1/1024:.1f}')"; }
echo "tarball: $size bytes; median of $runs runs; $(nproc) cores; registry on loopback"
printf '%-34s %8s %10s %10s\n' what seconds peak_MiB vs
printf '%-34s %8s %10s %10s\n' "curl PUT (tarball)" "$t_curl" "$(mib "$m_curl")" "1.00x"
printf '%-34s %8s %10s %10s\n' "ORAS SDK push (tarball)" "$t_sdk" "$(mib "$m_sdk")" "$(ratio "$t_sdk" "$t_curl")"
printf '%-34s %8s %10s %10s\n' "packpub push (tarball)" "$t_pp" "$(mib "$m_pp")" "$(ratio "$t_pp" "$t_curl")"
printf '%-34s %8s %10s %10s\n' "  its checks alone (--dry-run)" "$t_dry" "$(mib "$m_dry")" "$(ratio "$t_dry" "$t_curl")"
printf '%-34s %8s %10s %10s\n' "packpub, one PUT (--chunk-size 4GiB)" "$t_mono" "$(mib "$m_mono")" "$(ratio "$t_mono" "$t_curl")"
printf '%-34s %8s %10s %10s\n' "packpub, 8 MiB chunks" "$t_c8" "$(mib "$m_c8")" "$(ratio "$t_c8" "$t_curl")"
printf '%-34s %8s %10s %10s\n' "packpub, 1 MiB chunks" "$t_c1" "$(mib "$m_c1")" "$(ratio "$t_c1" "$t_curl")"
printf '%-34s %8s %10s %10s\n' "tar -czf + ORAS SDK push (folder)" "$t_tarsdk" "$(mib "$m_tarsdk")" "1.00x"
printf '%-34s %8s %10s %10s\n' "packpub push (folder)" "$t_fold" "$(mib "$m_fold")" "$(ratio "$t_fold" "$t_tarsdk")"
printf '%-34s %8s %10s %10s\n' "tar -czf (folder)" "$t_tar" "$(mib "$m_tar")" "1.00x"
printf '%-34s %8s %10s %10s\n' "packpub pack (folder)" "$t_pack" "$(mib "$m_pack")" "$(ratio "$t_pack" "$t_tar")"
printf '%-34s %8s %10s %10s\n' "packpub push (folder) vs tar" "$t_fold" "$(mib "$m_fold")" "$(ratio "$t_fold" "$t_tar")"
echo "packpub tarball push vs curl: time $(ratio "$t_pp" "$t_curl") (its checks alone, --dry-run: $(ratio "$t_dry" "$t_curl"), run alongside the upload), peak memory vs ORAS SDK: $(ratio "$m_pp" "$m_sdk")"
printf '%-34s %8s %10s %10s\n' "sha256sum of the folder's files" "$t_sum" "$(mib "$m_sum")" "1.00x"
printf '%-34s %8s %10s %10s\n' "packpub unchanged re-push (folder)" "$t_re" "$(mib "$m_re")" "$(ratio "$t_re" "$t_sum")"
echo "packpub folder push vs tar -czf + SDK: time $(ratio "$t_fold" "$t_tarsdk") (target <= 0.35x)"
echo "packpub folder push vs tar -czf: time $(ratio "$t_fold" "$t_tar"), vs packpub pack: $(ratio "$t_fold" "$t_pack") (target: approach pack's $(ratio "$t_pack" "$t_tar"))"
echo "packpub tarball push vs curl PUT: time $(ratio "$t_pp" "$t_curl") (target <= 1.1x)"
echo "unchanged re-push vs sha256sum of the files: time $(ratio "$t_re" "$t_sum") (target <= 1.5x)"
echo "peak memory: folder push $(mib "$m_fold") MiB, tarball push $(mib "$m_pp") MiB (target <= 32 MiB)"
