import Glibc

// Writing to the host's files and standard error without Foundation's FileHandle
// (esplua links FoundationEssentials only): unbuffered write(2)s, as FileHandle's.

/// Writes all of `bytes` to `fd`, retrying after signals; false if the file refused them.
@discardableResult
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n <= 0 { if n < 0 && errno == EINTR { continue }; return false }
        offset += n
    }
    return true
}

/// Writes `text` to standard error at once (esplua's own messages).
public func writeStandardError(_ text: String) {
    var text = text
    _ = text.withUTF8 { writeAll(2, UnsafeRawBufferPointer($0)) }
}

/// A file esplua writes as a run goes (the pcap file, the heap trace): created or
/// truncated on opening, every write goes straight to the file.
public final class OutputFile {
    /// Why a file could not be opened: the path and the system's reason (strerror).
    public struct OpenError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { reason }
    }

    private var fd: Int32

    public init(path: String) throws(OpenError) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        guard fd >= 0 else { throw OpenError(path: path, reason: String(cString: strerror(errno))) }
    }

    deinit { close() }

    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard fd >= 0 else { return }
        writeAll(fd, bytes)
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}

/// The path of the running executable, symbolic links resolved (/proc/self/exe).
public var executablePath: String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
