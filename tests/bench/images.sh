#!/usr/bin/env bash
# Benchmark (issue 24): `packpub copy --with-images` of one pack listing COUNT images against
# one `skopeo copy --all --preserve-digests` per image, both from the same loopback upstream
# (standing in for quay.io) into two other loopback Distribution registries, in the same run.
# The images are built here as an OCI layout (random data, uncompressed tar layers): sizes from
# 20 to 60 MB, a 15 MB base layer shared by all, a 5 MB layer shared by each group of five, and
# one layer of its own each. Prints wall time, the ratio, peak memory (GNU time's max RSS), each
# tool's CPU and the registries' CPU meanwhile (/proc), and the floor the cores set.
# The issue's aim: packpub in half skopeo's time.
# Usage: tests/bench/images.sh [WORKDIR]   (needs docker-registry, skopeo, curl, GNU time,
# python3; COUNT images, default 20; PACKPUB=path/to/packpub skips the release build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d)}
count=${COUNT:-20}
for tool in docker-registry skopeo curl /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (see tests/run.sh)" >&2; exit 2; }
done
if [ -z "${PACKPUB:-}" ]; then
  cargo build --release --locked --manifest-path "$repo/Cargo.toml" -q
  PACKPUB="$repo/target/release/packpub"
fi
packpub=$PACKPUB

# shellcheck source=registries.sh
. "$here/registries.sh"
start_registry upstream; up=$host; up_pid=${pids[-1]}
start_registry src; src=$host; src_pid=${pids[-1]}
start_registry dst-packpub; a=$host; a_pid=${pids[-1]}
start_registry dst-skopeo; b=$host; b_pid=${pids[-1]}

# COUNT images in one OCI layout, tagged img00…, each a single linux/amd64 manifest.
layout="$work/layout"
python3 - "$layout" "$count" <<'PY'
import hashlib, io, json, os, random, sys, tarfile
root, count = sys.argv[1], int(sys.argv[2])
MB = 1 << 20
os.makedirs(f"{root}/blobs/sha256", exist_ok=True)
rng = random.Random(24)

def blob(data, media_type):
    digest = hashlib.sha256(data).hexdigest()
    path = f"{root}/blobs/sha256/{digest}"
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

def layer(name, size):
    # An uncompressed tar of one file of random bytes: its digest is its diff_id.
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/{name}.bin")
        info.size, info.mtime, info.mode = size, 0, 0o644
        tar.addfile(info, io.BytesIO(rng.randbytes(size)))
    return blob(out.getvalue(), "application/vnd.oci.image.layer.v1.tar")

