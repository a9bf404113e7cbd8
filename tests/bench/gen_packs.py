#!/usr/bin/env python3
"""Builds the benchmark packs in a folder: a ~250 MB mixed pack (2,000 YAML files plus
half-random binaries) and a 2,000-YAML-file chart pack. Deterministic (seeded)."""
import json, os, random, sys

def yaml_doc(i):
    return "".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}-{j}\n  namespace: bench\n"
        f"data:\n  key{j}: \"value {i * 31 + j} lorem ipsum dolor sit amet\"\n---\n"
        for j in range(40)
    )

def pack(root, name, yaml_files, binaries_mb):
    folder = os.path.join(root, f"{name}-1.0.0")
    os.makedirs(os.path.join(folder, "manifests"), exist_ok=True)
    manifests = []
    for i in range(yaml_files):
        rel = f"manifests/m{i:04d}.yaml"
        with open(os.path.join(folder, rel), "w") as f:
            f.write(yaml_doc(i))
        manifests.append(rel)
    rng = random.Random(42)
    if binaries_mb:
        os.makedirs(os.path.join(folder, "bin"), exist_ok=True)
    for i in range(binaries_mb // 16):
        with open(os.path.join(folder, f"bin/blob{i:02d}.bin"), "wb") as f:
            for _ in range(8):
                f.write(rng.randbytes(1 << 20))  # random half
                f.write((b"0123456789abcdef" * 65536))  # compressible half
    with open(os.path.join(folder, "values.yaml"), "w") as f:
        f.write("pack:\n  namespace: bench\n")
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(f"# {name}\n")
    with open(os.path.join(folder, "logo.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
    with open(os.path.join(folder, "pack.json"), "w") as f:
        json.dump({"name": name, "displayName": name, "version": "1.0.0", "layer": "addon",
                   "cloudTypes": ["all"], "kubeManifests": manifests}, f)

root = sys.argv[1]
pack(root, "mixed", 2000, 240)
pack(root, "chart", 2000, 0)
