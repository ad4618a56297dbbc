import Glibc

/// The files the page is made of: its own (compiled in: `Page.html`, `Page.css`,
/// `Page.js`) and the libraries from Debian's packages, read once from
/// /usr/share/javascript (`libjs-term.js`, `libjs-chart.js`). No CDN: the page
/// works in a classroom without internet.
public struct UIAssets: Sendable {
    /// Which page `/` is: one board's, or a lab's (every board).
    public enum Page: Sendable { case board, lab }

    struct Asset: Sendable {
        let contentType: String
        let bytes: [UInt8]
    }

    /// Served paths → their asset.
    let files: [String: Asset]
    /// Libraries that could not be read (the page says which package to install).
    let missing: [String]

    /// The libraries: URL path → (file, Debian package).
    static let libraries: [(path: String, file: String, package: String)] = [
        ("/lib/term.js", "/usr/share/javascript/term.js/term.min.js", "libjs-term.js"),
        ("/lib/chart.js", "/usr/share/javascript/chart.js/chart.min.js", "libjs-chart.js"),
    ]

    init(page: Page = .board, libraryRoot: String = "") {
        var files: [String: Asset] = [
            "/": Asset(contentType: "text/html; charset=utf-8", bytes: Array((page == .lab ? BoardUI.Page.labHTML : BoardUI.Page.html).utf8)),
            "/page.css": Asset(contentType: "text/css; charset=utf-8", bytes: Array(BoardUI.Page.css.utf8)),
            "/page.js": Asset(contentType: "text/javascript; charset=utf-8", bytes: Array(BoardUI.Page.js.utf8)),
            "/lab.js": Asset(contentType: "text/javascript; charset=utf-8", bytes: Array(BoardUI.Page.labJS.utf8)),
            "/ladder.js": Asset(contentType: "text/javascript; charset=utf-8", bytes: Array(BoardUI.Page.ladderJS.utf8)),
        ]
        var missing: [String] = []
        for lib in Self.libraries {
            if let bytes = Self.read(libraryRoot + lib.file) {
                files[lib.path] = Asset(contentType: "text/javascript; charset=utf-8", bytes: bytes)
            } else {
                missing.append("\(lib.file) (Debian package \(lib.package))")
            }
        }
        self.files = files
        self.missing = missing
    }

    static func read(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }
}
