#!/usr/bin/env bash
# Benchmark: `packpub copy` of every pack between two loopback Distribution registries, against
# `skopeo copy` of the same packs (one call per pack, `--preserve-digests`), in the same run.
# Prints wall time, throughput (archive bytes per second), the ratio, and peak memory.
# Usage: tests/bench/copy.sh [WORKDIR]   (needs docker-registry, skopeo, curl, GNU time;
# COUNT packs of SIZE_MB each, default 20 x 8)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d)}
count=${COUNT:-20}
size_mb=${SIZE_MB:-8}
for tool in docker-registry skopeo curl /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see tests/run.sh)" >&2; exit 2; }
done
cargo build --release --locked --manifest-path "$repo/Cargo.toml" -q
packpub="$repo/target/release/packpub"

# shellcheck source=registries.sh
. "$here/registries.sh"
start_registry src; src=$host
start_registry dst-packpub; a=$host
start_registry dst-skopeo; b=$host

# COUNT packs with SIZE_MB of half-random data each, pushed to SRC.
mkdir -p "$work/packs"
python3 - "$work/packs" "$count" "$size_mb" <<'PY'
import json, os, random, sys
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
for n in range(count):
    d = os.path.join(root, f"bench{n:03d}-1.0.0")
    if os.path.exists(d):
        continue
    os.makedirs(d)
    json.dump({"name": f"bench{n:03d}", "displayName": "bench", "version": "1.0.0",
               "layer": "addon", "cloudTypes": ["all"]}, open(os.path.join(d, "pack.json"), "w"))
    open(os.path.join(d, "values.yaml"), "w").write("pack:\n  namespace: bench\n")
    with open(os.path.join(d, "data.bin"), "wb") as f:
        for _ in range(size // 2):
            f.write(rng.randbytes(1 << 20)); f.write(b"abcdefgh" * (1 << 17))
PY
"$packpub" push "$work"/packs/*/ --registry "$src/p" --plain-http -q
bytes=$(du -cb "$work"/packs/*/data.bin | tail -1 | cut -f1)

/usr/bin/time -f "%e %M" -o "$work/t_packpub" "$packpub" copy "$src/p" "$a/p" \
  --src-plain-http --dst-plain-http -q
cat > "$work/skopeo.sh" <<SH
set -e
for n in \$(seq -f '%03g' 0 $((count - 1))); do
  ref=p/spectro-packs/archive/bench\$n:1.0.0
  skopeo copy -q --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
    docker://$src/\$ref docker://$b/\$ref
done
SH
/usr/bin/time -f "%e %M" -o "$work/t_skopeo" bash "$work/skopeo.sh"
# Same manifest digests on both sides, for both tools.
ref="p/spectro-packs/archive/bench000:1.0.0"
digest() { skopeo inspect --raw --tls-verify=false "docker://$1/$ref" | sha256sum | cut -c1-16; }
echo "manifest digest: source $(digest "$src"), packpub copy $(digest "$a"), skopeo copy $(digest "$b")"

read -r t_p m_p < "$work/t_packpub"
read -r t_s m_s < "$work/t_skopeo"
python3 - "$count" "$bytes" "$t_p" "$m_p" "$t_s" "$m_s" <<'PY'
import sys
count, size, tp, mp, ts, ms = int(sys.argv[1]), int(sys.argv[2]), *map(float, sys.argv[3:])
print(f"{count} packs, {size / 2**20:.0f} MiB of files, two loopback registries, one run")
print(f"{'tool':14} {'seconds':>8} {'MiB/s':>8} {'peak MiB':>9}")
print(f"{'packpub copy':14} {tp:8.2f} {size / 2**20 / tp:8.1f} {mp / 1024:9.1f}")
print(f"{'skopeo copy':14} {ts:8.2f} {size / 2**20 / ts:8.1f} {ms / 1024:9.1f}")
print(f"packpub copy / skopeo copy: {tp / ts:.2f}x the time (packpub also checks every pack)")
PY