base = layer("base", 15 * MB)
groups = {}
tags = []
for n in range(count):
    group = n // 5
    if group not in groups:
        groups[group] = layer(f"group{group}", 5 * MB)
    total = 20 + (40 * n) // max(count - 1, 1)          # 20 … 60 MB
    own = layer(f"img{n:02d}", max(total - 20, 1) * MB)
    layers = [base, groups[group], own]
    config = {"architecture": "amd64", "os": "linux",
              "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}
    config = blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": layers}
    manifest = blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    manifest["annotations"] = {"org.opencontainers.image.ref.name": f"img{n:02d}"}
    tags.append(manifest)
json.dump({"schemaVersion": 2, "manifests": tags}, open(f"{root}/index.json", "w"))
open(f"{root}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
bytes=$(du -cb "$layout"/blobs/sha256/* | tail -1 | cut -f1)

# The upstream: bench/imgNN:1.0, read as quay.io/bench/imgNN:1.0 through --image-source.
names=()
for n in $(seq -f '%02g' 0 $((count - 1))); do
  skopeo copy -q --all --preserve-digests --dest-tls-verify=false \
    "oci:$layout:img$n" "docker://$up/bench/img$n:1.0"
  names+=("bench/img$n")
done

# The pack listing them, pushed to SRC by packpub.
pack="$work/pack/bench-images-1.0.0"
rm -rf "$work/pack"; mkdir -p "$pack"
printf '{"name": "bench-images", "displayName": "bench images", "version": "1.0.0", "layer": "addon", "cloudTypes": ["all"]}\n' > "$pack/pack.json"
{
  printf 'pack:\n  namespace: bench\n  content:\n    images:\n'
  for name in "${names[@]}"; do printf '      - image: quay.io/%s:1.0\n' "$name"; done
} > "$pack/values.yaml"
"$packpub" push "$pack" --registry "$src" --plain-http -q

# skopeo: one copy per image to where Palette looks (DST/spectro-images/quay.io/…).
cat > "$work/skopeo.sh" <<SH
set -e
for name in ${names[*]}; do
  skopeo copy -q --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
    docker://$up/\$name:1.0 docker://$b/spectro-images/quay.io/\$name:1.0
done
SH
before=$(cpu_seconds "$up_pid" "$b_pid")
/usr/bin/time -f "%e %M %U %S" -o "$work/t_skopeo" bash "$work/skopeo.sh"
r_s=$(python3 -c "print($(cpu_seconds "$up_pid" "$b_pid") - $before)")

# packpub: the pack and its images in one command.
before=$(cpu_seconds "$up_pid" "$src_pid" "$a_pid")
/usr/bin/time -f "%e %M %U %S" -o "$work/t_packpub" "$packpub" copy "$src" "$a" --with-images \
  --image-source "quay.io=http://$up" --src-plain-http --dst-plain-http -q
r_p=$(python3 -c "print($(cpu_seconds "$up_pid" "$src_pid" "$a_pid") - $before)")

# The same manifest digests at the source and both destinations.
digest() { skopeo inspect --raw --tls-verify=false "docker://$1" | sha256sum | cut -c1-16; }
last="${names[-1]}"
echo "$last: upstream $(digest "$up/$last:1.0"), packpub copy $(digest "$a/spectro-images/quay.io/$last:1.0"), skopeo copy $(digest "$b/spectro-images/quay.io/$last:1.0")"

read -r t_p m_p u_p s_p < "$work/t_packpub"
read -r t_s m_s u_s s_s < "$work/t_skopeo"
python3 - "$count" "$bytes" "$t_p" "$m_p" "$u_p" "$s_p" "$r_p" "$t_s" "$m_s" "$u_s" "$s_s" "$r_s" <<'PY'
import os, sys
count, size = int(sys.argv[1]), int(sys.argv[2])
tp, mp, up, sp, rp, ts, ms, us, ss, rs = map(float, sys.argv[3:])
print(f"{count} images, {size / 2**20:.0f} MiB of distinct blobs, loopback registries, one run")
print(f"{'tool':26} {'seconds':>8} {'MiB/s':>8} {'CPU s':>6} {'registries CPU s':>17} {'peak MiB':>9}")
print(f"{'packpub copy --with-images':26} {tp:8.2f} {size / 2**20 / tp:8.1f} {up + sp:6.2f} {rp:17.2f} {mp / 1024:9.1f}")
print(f"{'skopeo copy per image':26} {ts:8.2f} {size / 2**20 / ts:8.1f} {us + ss:6.2f} {rs:17.2f} {ms / 1024:9.1f}")
print("CPU s is the tool's own (user + system); registries CPU s is what the registries it")
print("talked to used meanwhile, on the same cores")
cores = os.cpu_count()
fp, fs = (up + sp + rp) / cores, (us + ss + rs) / cores
print(f"fewest seconds {cores} busy cores allow (tool + registries CPU / cores): packpub {fp:.2f}, "
      f"skopeo {fs:.2f}; packpub's floor is {fp / ts:.2f}x skopeo's time")
print(f"packpub / skopeo: {tp / ts:.2f}x the time (aim: 0.5x or less; packpub also copies the pack)")
PY
