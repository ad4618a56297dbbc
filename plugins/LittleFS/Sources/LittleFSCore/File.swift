// Open files. Small files live inline in their metadata entry (SPEC.md
// "0x201 LFS2_TYPE_INLINESTRUCT"); once larger than inline_max they become
// CTZ skip-lists. Writes are copy-on-write: new data always goes to freshly
// allocated and erased blocks, and nothing becomes visible until `sync`
// commits the new struct to the metadata pair.

public final class LFSFile {
    unowned let fs: LittleFS
    let loc: MLoc
    public let flags: LFSOpenFlags
    public let path: String
    var isOpen = true

    var pos = 0
    var isInline = true
    var inlineData: [UInt8] = []
    /// Committed (or flushed-but-uncommitted when `dirty`) CTZ list.
    var ctzHead: UInt32 = blockNull
    var ctzSize = 0
    /// After outlining mid-file, the old inline bytes still to be copied.
    var origInline: [UInt8]? = nil

    /// Write session: block being filled (buffered in memory until full or flushed).
    var writing = false
    var wBlock: UInt32 = blockNull
    var wBuf: [UInt8] = []
    var wOff = 0
    var wDirty = false

    /// In-memory struct differs from the committed one.
    var dirty = false

    init(fs: LittleFS, loc: MLoc, flags: LFSOpenFlags, path: String) {
        self.fs = fs; self.loc = loc; self.flags = flags; self.path = path
    }

    func checkOpen() throws {
        guard isOpen, fs.isMounted else { throw LFSError.badFileDescriptor }
    }

    /// Current file size (including unflushed writes).
    public var size: Int {
        if writing { return max(pos, ctzSize) }
        return isInline ? inlineData.count : ctzSize
    }

    public func tell() -> Int { pos }

    // MARK: Reading

