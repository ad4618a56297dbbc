import ArgumentParser
import BoardCore
import FoundationEssentials
import LittleFSCore

/// `esplua fs pack|ls|unpack`: the classroom's upload workflow for the board's
/// LittleFS (253 blocks of 8 KiB at 0x200000 of a 4M2M board, littlefs disk
/// version 2.0). `pack` makes what mklittlefs makes by default, the bare
/// file-system partition (2,072,576 B, flashed at 0x200000), or with
/// `--flash-image` the whole 4 MB flash `esplua run --flash` uses; `ls` and
/// `unpack` take either (told apart by size).
struct FS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fs",
        abstract: "Make, list and extract LittleFS flash images (the board's file system, as --flash uses it).",
        subcommands: [Pack.self, List.self, Unpack.self])

    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a folder into a new file-system image (the partition mklittlefs makes, flashed at 0x200000).")
        @Argument(help: "The folder whose files go onto the board.") var directory: String
        @Option(name: .shortAndLong, help: "The image to write.") var output: String
        @Flag(name: .customLong("flash-image"), help: "Write the whole 4 MB flash (the file system at 0x200000), as esplua run --flash uses.")
        var flashImage = false

        func run() throws {
            var isDir = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir else {
                fail("esplua: fs pack: '\(directory)' is not a folder")
            }
            let device = MemoryBlockDevice(blockSize: ESP8266Layout.blockSize, blockCount: ESP8266Layout.blockCount)
            try LittleFS.format(device: device)
            let fs = try LittleFS.mount(device: device)
            var count = 0
            func copy(_ dir: String, into path: String) throws {
                for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() {
                    guard name.utf8.count <= 31 else { fail("esplua: fs pack: '\(name)' is longer than the 31 characters LittleFS allows on the board") }
                    let full = Path.join(dir, name), target = path + "/" + name
                    var sub = false
                    FileManager.default.fileExists(atPath: full, isDirectory: &sub)
                    if sub {
                        try fs.mkdir(target)
                        try copy(full, into: target)
                    } else {
                        guard let data = FileManager.default.contents(atPath: full) else { fail("esplua: fs pack: cannot read '\(full)'") }
                        do { try fs.writeFile(target, Array(data)) } catch LFSError.noSpace {
                            fail("esplua: fs pack: the files do not fit in the board's \(ESP8266Layout.fsSize) bytes")
                        }
                        count += 1
                    }
                }
            }
            try copy(directory, into: "")
            let used = try fs.usedBlocks() * ESP8266Layout.blockSize
            fs.unmount()
            var image = device.storage
            if flashImage {
                image = [UInt8](repeating: 0xFF, count: ESP8266Layout.flashSize)
                image.replaceSubrange(ESP8266Layout.fsStart..<(ESP8266Layout.fsStart + device.storage.count), with: device.storage)
            }
            guard FileManager.default.createFile(atPath: output, contents: Data(image)) else { fail("esplua: fs pack: cannot write '\(output)'") }
            let what = flashImage ? "a 4 MB flash image" : "the file-system partition, for 0x200000"
            print("\(output): \(count) files, \(used) of \(ESP8266Layout.fsSize) bytes used (\(what))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the files of an image.")
        @Argument(help: "A flash image (or a bare LittleFS image).") var image: String

        func run() throws {
            let fs = mountImage(image)
            func walk(_ path: String) throws {
                for e in try fs.listDirectory(path.isEmpty ? "/" : path) where e.name != "." && e.name != ".." {
                    let full = path + "/" + e.name
                    print(e.isDirectory ? "\(full)/" : "\(full)  \(e.size)")
                    if e.isDirectory { try walk(full) }
                }
            }
            try walk("")
        }
    }

    struct Unpack: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Copy the files of an image into a folder.")
        @Argument(help: "A flash image (or a bare LittleFS image).") var image: String
        @Argument(help: "The folder to write (made if missing).") var directory: String

        func run() throws {
            let fs = mountImage(image)
            var count = 0
            func walk(_ path: String) throws {
                let here = Path.join(directory, path)
                try FileManager.default.createDirectory(atPath: here, withIntermediateDirectories: true)
                for e in try fs.listDirectory(path.isEmpty ? "/" : path) where e.name != "." && e.name != ".." {
                    let full = path + "/" + e.name
                    if e.isDirectory { try walk(full); continue }
                    FileManager.default.createFile(atPath: Path.join(directory, full), contents: Data(try fs.readFile(full)))
                    count += 1
                }
            }
            try walk("")
            print("\(count) files into \(directory)")
        }
    }
}

/// Mounts the file system of a flash image (4 MB) or a bare LittleFS image; exits with one sentence otherwise.
func mountImage(_ path: String) -> LittleFS {
    guard let data = FileManager.default.contents(atPath: path) else { fail("esplua: cannot read the image '\(path)'") }
    var bytes = Array(data)
    if bytes.count == ESP8266Layout.flashSize {
        bytes = Array(bytes[ESP8266Layout.fsStart..<(ESP8266Layout.fsStart + ESP8266Layout.fsSize)])
    } else if bytes.isEmpty || bytes.count % ESP8266Layout.blockSize != 0 {
        fail("esplua: '\(path)' is neither a 4 MB flash image nor a whole number of 8 KiB LittleFS blocks (\(bytes.count) bytes)")
    }
    var config = LFSConfiguration.esp8266
    config.requireExactBlockCount = false
    do { return try LittleFS.mount(device: MemoryBlockDevice(blockSize: ESP8266Layout.blockSize, image: bytes), config: config) } catch {
        fail("esplua: '\(path)' holds no LittleFS file system the board can mount (\(error))")
    }
}
