#!/usr/bin/env bash
# Fuzz campaigns for packpub's readers of hostile input, with AFL++ through cargo-afl.
# See README.md beside this file. Every step runs from anywhere; output goes to tests/fuzz/out.
#
#   run.sh setup                  install cargo-afl and build AFL++ (once per toolchain)
#   run.sh build                  build the instrumented targets (cargo afl build --release)
#   run.sh seeds                  write the seed inputs into tests/fuzz/seeds/<target>
#   run.sh fuzz TARGET SECONDS    fuzz one target (corpus + seeds as input) for SECONDS
#   run.sh campaign SECONDS       every target for SECONDS each, two at a time
#   run.sh stats [TARGET...]      the figures of the last runs (time, execs, edges, crashes)
#   run.sh cmin TARGET            minimise corpus + the run's queue back into corpus/TARGET
#   run.sh replay                 the corpus replay test, as CI runs it (no AFL++ needed)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
TARGETS=(scan scan_tar pack_json values_yaml reference challenge)
# 256 MiB of address space per input (afl-fuzz -m, on top of the counting allocator), and a
# time-out well above the slowest legitimate input (64 MiB inflated at the ceiling).
MEM_MB=${FUZZ_MEM_MB:-256}
TIMEOUT_MS=${FUZZ_TIMEOUT_MS:-2000}
export AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1 AFL_QUIET=1

bin() { echo "$here/target/release/$1"; }

case "${1:-}" in
setup)
  command -v cargo-afl >/dev/null || cargo install cargo-afl --locked
  cargo afl config --build || echo "(AFL++ was already built; 'cargo afl config --build --force' rebuilds it)"
  ;;
build)
  # Not --locked: this lock follows packpub's dependencies, which change without it.
  cargo afl build --release
  ;;
seeds)
  rm -rf seeds
  pack_dir="$(mktemp -d)"
  (cd ../.. && cargo run --quiet -- pack --quiet tests/examples/hello-1.0.0 -o "$pack_dir")
  python3 seeds.py seeds "$(go env GOROOT 2>/dev/null || true)" "$pack_dir"/hello-1.0.0.tar.gz
  rm -rf "$pack_dir"
  ;;
fuzz)
  target=${2:?target}
  seconds=${3:?seconds}
  in="out/$target.in"
  rm -rf "$in" "out/$target"
  mkdir -p "$in"
  [ ! -d "corpus/$target" ] || cp corpus/"$target"/* "$in"/
  [ ! -d "seeds/$target" ] || cp seeds/"$target"/* "$in"/
  nice -n 10 cargo afl fuzz -V "$seconds" -m "$MEM_MB" -t "$TIMEOUT_MS" \
    -i "$in" -o "out/$target" -- "$(bin "$target")" >"out/$target.log" 2>&1 || {
    echo "afl-fuzz $target failed; see tests/fuzz/out/$target.log" >&2
    tail -20 "out/$target.log" >&2
    exit 1
  }
  "$here/run.sh" stats "$target"
  ;;
campaign)
  seconds=${2:?seconds}
  # Two at a time: the machine has two cores, shared.
  set -- "${TARGETS[@]}"
  while [ $# -gt 0 ]; do
    "$here/run.sh" fuzz "$1" "$seconds" &
    first=$!
    if [ $# -gt 1 ]; then "$here/run.sh" fuzz "$2" "$seconds" & second=$!; else second=""; fi
    wait "$first"
    [ -z "$second" ] || wait "$second"
    shift $(($# > 1 ? 2 : 1))
  done
  ;;
stats)
  shift
  [ $# -gt 0 ] || set -- "${TARGETS[@]}"
  printf '%-12s %8s %12s %8s %10s %9s %8s %6s\n' target seconds execs execs/s corpus edges crashes hangs
  for target in "$@"; do
    f="out/$target/default/fuzzer_stats"
    [ -f "$f" ] || { echo "$target: no run"; continue; }
    get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$f"; }
    printf '%-12s %8s %12s %8s %10s %9s %8s %6s\n' "$target" "$(get run_time)" "$(get execs_done)" \
      "$(get execs_per_sec)" "$(get corpus_count)" "$(get edges_found)/$(get total_edges)" \
      "$(get saved_crashes)" "$(get saved_hangs)"
  done
  ;;
cmin)
  target=${2:?target}
  rm -rf "out/$target.all" "out/$target.min"
  mkdir -p "out/$target.all" "corpus/$target"
  cp corpus/"$target"/* "out/$target.all"/ 2>/dev/null || true
  cp "out/$target"/default/queue/id:* "out/$target.all"/ 2>/dev/null || true
  # afl-cmin.bash: the Python afl-cmin of AFL++ 4.3x keeps no file with persistent-mode Rust
  # targets here ("Found 0 unique tuples").
  afl_bin="$(ls -d "$HOME"/.local/share/afl.rs/"$(rustc -V | sed -E 's/^rustc ([^ ]+) \(([0-9a-f]{7}).*/rustc-\1-\2/')"/afl.rs-*/afl/bin | tail -1)"
  # -e: edges only, hit counts ignored, so the corpus stays a few hundred files.
  AFL_PATH="$afl_bin" nice -n 10 "$afl_bin/afl-cmin.bash" -e -m "$MEM_MB" -t "$TIMEOUT_MS" \
    -i "out/$target.all" -o "out/$target.min" -- "$(bin "$target")" >"out/$target.cmin.log" 2>&1
  # Keep the crash reproducers, replace the rest.
  find "corpus/$target" -type f ! -name 'crash-*' -delete
  for f in "out/$target.min"/*; do
    cp "$f" "corpus/$target/$(sha256sum "$f" | cut -c1-16)"
  done
  echo "corpus/$target: $(find "corpus/$target" -type f | wc -l) files, $(du -sh "corpus/$target" | cut -f1)"
  ;;
replay)
  cd ../..
  cargo test --locked --test integration fuzz_corpus
  ;;
*)
  sed -n '2,14p' "$here/run.sh"
  exit 2
  ;;
esac
