import ArduinoLua
import BoardTesting
import Glibc
import XCTest

/// slirp's descriptors are filled again only when its state may have changed, and an
/// ACK's change waits for the next fill (`SlirpBackend.addDescriptors`): a download
/// bigger than slirp's socket buffer still arrives whole, as slirp reads its host
/// socket again each time the board's ACKs drained half of that buffer.
final class SlirpPollTests: XCTestCase {
    /// A host server on 127.0.0.1 that sends `bytes` bytes to its first client, then closes.
    func sender(_ bytes: Int) throws -> (Thread, UInt16) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) == 0 && getsockname(listener, $0, &len) == 0 }
        }
        guard bound, listen(listener, 1) == 0 else { throw XCTSkip("cannot listen on 127.0.0.1") }
        let thread = Thread {
            let c = accept(listener, nil, nil)
            close(listener)
            guard c >= 0 else { return }
            let block = [UInt8](repeating: 0x61, count: 4096)
            var sent = 0
            while sent < bytes {
                let n = block.withUnsafeBytes { send(c, $0.baseAddress, min(block.count, bytes - sent), Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                sent += n
            }
            close(c)
        }
        thread.start()
        return (thread, UInt16(bigEndian: a.sin_port))
    }

    func testADownloadBiggerThanSlirpsBufferArrivesWhole() throws {
        signal(SIGPIPE, SIG_IGN)  // as esplua does (main.swift): slirp writes to host sockets
        let size = 400 * 1024
        let (_, port) = try sender(size)
        let sketch = """
            function setup()
              WiFi.begin("net", "password")
              while WiFi.status() ~= WL_CONNECTED do delay(100) end
              local c = WiFiClient()
              print(c:connect("10.0.2.2", \(port)))
              local total = 0
              while c:connected() or c:available() > 0 do
                local got = c:read(4096)
                if #got > 0 then total = total + #got else delay(1) end
              end
              print(total)
              c:stop()
            end
            function loop() delay(1000) end
            """
        let r = try SketchHarness.run(source: sketch, for: seconds(4)) { $0.board.timeMode = .real }
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\n\(size)\n")
    }
}
