"""Another tool's hands in the registry, for packpub's verify and pull tests: builds pack
tarballs (good, off-by-version, or hostile) with Python's tarfile and pushes them with the ORAS
Python SDK, the way a user's other tooling might.

usage: oras_peer.py tarball KIND OUT    KIND: other-content | version-2 | dotdot | absolute |
                                              symlink | hardlink | device
       oras_peer.py push HOST REF FILE
"""
import io
import os
import sys
import tarfile

PACK_JSON = b'{"name": "hello", "displayName": "Hello", "version": "%s", "layer": "addon"}'


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def tarball(kind, out):
    version = b"2.0.0" if kind == "version-2" else b"1.0.0"
    with tarfile.open(out, "w:gz", format=tarfile.GNU_FORMAT) as tar:
        top = tarfile.TarInfo("hello-1.0.0")
        top.type = tarfile.DIRTYPE
        top.mode = 0o755
        tar.addfile(top)
        add_bytes(tar, "hello-1.0.0/pack.json", PACK_JSON % version)
        values = b"changed: true\n" if kind == "other-content" else b"pack:\n  namespace: hello\n"
        add_bytes(tar, "hello-1.0.0/values.yaml", values)
        if kind == "dotdot":
            add_bytes(tar, "hello-1.0.0/../../evil.txt", b"escaped\n")
        elif kind == "absolute":
            add_bytes(tar, "/tmp/packpub-evil-absolute.txt", b"escaped\n")
        elif kind in ("symlink", "hardlink"):
            link = tarfile.TarInfo("hello-1.0.0/passwd")
            link.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
            link.linkname = "/etc/passwd" if kind == "symlink" else "../../etc/passwd"
            tar.addfile(link)
        elif kind == "device":
            dev = tarfile.TarInfo("hello-1.0.0/null")
            dev.type = tarfile.CHRTYPE
            dev.devmajor, dev.devminor = 1, 3
            tar.addfile(dev)


def push(host, ref, path):
    import oras.client

    os.chdir(os.path.dirname(os.path.abspath(path)))
    client = oras.client.OrasClient(hostname=host, insecure=True)
    client.push(files=[os.path.basename(path)], target=ref)


if __name__ == "__main__":
    if sys.argv[1] == "tarball":
        tarball(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "push":
        push(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
