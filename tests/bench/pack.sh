#!/usr/bin/env bash
# Benchmark: `packpub pack` against `tar -czf` and `tar | pigz` on the same packs, same run.
# Prints median wall time of RUNS runs, ratios, archive sizes and peak memory (GNU time).
# Usage: tests/bench/pack.sh [WORKDIR]   (needs pigz and /usr/bin/time; RUNS=3 by default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d)}
runs=${RUNS:-3}
for tool in pigz /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y pigz time)" >&2; exit 2; }
done
cargo build --release --locked --manifest-path "$repo/Cargo.toml" -q
packpub="$repo/target/release/packpub"
[ -d "$work/packs" ] || { mkdir -p "$work/packs"; python3 "$here/gen_packs.py" "$work/packs"; }
out="$work/out"

# median_run NAME CMD...: runs CMD $runs times, prints "seconds peak_kib" of the median run.
median_run() {
  local results=()
  for _ in $(seq "$runs"); do
    rm -rf "$out"; mkdir -p "$out"
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1
    results+=("$(cat "$work/time")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

printf '%-8s %-18s %8s %8s %12s %10s\n' pack tool seconds ratio bytes peak_MiB
for name in mixed chart; do
  cd "$work/packs"
  folder="$name-1.0.0"
  read -r t_pp m_pp < <(median_run "$packpub" pack "$folder" -o "$out" -q)
  s_pp=$(stat -c %s "$out/$folder.tar.gz")
  read -r t_tar m_tar < <(median_run tar -czf "$out/t.tar.gz" "$folder")
  s_tar=$(stat -c %s "$out/t.tar.gz")
  read -r t_pigz m_pigz < <(median_run sh -c "tar -cf - '$folder' | pigz -6 > '$out/p.tar.gz'")
  s_pigz=$(stat -c %s "$out/p.tar.gz")
  for row in "packpub $t_pp $s_pp $m_pp" "tar-czf $t_tar $s_tar $m_tar" "tar|pigz-6 $t_pigz $s_pigz $m_pigz"; do
    set -- $row
    printf '%-8s %-18s %8s %8s %12s %10s\n' "$name" "$1" "$2" \
      "$(python3 -c "print(f'{$2/$t_tar:.2f}x')")" "$3" "$(python3 -c "print(f'{$4/1024:.1f}')")"
  done
  python3 -c "print(f'{\"$name\":8} packpub size vs gzip -6: {($s_pp/$s_tar-1)*100:+.2f} %; time vs tar -czf: {$t_pp/$t_tar:.2f}x, vs tar|pigz: {$t_pp/$t_pigz:.2f}x')"
done
echo "(ratio = seconds / tar -czf seconds; median of $runs runs; $(nproc) cores)"