    public func read(count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(0, count))
        let n = try out.withUnsafeMutableBytes { try read(into: $0) }
        out.removeLast(out.count - n)
        return out
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try checkOpen()
        guard flags.canRead else { throw LFSError.badFileDescriptor }
        if writing { try flush() }
        let total = isInline ? inlineData.count : ctzSize
        guard pos < total, buffer.count > 0 else { return 0 }
        let n = min(buffer.count, total - pos)
        if isInline {
            inlineData.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + pos, byteCount: n)
            }
            pos += n
            return n
        }
        var done = 0
        while done < n {
            let (block, off) = try fs.ctzFind(head: ctzHead, size: ctzSize, pos: pos)
            let c = min(n - done, fs.bs - off)
            try fs.devRead(block, off, UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + c)]))
            done += c
            pos += c
        }
        return n
    }

    /// Read the rest of the file.
    public func readAll() throws -> [UInt8] { try read(count: max(0, size - pos)) }

    // MARK: Writing

    @discardableResult
    public func write(_ bytes: [UInt8]) throws -> Int {
        try bytes.withUnsafeBytes { try write($0) }
    }

    @discardableResult
    public func write(_ data: UnsafeRawBufferPointer) throws -> Int {
        try checkOpen()
        guard flags.canWrite else { throw LFSError.badFileDescriptor }
        if flags.contains(.append) && pos < size { pos = size }
        guard pos + data.count <= fs.fileMax else { throw LFSError.fileTooLarge }
        if !writing && pos > size {
            // Seeked past the end: fill the gap with zeros.
            let target = pos
            pos = size
            try writeInternal([UInt8](repeating: 0, count: target - pos))
        }
        if data.count > 0 { try writeInternal(data) }
        return data.count
    }

    func writeInternal(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeInternal($0) }
    }

    func writeInternal(_ data: UnsafeRawBufferPointer) throws {
        let n = data.count
        guard n > 0 else { return }
        if isInline && max(pos + n, size) > fs.inlineMax {
            try outline()
        }
        if isInline {
            if pos > inlineData.count { inlineData += [UInt8](repeating: 0, count: pos - inlineData.count) }
            let overlap = min(n, inlineData.count - pos)
            for i in 0..<overlap { inlineData[pos + i] = data[i] }
            if overlap < n { inlineData.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[overlap..<n])) }
            pos += n
            dirty = true
            return
        }
        var i = 0
        while i < n {
            if !writing || wOff == fs.bs {
                let head: UInt32
                if writing {
                    // Current block is full: program it and chain a new one.
                    try programCurrentBlock()
                    head = wBlock
                } else {
                    head = pos > 0 ? try fs.ctzFind(head: ctzHead, size: ctzSize, pos: pos - 1).block : blockNull
                }
                fs.ckpointAlloc()
                let ext = try fs.ctzExtend(head: head, size: pos)
                writing = true
                wBlock = ext.block; wBuf = ext.buffer; wOff = ext.off; wDirty = true
            }
            let c = min(n - i, fs.bs - wOff)
            wBuf.withUnsafeMutableBytes { dst in
                (dst.baseAddress! + wOff).copyMemory(from: data.baseAddress! + i, byteCount: c)
            }
            wOff += c; pos += c; i += c
        }
    }

    private func programCurrentBlock() throws {
        guard wDirty else { return }
        let len = min(fs.bs, alignUp(wOff, fs.prog))
        try fs.devProgram(wBlock, 0, wBuf[0..<len])
        wDirty = false
    }

    /// Move inline contents into a fresh CTZ block (inline_max exceeded).
    private func outline() throws {
        fs.ckpointAlloc()
        let nb = try fs.alloc()
        try fs.devErase(nb)
        let keep = min(pos, inlineData.count)
        wBuf = [UInt8](repeating: 0xFF, count: fs.bs)
        wBuf.replaceSubrange(0..<keep, with: inlineData[0..<keep])
        wBlock = nb; wOff = keep; wDirty = true; writing = true
        origInline = inlineData
        ctzHead = blockNull
        ctzSize = inlineData.count
        isInline = false
        inlineData = []
    }

    /// Finish the write session: copy the untouched tail of the old contents
    /// into the new list, program the last block and remember the new list.
    func flush() throws {
        guard writing else { return }
        let savedPos = pos
        let origSize = ctzSize
        while pos < origSize {
            var chunk: [UInt8]
            if let oi = origInline {
                chunk = Array(oi[pos..<origSize])
            } else {
                let (block, off) = try fs.ctzFind(head: ctzHead, size: ctzSize, pos: pos)
                chunk = try fs.devReadBytes(block, off, min(origSize - pos, fs.bs - off))
            }
            try writeInternal(chunk)
        }
        try programCurrentBlock()
        ctzHead = wBlock
        ctzSize = pos
        writing = false
        wBuf = []
        origInline = nil
        dirty = true
        pos = savedPos
    }

    /// Blocks owned by this handle that the on-disk metadata does not (yet) reference.
    func traverseOwnedBlocks(_ cb: (UInt32) -> Void) throws {
        if isInline { return }
        if dirty && ctzHead != blockNull && ctzSize > 0 {
            try fs.ctzTraverse(head: ctzHead, size: ctzSize, cb)
        }
        if writing {
            if pos > 0 && wOff > 0 {
                let buf = wBuf
                try fs.ctzTraverse(head: wBlock, size: pos, cb, firstBlockPointers: { i in readLE32(buf, 4 * i) })
            } else {
                cb(wBlock)
            }
        }
    }

    // MARK: Positioning / size

    @discardableResult
    public func seek(_ offset: Int, whence: LFSWhence = .set) throws -> Int {
        try checkOpen()
        let base: Int
        switch whence {
        case .set: base = 0
        case .current: base = pos
        case .end: base = size
        }
        let npos = base + offset
        guard npos >= 0, npos <= fs.fileMax else { throw LFSError.invalid("seek out of range") }
        if writing && npos != pos { try flush() }
        pos = npos
        return npos
    }

    public func rewind() throws { try seek(0) }

    public func truncate(_ newSize: Int) throws {
        try checkOpen()
        guard flags.canWrite else { throw LFSError.badFileDescriptor }
        guard newSize >= 0, newSize <= fs.fileMax else { throw LFSError.invalid("bad size") }
        let oldSize = size
        let savedPos = pos
        if newSize < oldSize {
            if newSize <= fs.inlineMax {
                // Small enough again: revert to an inline file.
                if writing { try flush() }
                pos = 0
                var data = [UInt8](repeating: 0, count: newSize)
                if isInline {
                    data = Array(inlineData[0..<newSize])
                } else if newSize > 0 {
                    var done = 0
                    while done < newSize {
                        let (block, off) = try fs.ctzFind(head: ctzHead, size: ctzSize, pos: done)
                        let c = min(newSize - done, fs.bs - off)
                        data.replaceSubrange(done..<(done + c), with: try fs.devReadBytes(block, off, c))
                        done += c
                    }
                }
                isInline = true
                inlineData = data
                ctzHead = blockNull
                ctzSize = 0
            } else {
                try flush()
                let (block, _) = try fs.ctzFind(head: ctzHead, size: ctzSize, pos: newSize - 1)
                ctzHead = block
                ctzSize = newSize
            }
            dirty = true
        } else if newSize > oldSize {
            if writing { try flush() }
            pos = oldSize
            try writeInternal([UInt8](repeating: 0, count: newSize - oldSize))
        }
        if writing && savedPos != pos { try flush() }
        pos = savedPos
    }

    // MARK: Sync / close

    /// Write out pending data and commit the file's new struct to its
    /// metadata pair (`lfs_file_sync`).
    public func sync() throws {
        try checkOpen()
        try flush()
        guard dirty else { return }
        if loc.detached { dirty = false; return }
        var d = try fs.fetch(loc.pair)
        guard loc.id < d.count else { throw LFSError.corrupt("open file lost its entry") }
        let attr: Attr
        if isInline {
            attr = Attr(TagType.inlineStruct, loc.id, inlineData)
        } else {
            attr = Attr(TagType.ctzStruct, loc.id, le32(ctzHead) + le32(UInt32(ctzSize)))
        }
        try fs.commit(&d, [attr])
        dirty = false
    }

    /// Sync (if writable) and release the handle. The handle is closed even
    /// if syncing throws.
    public func close() throws {
        guard isOpen else { throw LFSError.badFileDescriptor }
        defer { fs.release(self) }
        if flags.canWrite && fs.isMounted { try sync() }
    }
}

