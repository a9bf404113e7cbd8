#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into the folder given (one folder per target).

Synthetic on purpose: small valid packs and the hostile shapes of tests/hostile_archives.rs,
Go's archive/tar test archives (when Go is installed), and hand-written pack.json, YAML,
reference and WWW-Authenticate strings. No third-party pack is copied.
"""
import gzip, io, os, subprocess, sys, tarfile

out = sys.argv[1]
go_root = sys.argv[2] if len(sys.argv) > 2 else ""
valid_pack = sys.argv[3] if len(sys.argv) > 3 else ""


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def header(name, kind, size, magic=b"ustar  \0"):
    h = bytearray(512)
    n = name[:100]
    h[: len(n)] = n
    h[100:107] = b"0000644"
    h[108:115] = b"0000000"
    h[116:123] = b"0000000"
    h[124:135] = b"%011o" % size
    h[136:147] = b"00000000000"
    h[156] = kind
    h[257:265] = magic
    h[148:156] = b"        "
    h[148:155] = b"%06o\0" % sum(h)
    return bytes(h)


def tar(entries, end=True):
    o = bytearray()
    for name, kind, data, *size in entries:
        o += header(name, kind, size[0] if size else len(data))
        o += data
        o += b"\0" * (-len(o) % 512)
    if end:
        o += b"\0" * 1024
    return bytes(o)


def gz(data):
    return gzip.compress(data, 9, mtime=0)


PACK_JSON = b'{"name": "hello", "displayName": "Hello", "version": "1.0.0", "layer": "addon"}'
PACK = [
    (b"hello-1.0.0/", ord("5"), b""),
    (b"hello-1.0.0/pack.json", ord("0"), PACK_JSON),
    (b"hello-1.0.0/values.yaml", ord("0"), b"a: 1\n"),
]


def pax(records):
    body = b""
    for k, v in records:
        rec = b" " + k + b"=" + v + b"\n"
        n = len(rec) + 1
        while len(b"%d" % n) + len(rec) != n:
            n += 1
        body += b"%d" % n + rec
    return body


tars = {
    "pack": tar(PACK),
    "no-end": tar(PACK, end=False),
    "dotdot": tar(PACK + [(b"hello-1.0.0/../../evil", ord("0"), b"x")]),
    "absolute": tar(PACK + [(b"/etc/evil", ord("0"), b"x")]),
    "symlink": tar(PACK + [(b"hello-1.0.0/link", ord("2"), b"")]),
    "hardlink": tar(PACK + [(b"hello-1.0.0/hard", ord("1"), b"")]),
    "device": tar(PACK + [(b"hello-1.0.0/dev", ord("3"), b"")]),
    "fifo": tar(PACK + [(b"hello-1.0.0/fifo", ord("6"), b"")]),
    "duplicate": tar(PACK + [(b"hello-1.0.0/values.yaml", ord("0"), b"b: 2\n")]),
    "two-tops": tar(PACK + [(b"other/x", ord("0"), b"x")]),
    "file-at-top": tar([(b"pack.json", ord("0"), PACK_JSON)]),
    "under-a-file": tar(PACK + [(b"hello-1.0.0/pack.json/x", ord("0"), b"x")]),
    "long-name": tar([(b"././@LongLink", ord("L"), b"hello-1.0.0/" + b"a" * 200 + b"\0")] + PACK),
    "long-name-claims": tar([(b"././@LongLink", ord("L"), b"", 500_000_000)], end=False),
    "two-long-names": tar(
        [(b"././@LongLink", ord("L"), b"hello-1.0.0/a\0"), (b"././@LongLink", ord("L"), b"hello-1.0.0/b\0")]
        + PACK
    ),
    "pax-path": tar([(b"PaxHeaders/x", ord("x"), pax([(b"path", b"hello-1.0.0/p\xc3\xa9"), (b"mtime", b"1.5")]))] + PACK),
    "pax-size": tar([(b"PaxHeaders/x", ord("x"), pax([(b"size", b"5")]))] + PACK),
    "pax-sparse": tar([(b"PaxHeaders/x", ord("x"), pax([(b"GNU.sparse.major", b"1")]))] + PACK),
    "pax-global": tar([(b"GlobalHead", ord("g"), pax([(b"comment", b"x")]))] + PACK),
    "pax-dangling": tar(PACK + [(b"PaxHeaders/x", ord("x"), pax([(b"path", b"hello-1.0.0/z")]))]),
    "long-link": tar([(b"././@LongLink", ord("K"), b"target\0")] + PACK),
    "unknown-type": tar(PACK + [(b"hello-1.0.0/s", ord("S"), b"")]),
    "escape-name": tar(PACK + [(b"hello-1.0.0/\x1b[31mred\x07", ord("0"), b"x")]),
    "not-utf8": tar(PACK + [(b"hello-1.0.0/\xff\xfe", ord("0"), b"x")]),
    "bad-size": tar(PACK)[:124] + b"zzzzzzzzzzz" + tar(PACK)[135:],
    "empty": b"\0" * 1024,
}
for name, t in tars.items():
    put("scan_tar", name + ".tar", t)
    put("scan", name + ".tar.gz", gz(t))

# Framing: gzip members, trailing bytes, a small bomb.
t = tar(PACK)
put("scan", "two-members.tar.gz", gz(t[:1024]) + gz(t[1024:]))
put("scan", "trailing-garbage.tar.gz", gz(t) + b"garbage")
put("scan", "after-end-marker.tar.gz", gz(t + b"hidden" + b"\0" * 506))
put("scan_tar", "after-end-marker.tar", t + b"hidden" + b"\0" * 506)
put("scan", "truncated.tar.gz", gz(t)[:-9])
put("scan", "zeros-2MiB.tar.gz", gz(b"\0" * (2 << 20)))
put("scan", "not-gzip", b"PK\x03\x04 not a tarball")

# A pack written by Python's tarfile (PAX format) and, if given, one by `packpub pack`.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
    for name, data in [("hello-1.0.0/pack.json", PACK_JSON), ("hello-1.0.0/values.yaml", b"a: 1\n"),
                       ("hello-1.0.0/" + "d" * 120 + "/x", b"deep")]:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
put("scan", "python-pax.tar.gz", buf.getvalue())
if valid_pack:
    with open(valid_pack, "rb") as f:
        data = f.read()
    put("scan", "packpub-pack.tar.gz", data)
    put("scan_tar", "packpub-pack.tar", gzip.decompress(data))

# Go's archive/tar test archives.
if go_root:
    d = os.path.join(go_root, "src/archive/tar/testdata")
    for name in sorted(os.listdir(d)):
        if name.endswith(".tar"):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            if len(data) > 64 << 10:
                continue
            put("scan", "go-" + name + ".gz", gz(data))
            put("scan_tar", "go-" + name, data)

pack_jsons = {
    "minimal": PACK_JSON,
    "full": b'{"name": "hello", "displayName": "Hello", "version": "1.0.0", "layer": "addon",'
    b' "addonType": "app services", "cloudTypes": ["all", "aws"], "cloudType": "eks",'
    b' "kubeManifests": ["manifests/a.yaml"], "charts": ["charts/x-1.0.0.tgz"],'
    b' "annotations": {"source": "community"},'
    b' "constraints": {"dependencies": [{"packName": "k8s", "layer": "k8s", "minVersion": "1.20",'
    b' "maxVersion": "1.30", "type": "optional"}], "resources": [{"type": "cpu", "minLimit": 2000,'
    b' "components": [{"scheduleType": "all"}]}]}}',
    "bad-fields": b'{"name": "Hello World", "displayName": 3, "version": "v1.0", "layer": "nope",'
    b' "cloudTypes": [1, null], "constraints": {"dependencies": [1, {"type": "x"}], "resources": {}}}',
    "version-not-semver": b'{"name": "a", "displayName": "A", "version": "1.0-rc.1+build", "layer": "os"}',
    "not-object": b'["name", "hello"]',
    "broken": b'{"name": "hello", "version": ',
    "deep": b"[" * 200 + b"]" * 200,
    "unicode": '{"name": "h\u00e9llo", "displayName": "\U0001f600", "version": "1.0.0\u0000", "layer": "cni"}'.encode(),
    "numbers": b'{"name": "n", "displayName": "N", "version": "1.0.0", "layer": "csi", "x": 1e999, "y": -0.0}',
    "empty": b"",
}
for name, data in pack_jsons.items():
    put("pack_json", name + ".json", data)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../examples/hello-1.0.0/pack.json"), "rb") as f:
    put("pack_json", "example.json", f.read())

yamls = {
    "empty": "",
    "map": "a: 1\nb:\n  c: [1, 2, {d: e}]\n  f: |\n    text\n    more\n",
    "anchors": "base: &b {cpu: 1, mem: 2}\nx: *b\ny:\n  <<: *b\n  cpu: 3\n",
    "laughs": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    "self-alias": "a: &a [1, *a]\n",
    "docs": "a: &x 1\nb: *x\n---\na: &x 2\nb: *x\n...\n--- !!map\n? complex\n: value\n",
    "earlier-doc": "a: &x 1\n---\nb: *x\n",
    "deep": "[" * 300 + "]" * 300,
    "deep-block": "".join("  " * i + "k:\n" for i in range(40)) + "  " * 40 + "v\n",
    "tags": "%YAML 1.2\n%TAG !e! tag:example.com,2000:\n---\n!e!x {a: !!str 1, b: !!binary aGk=}\n",
    "scalars": "s: 'quoted ''x'''\nd: \"esc \\u263A \\x41 \\t\"\nf: >-\n  folded\n  text\nn: ~\nb: yes\n",
    "bad-indent": "a:\n  b: 1\n c: 2\n",
    "bad-token": "a: @x\n",
    "helm": "replicaCount: 1\nimage:\n  repository: nginx\n  tag: \"{{ .Values.x }}\"\nresources: {}\n",
}
for name, data in yamls.items():
    put("values_yaml", name + ".yaml", data)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../examples/hello-1.0.0/values.yaml"), "rb") as f:
    put("values_yaml", "example.yaml", f.read())

refs = [
    "harbor.example.com/proj", "Harbor.Example.com:443/a/b/", "localhost:5000", "registry-1.docker.io/me",
    "oci:./demo", "oci:", "https://harbor.example.com/proj", "harbor.example.com/proj/spectro-packs/archive",
    "harbor.example.com/proj:1.0", "harbor.example.com/proj@sha256:abc", "harbor.example.com/Proj",
    "host:abc", "[::1]:5000/x", "[fe80::1%eth0]", "hello:1.0.0", "hello:v1.0.0-rc.1+b",
    "Hello:1.0.0", "a:b:c", ":", "https://index.docker.io/v1/", "http://LOCALHOST:5000", "a..b/c__d/e--f",
    "host/" + "a/" * 50, "h\u00e9llo.example/x", "127.0.0.1:65536", "x:" + "9" * 200,
]
for i, r in enumerate(refs):
    put("reference", "ref-%02d" % i, r)

challenges = [
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"',
    'Basic realm="Registry Realm"',
    'Bearer realm=https://auth.example.com/token, service=reg',
    'Negotiate abc==, Bearer realm="x\\"y,z", Basic',
    'Bearer realm="unterminated',
    '=x',
    'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
    ', ,Bearer ,',
    'Bearer realm="a" error="invalid_token", error_description="The access token expired"',
    'Digest realm="x", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque=""',
]
for i, c in enumerate(challenges):
    put("challenge", "hdr-%02d" % i, c)
