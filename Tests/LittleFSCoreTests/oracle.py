#!/usr/bin/env python3
"""Oracle for the Swift littlefs tests, backed by littlefs-python (real littlefs C).

Commands (all output is one JSON document on stdout):
  dump IMAGE BLOCK_SIZE [DISK_VERSION]        mount image, list the whole tree
  dumpmany LISTFILE BLOCK_SIZE                 dump every image named in LISTFILE (one path per line)
  dumpmany-fix LISTFILE BLOCK_SIZE             same, after lfs_fs_mkconsistent (repairs power-loss state)
  build OUT BLOCK_SIZE BLOCK_COUNT DISK_VERSION OPSFILE
                                               format, apply JSON ops, write image
Ops: ["mkdir", p] ["write", p, hex] ["append", p, hex] ["remove", p] ["rename", a, b]
"""
import json
import sys

try:
    import littlefs
    from littlefs import LittleFS, UserContext
except Exception as e:  # pragma: no cover
    print(json.dumps({"ok": False, "error": "littlefs-python not importable: %r" % (e,)}))
    sys.exit(3)

ESP = dict(read_size=64, prog_size=64, cache_size=64, lookahead_size=64, block_cycles=16, name_max=32)


def mount(image, block_size, disk_version=0x00020000):
    ctx = UserContext(buffer=bytearray(image))
    fs = LittleFS(context=ctx, block_size=block_size, block_count=0, disk_version=disk_version, mount=True, **ESP)
    return fs, ctx


def walk(fs, path, out):
    names = fs.listdir(path)
    for name in names:
        full = (path.rstrip("/") + "/" + name)
        st = fs.stat(full)
        if st.type == littlefs.lfs.LFSStat.TYPE_DIR:
            out.append({"path": full, "type": "dir", "size": 0})
            walk(fs, full, out)
        else:
            with fs.open(full, "rb") as f:
                data = f.read()
            out.append({"path": full, "type": "file", "size": st.size, "data": data.hex()})
    return names


def dump(image, block_size, disk_version=0x00020000, fix=False):
    try:
        try:
            fs, _ = mount(image, block_size, disk_version)
        except Exception as e:
            # A 2.0-configured littlefs refuses 2.1 images (LFS_ERR_INVAL): retry as 2.1.
            if "-22" not in str(e) or disk_version != 0x00020000:
                raise
            fs, _ = mount(image, block_size, 0x00020001)
        if fix:
            # Let littlefs finish an interrupted rename / drop orphans first
            # (lfs_fs_mkconsistent), as it would on its first write.
            fs.fs_mkconsistent()
        out = []
        walk(fs, "/", out)
        res = {"ok": True, "tree": out, "used": fs.used_block_count, "block_count": fs.block_count}
        fs.unmount()
        return res
    except Exception as e:
        return {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}


def build(out, block_size, block_count, disk_version, ops):
    ctx = UserContext(buffsize=block_size * block_count)
    fs = LittleFS(context=ctx, block_size=block_size, block_count=block_count, disk_version=disk_version,
                  mount=False, **ESP)
    fs.format()
    fs.mount()
    for op in ops:
        kind = op[0]
        if kind == "mkdir":
            fs.mkdir(op[1])
        elif kind == "write":
            with fs.open(op[1], "wb") as f:
                f.write(bytes.fromhex(op[2]))
        elif kind == "append":
            with fs.open(op[1], "ab") as f:
                f.write(bytes.fromhex(op[2]))
        elif kind == "remove":
            fs.remove(op[1])
        elif kind == "rename":
            fs.rename(op[1], op[2])
        else:
            raise ValueError("unknown op %r" % (op,))
    fs.unmount()
    with open(out, "wb") as f:
        f.write(bytes(ctx.buffer))
    return {"ok": True}


def main(argv):
    cmd = argv[1]
    if cmd == "dump":
        dv = int(argv[4], 0) if len(argv) > 4 else 0x00020000
        with open(argv[2], "rb") as f:
            res = dump(f.read(), int(argv[3]), dv)
    elif cmd in ("dumpmany", "dumpmany-fix"):
        res = []
        with open(argv[2]) as lf:
            for line in lf:
                p = line.strip()
                if not p:
                    continue
                with open(p, "rb") as f:
                    res.append(dump(f.read(), int(argv[3]), fix=(cmd == "dumpmany-fix")))
    elif cmd == "build":
        with open(argv[6]) as f:
            ops = json.load(f)
        res = build(argv[2], int(argv[3]), int(argv[4]), int(argv[5], 0), ops)
    else:
        res = {"ok": False, "error": "unknown command"}
    print(json.dumps(res))


if __name__ == "__main__":
    main(sys.argv)