extension LittleFS {
    /// `lfs_file_open`.
    public func open(_ path: String, flags: LFSOpenFlags) throws -> LFSFile {
        try checkMounted()
        guard flags.canRead || flags.canWrite else { throw LFSError.invalid("open needs read and/or write access") }
        if let max = config.maxOpenFiles, openFiles.count >= max { throw LFSError.tooManyOpenFiles }
        if flags.canWrite { try makeConsistent() }
        var l = try lookup(path)
        if l.isRoot { throw LFSError.isDirectory }
        if !l.found {
            guard flags.contains(.create) else { throw LFSError.noEntry }
            guard flags.canWrite else { throw LFSError.badFileDescriptor }
            guard l.name.count <= nameMax else { throw LFSError.nameTooLong }
            var d = l.dir
            try commit(
                &d,
                [
                    Attr(TagType.create, l.id),
                    Attr(TagType.reg, l.id, l.name),
                    Attr(TagType.inlineStruct, l.id, []),
                ])
            l = try lookup(path)
            guard l.found else { throw LFSError.corrupt("created file not found") }
        } else if flags.contains(.create) && flags.contains(.exclusive) {
            throw LFSError.exists
        }
        guard let e = l.entry else { throw LFSError.noEntry }
        guard e.isFile else { throw LFSError.isDirectory }
        let loc = MLoc(pair: l.dir.pair, id: l.id, isDir: false)
        let f = LFSFile(fs: self, loc: loc, flags: flags, path: path)
        if flags.contains(.truncate) && flags.canWrite {
            f.isInline = true
            f.dirty = true
        } else if let c = e.ctz {
            f.isInline = false
            f.ctzHead = c.head
            f.ctzSize = c.size
        } else {
            f.isInline = true
            f.inlineData = e.structType == TagType.inlineStruct ? e.structData : []
        }
        locs.append(loc)
        openFiles.append(f)
        return f
    }

    /// Open with an fopen-style mode string ("r", "w", "a", "r+", "w+", "a+").
    public func open(_ path: String, mode: String) throws -> LFSFile {
        guard let flags = LFSOpenFlags.fopen(mode) else { throw LFSError.invalid("bad mode \(mode)") }
        return try open(path, flags: flags)
    }

    func release(_ f: LFSFile) {
        f.isOpen = false
        openFiles.removeAll { $0 === f }
        locs.removeAll { $0 === f.loc }
    }

    /// Number of currently open files.
    public var openFileCount: Int { openFiles.count }

    // Convenience helpers.

    public func readFile(_ path: String) throws -> [UInt8] {
        let f = try open(path, flags: .readOnly)
        defer { try? f.close() }
        return try f.readAll()
    }

    public func writeFile(_ path: String, _ data: [UInt8]) throws {
        let f = try open(path, flags: [.writeOnly, .create, .truncate])
        do { try f.write(data) } catch { try? f.close(); throw error }
        try f.close()
    }

    public func appendFile(_ path: String, _ data: [UInt8]) throws {
        let f = try open(path, flags: [.writeOnly, .create, .append])
        do { try f.write(data) } catch { try? f.close(); throw error }
        try f.close()
    }
}
