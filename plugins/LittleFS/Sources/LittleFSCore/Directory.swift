// Directory iteration (`lfs_dir_read`): "." and ".." first, then the
// entries of every pair in the directory's chain, in littlefs order.

public final class LFSDir {
    unowned let fs: LittleFS
    let loc: MLoc
    var head: MPair { loc.head ?? loc.pair }
    var position = 0
    var isOpen = true

    init(fs: LittleFS, loc: MLoc) { self.fs = fs; self.loc = loc }

    /// Next entry, or nil at the end.
    public func read() throws -> LFSInfo? {
        guard isOpen, fs.isMounted else { throw LFSError.badFileDescriptor }
        if position == 0 { position = 1; return LFSInfo(name: ".", kind: .directory, size: 0) }
        if position == 1 { position = 2; return LFSInfo(name: "..", kind: .directory, size: 0) }
        var hops = 0
        while !loc.atEnd {
            let d = try fs.fetch(loc.pair)
            if loc.id >= d.count {
                if d.split {
                    hops += 1
                    if hops > fs.blockCount { throw LFSError.corrupt("cycle in directory chain") }
                    loc.pair = d.tail; loc.id = 0
                    continue
                }
                loc.atEnd = true
                break
            }
            let id = loc.id
            loc.id += 1
            if d.visible(id) {
                position += 1
                return fs.info(of: d.entries[id])
            }
        }
        return nil
    }

    public func tell() -> Int { position }

    public func rewind() {
        loc.pair = head; loc.id = 0; loc.atEnd = false; position = 0
    }

    public func close() {
        guard isOpen else { return }
        isOpen = false
        fs.locs.removeAll { $0 === loc }
    }
}

extension LittleFS {
    /// `lfs_dir_open`.
    public func openDir(_ path: String) throws -> LFSDir {
        try checkMounted()
        let l = try lookup(path)
        let head: MPair
        if l.isRoot {
            head = root
        } else {
            guard l.found, let e = l.entry else { throw LFSError.noEntry }
            guard e.isDir else { throw LFSError.notDirectory }
            guard let p = e.dirPair else { throw LFSError.corrupt("directory without dir-struct") }
            head = p
        }
        let loc = MLoc(pair: head, id: 0, isDir: true)
        loc.head = head
        locs.append(loc)
        return LFSDir(fs: self, loc: loc)
    }

    /// Entries of a directory, without "." and "..".
    public func listDirectory(_ path: String) throws -> [LFSInfo] {
        let d = try openDir(path)
        defer { d.close() }
        var out: [LFSInfo] = []
        while let e = try d.read() {
            if e.name == "." || e.name == ".." { continue }
            out.append(e)
        }
        return out
    }
}
