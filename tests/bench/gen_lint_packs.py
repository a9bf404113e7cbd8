#!/usr/bin/env python3
"""Builds N (default 200) realistic chart packs for the lint benchmark: each carries a Helm
chart archive of a few hundred KB (Chart.yaml, a values.yaml, templates), a values.yaml of
500-2,000 lines with the chart's values under charts.<name>, schema.yaml and presets.yaml,
logo.png and README.md. Deterministic (seeded)."""
import io, json, os, random, sys, tarfile

def values_lines(rng, lines):
    out, i = [], 0
    while len(out) < lines:
        out.append(f"  component{i}:")
        out.append(f"    enabled: {'true' if rng.random() < 0.5 else 'false'}")
        out.append(f"    replicas: {rng.randint(1, 5)}")
        out.append("    image:")
        out.append(f"      repository: registry.example.com/team/component{i}")
        out.append(f"      tag: \"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}\"")
        out.append("    resources:")
        out.append("      limits: {cpu: 500m, memory: 256Mi}")
        out.append(f"    # note {rng.random():.6f} about component {i}")
        i += 1
    return out

def chart_archive(rng, name, values):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(path, data):
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        add("Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 1.2.3\nappVersion: \"4.5\"\n".encode())
        add("values.yaml", values.encode())
        for t in range(12):
            body = "".join(
                f"# {rng.getrandbits(64):016x} {{{{ .Values.component{k}.replicas }}}}\n" for k in range(600)
            )
            add(f"templates/t{t:02d}.yaml", body.encode())
    return buf.getvalue()

def pack(root, rng, n):
    name = f"bench{n:03d}"
    folder = os.path.join(root, f"{name}-1.0.0")
    os.makedirs(os.path.join(folder, "charts"), exist_ok=True)
    lines = values_lines(rng, rng.randint(500, 2000))
    chart_values = "\n".join(l[2:] for l in lines) + "\n"
    with open(os.path.join(folder, "charts", f"{name}-1.2.3.tgz"), "wb") as f:
        f.write(chart_archive(rng, name, chart_values))
    with open(os.path.join(folder, "values.yaml"), "w") as f:
        f.write("pack:\n  namespace: bench\n  content:\n    images:\n      - image: registry.example.com/team/component0:1.0.0\n")
        f.write(f"charts:\n  {name}:\n")
        f.write("\n".join("  " + l for l in lines) + "\n")
    with open(os.path.join(folder, "schema.yaml"), "w") as f:
        f.write("".join(f"charts.{name}.component{k}.replicas:\n  schema: '{{{{ required | format \"${{number}}\" }}}}'\n" for k in range(20)))
    with open(os.path.join(folder, "presets.yaml"), "w") as f:
        f.write("presets:\n" + "".join(
            f"  - name: p{k}\n    displayName: Preset {k}\n    group: G{k % 3}\n    remove: [\"charts.{name}.component{k}\"]\n    add: |\n      charts:\n        {name}:\n          component{k}:\n            enabled: true\n"
            for k in range(6)))
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(f"# {name}\n")
    with open(os.path.join(folder, "logo.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
    with open(os.path.join(folder, "pack.json"), "w") as f:
        json.dump({"name": name, "displayName": name, "version": "1.0.0", "layer": "addon",
                   "addonType": "system app", "cloudTypes": ["all"],
                   "charts": [f"charts/{name}-1.2.3.tgz"]}, f)

root = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
rng = random.Random(7)
for n in range(count):
    pack(root, rng, n)
