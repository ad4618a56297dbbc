import Foundation
import XCTest

/// The page in a real browser: Debian's chromium driven by Playwright (PyPI, in
/// the project's .venv; `.ci/setup.sh` installs both) against `esplua run
/// sketches/hello_server.lua --ui … --forward …`, with a curl through the forward.
/// The checks are in `browser_check.py`; a screenshot is left in /tmp.
final class BrowserTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let screenshot = "/tmp/esplua-ui.png"

    /// A port nobody listens on now.
    private func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func testPageShowsSerialTimeWaitAndSYNOfACurl() throws {
        let python = Self.root.appendingPathComponent(".venv/bin/python").path
        let esplua = Self.root.appendingPathComponent(".build/debug/esplua").path
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else { throw XCTSkip("no /usr/bin/chromium (make setup installs it)") }
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no .venv (make setup makes it)") }
        let uiPort = try freePort(), forwardPort = try freePort()
        let board = Process()
        board.executableURL = URL(fileURLWithPath: esplua)
        board.arguments = ["run", "sketches/hello_server.lua", "--ui", "127.0.0.1:\(uiPort)", "--forward", "\(forwardPort):80", "--for", "120s"]
        board.currentDirectoryURL = Self.root
        let err = Pipe()
        board.standardError = err
        board.standardOutput = FileHandle.nullDevice
        board.standardInput = FileHandle.nullDevice
        try board.run()
        defer {
            board.interrupt()
            board.waitUntilExit()
        }
        // the URL esplua prints on stderr, token included
        var stderr = ""
        let deadline = Date().addingTimeInterval(15)
        while !stderr.contains("?token=") || !stderr.hasSuffix("\n"), Date() < deadline {
            stderr += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        let line = try XCTUnwrap(stderr.split(separator: "\n").first { $0.contains("the board's page: ") }, stderr)
        let url = String(line.split(separator: " ").last!)
        XCTAssertTrue(url.hasPrefix("http://127.0.0.1:\(uiPort)/?token="), url)

        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = [Self.root.appendingPathComponent("Tests/BoardUITests/browser_check.py").path, url, String(forwardPort), Self.screenshot]
        let out = Pipe()
        check.standardOutput = out
        check.standardError = out
        try check.run()
        let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        if check.terminationStatus == 2 { throw XCTSkip("chromium cannot start here: \(report)") }
        XCTAssertEqual(check.terminationStatus, 0, report)
        for name in ["serial line", "curl", "TIME_WAIT row with a countdown", "SYN in the ladder", "heap chart has points", "reset button reboots the board"] {
            XCTAssertTrue(report.contains("ok \(name)\n"), "\(name): \(report)")
        }
    }
}
