#!/usr/bin/env bash
# Benchmark (issue 13): `packpub pack` at its default jobs and at -j 1 against `tar -czf`,
# `tar | pigz -6` and `tar | libdeflate-gzip -6` on the same packs in the same run, then peak
# memory of `packpub pack -j 1, 2, 4, 8, 16` on the mixed pack. Prints the median wall time of RUNS
# runs, time ratios against tar -czf and pigz, sizes against gzip -6 (tar -czf), peak memory
# (GNU time %M), and each target of issue 13 with "met" or "missed by".
# Usage: tests/bench/pack.sh [WORKDIR]   (needs pigz, /usr/bin/time and python3; libdeflate-gzip,
# from Debian's libdeflate-tools, is measured when installed; RUNS=3 by default). Run it on a
# quiet machine: it warns when the load average is 1 or more, as the times are then noise.
# PACKPUB=/path/to/packpub measures that binary instead of building target/release/packpub.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d)}
runs=${RUNS:-3}
for tool in pigz /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y pigz time)" >&2; exit 2; }
done
has_libdeflate=$(command -v libdeflate-gzip >/dev/null && echo 1 || echo 0)
[ "$has_libdeflate" = 1 ] || echo "libdeflate-gzip not installed (apt-get install -y libdeflate-tools): not measured" >&2
packpub=${PACKPUB:-}
if [ -z "$packpub" ]; then
  cargo build --release --locked --manifest-path "$repo/Cargo.toml" -q
  packpub="$repo/target/release/packpub"
fi
[ -d "$work/packs" ] || { mkdir -p "$work/packs"; python3 "$here/gen_packs.py" "$work/packs"; }
out="$work/out"
results="$work/results.tsv"
: > "$results"
load=$(cut -d' ' -f1 /proc/loadavg)

# median_run CMD...: runs CMD $runs times, prints "seconds peak_kib" of the median run.
median_run() {
  local results=()
  for _ in $(seq "$runs"); do
    rm -rf "$out"; mkdir -p "$out"
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1
    results+=("$(cat "$work/time")")
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

# measure PACK KEY ARCHIVE CMD...: one row of results.tsv: the median run of CMD, ARCHIVE's size
# (0 for ARCHIVE "-": no archive).
measure() {
  local pack=$1 key=$2 archive=$3 seconds peak size=0
  shift 3
  read -r seconds peak < <(median_run "$@")
  [ "$archive" = - ] || size=$(stat -c %s "$archive")
  printf '%s\t%s\t%s\t%s\t%s\n' "$pack" "$key" "$seconds" "$peak" "$size" >> "$results"
}

cd "$work/packs"
for name in mixed chart; do
  folder="$name-1.0.0"
  measure "$name" packpub "$out/$folder.tar.gz" "$packpub" pack "$folder" -o "$out" -q
  measure "$name" packpub-j1 "$out/$folder.tar.gz" "$packpub" pack "$folder" -o "$out" -q -j 1
  # The checks pack runs before it writes anything, alone: what compression cannot speed up.
  measure "$name" lint - "$packpub" lint "$folder" -q
  measure "$name" tar-czf "$out/t.tar.gz" tar -czf "$out/t.tar.gz" "$folder"
  measure "$name" pigz "$out/p.tar.gz" sh -c "tar -cf - '$folder' | pigz -6 > '$out/p.tar.gz'"
  if [ "$has_libdeflate" = 1 ]; then
    # libdeflate-gzip reads all of stdin before compressing: its memory is the tar's size.
    measure "$name" libdeflate "$out/l.tar.gz" sh -c "tar -cf - '$folder' | libdeflate-gzip -6 -c > '$out/l.tar.gz'"
  fi
done
for jobs in 1 2 4 8 16; do
  measure mixed "jobs-$jobs" "$out/mixed-1.0.0.tar.gz" "$packpub" pack mixed-1.0.0 -o "$out" -q -j "$jobs"
done

python3 - "$results" "$runs" "$(nproc)" "$load" <<'EOF'
import sys
path, runs, cores, load = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
rows = {}
for line in open(path):
    pack, key, seconds, peak, size = line.split("\t")
    rows[pack, key] = (float(seconds), int(peak) / 1024, int(size))
labels = {"packpub": f"packpub (-j {cores})", "packpub-j1": "packpub -j 1",
          "lint": "packpub lint (no archive)", "tar-czf": "tar -czf",
          "pigz": "tar | pigz -6", "libdeflate": "tar | libdeflate-gzip -6"}

print(f"{'pack':8} {'tool':26} {'seconds':>8} {'vs tar':>7} {'vs pigz':>8} {'bytes':>11} "
      f"{'vs gzip-6':>10} {'peak MiB':>9}")
for pack in ("mixed", "chart"):
    tar_s, _, tar_b = rows[pack, "tar-czf"]
    pigz_s = rows[pack, "pigz"][0]
    for key, label in labels.items():
        if (pack, key) not in rows:
            continue
        s, mib, b = rows[pack, key]
        size = f"{b:11d} {(b / tar_b - 1) * 100:+9.2f}%" if b else f"{'-':>11} {'-':>10}"
        print(f"{pack:8} {label:26} {s:8.2f} {s / tar_s:6.2f}x {s / pigz_s:7.2f}x {size} {mib:9.1f}")

print(f"\npeak memory, mixed pack")
print(f"{'jobs':>4} {'peak MiB':>9} {'vs -j 1':>8} {'per extra job':>14}")
one = rows["mixed", "jobs-1"][1]
for jobs in (1, 2, 4, 8, 16):
    mib = rows["mixed", f"jobs-{jobs}"][1]
    per = f"{(mib - one) / (jobs - 1):13.2f}" if jobs > 1 else f"{'':13}"
    print(f"{jobs:4d} {mib:9.1f} {mib - one:+8.1f} {per} ")

def target(what, value, limit, unit, fmt="{:.2f}"):
    shown = (fmt + "{}").format(value, unit)
    verdict = "met" if value <= limit else ("missed by " + fmt + "{}").format(value - limit, unit)
    print(f"  {what:52} {shown:>10}  (target <= {fmt.format(limit)}{unit}): {verdict}")

mixed_s, mixed_mib, mixed_b = rows["mixed", "packpub"]
chart_s = rows["chart", "packpub"][0]
print(f"\ntargets (issue 13), packpub at its default jobs ({cores} cores here)")
target("mixed: time vs tar -czf", mixed_s / rows["mixed", "tar-czf"][0], 0.35, "x")
target("mixed: time vs tar | pigz -6", mixed_s / rows["mixed", "pigz"][0], 0.75, "x")
target("chart (2,000 small files): time vs tar -czf", chart_s / rows["chart", "tar-czf"][0], 0.8, "x")
target("mixed: peak memory at default jobs", mixed_mib, 32, " MiB", "{:.1f}")
per_job = (rows["mixed", "jobs-16"][1] - one) / 15
target("mixed: peak memory per extra job (-j 1 to -j 16)", per_job, 2, " MiB", "{:.2f}")
target("mixed: size vs gzip -6 (tar -czf)", (mixed_b / rows["mixed", "tar-czf"][2] - 1) * 100, 1, " %",
       "{:+.2f}")
print(f"\n(median of {runs} runs; {cores} cores; load average {load} at the start)")
if load >= 1.0:
    print("WARNING: the machine was busy (load >= 1): the times are noisy; run again when it is quiet")
EOF
