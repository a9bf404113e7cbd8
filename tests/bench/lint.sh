#!/usr/bin/env bash
# Benchmark: `packpub lint` over 200 generated packs of realistic size (a chart archive of a
# few hundred KB, values.yaml of 500-2,000 lines, schema.yaml, presets.yaml), against reading
# the same files with `cat` as the floor. Prints the median wall time of RUNS runs, per pack,
# and peak memory. Target (issue 12): under 2 s for the 200 packs on 2 cores.
# Usage: tests/bench/lint.sh [WORKDIR]   (needs /usr/bin/time and python3; RUNS=3 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d)}
runs=${RUNS:-3}
for tool in /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y time python3)" >&2; exit 2; }
done
cargo build --release --locked --manifest-path "$repo/Cargo.toml" -q
packpub="$repo/target/release/packpub"
[ -d "$work/lint-packs" ] || { mkdir -p "$work/lint-packs"; python3 "$here/gen_lint_packs.py" "$work/lint-packs" 200; }
cd "$work/lint-packs"

median_run() {
  local results=()
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/time" bash -c "$*" >/dev/null 2>&1 || true
    results+=("$(cat "$work/time")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

read -r t_cat m_cat < <(median_run "find . -type f -exec cat {} + > /dev/null")
read -r t_lint m_lint < <(median_run "'$packpub' lint */ -q")
size=$(du -sb . | cut -f1)
count=$(ls -d */ | wc -l)
echo "$count packs, $size bytes; median of $runs runs; $(nproc) cores"
printf '%-28s %8s %10s\n' what seconds peak_MiB
printf '%-28s %8s %10s\n' "cat every file (floor)" "$t_cat" "$(python3 -c "print(f'{$m_cat/1024:.1f}')")"
printf '%-28s %8s %10s\n' "packpub lint" "$t_lint" "$(python3 -c "print(f'{$m_lint/1024:.1f}')")"
python3 -c "print(f'per pack: {$t_lint/$count*1000:.1f} ms; target: under 2 s for 200 packs ({\"met\" if $t_lint < 2 else \"missed\"})')"
