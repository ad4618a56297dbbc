import Foundation
import XCTest

@testable import BoardCore
@testable import BoardUI

/// The server alone (no board: a hub and an inbox), spoken to over a plain
/// socket: the page is served, and only an upgrade with the token and the page's
/// own Origin becomes a WebSocket whose messages reach the inbox.
final class UIServerTests: XCTestCase {
    var server: UIServer!
    var inbox: BoardInbox!
    var hub: UIHub!

    override func setUpWithError() throws {
        inbox = BoardInbox()
        hub = UIHub(hello: #"{"hello":{"sketch":"t.lua","time":"virtual","led":2}}"#)
        server = try UIServer(address: "127.0.0.1", port: 0, hub: hub, inbox: inbox, log: { _ in })
    }

    override func tearDown() { server.stop() }

    private var port: Int { Int(server.url.split(separator: ":")[2].split(separator: "/")[0])! }

    /// Connects, sends `request`, returns the socket and what came back before `until` (or 2 s).
    private func exchange(_ request: String, until marker: String = "\r\n\r\n") throws -> (Int32, String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(r, 0)
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        return (fd, read(fd, until: marker))
    }

    private func read(_ fd: Int32, until marker: String) -> String {
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while !String(decoding: got, as: UTF8.self).contains(marker) {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            got += buf[0..<n]
        }
        return String(decoding: got, as: UTF8.self)
    }

    private func upgrade(token: String?, origin: String?) -> String {
        let query = token.map { "?token=\($0)" } ?? ""
        var r = "GET /ws\(query) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        r += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let origin { r += "Origin: \(origin)\r\n" }
        return r + "\r\n"
    }

    func testPageIsServedWithItsLibraries() throws {
        let (fd, response) = try exchange("GET / HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n", until: "</html>")
        close(fd)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 200 OK"), response)
        XCTAssertTrue(response.contains("<script src=\"/lib/term.js\">"))
        XCTAssertTrue(server.url.hasPrefix("http://127.0.0.1:\(port)/?token="), server.url)
    }

    func testUpgradeWithoutTheTokenIsRefused() throws {
        let (fd, response) = try exchange(upgrade(token: nil, origin: "http://127.0.0.1:\(port)"))
        close(fd)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 403"), response)
        let (fd2, wrong) = try exchange(upgrade(token: "0123456789abcdef0123456789abcdef", origin: "http://127.0.0.1:\(port)"))
        close(fd2)
        XCTAssertTrue(wrong.hasPrefix("HTTP/1.1 403"), wrong)
        XCTAssertEqual(hub.clientCount, 0)
    }

    func testUpgradeFromAnotherSiteIsRefusedEvenWithTheToken() throws {
        let (fd, response) = try exchange(upgrade(token: server.access.token, origin: "http://evil.example"))
        close(fd)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 403"), response)
    }

    func testThePagesWebSocketGetsTheHelloAndItsCommandsReachTheInbox() throws {
        hub.publish(#"{"t":1}"#)
        let (fd, response) = try exchange(upgrade(token: server.access.token, origin: "http://127.0.0.1:\(port)"), until: #"{"t":1}"#)
        defer { close(fd) }
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 101"), response)
        XCTAssertTrue(response.contains(#""sketch":"t.lua""#), "hello first")
        XCTAssertTrue(response.contains(#"{"t":1}"#), "then the past")
        // a masked text frame, as a browser sends it
        let payload = Array(#"{"serial":"hi\n"}"#.utf8), mask: [UInt8] = [1, 2, 3, 4]
        var frame: [UInt8] = [0x81, 0x80 | UInt8(payload.count)] + mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        XCTAssertEqual(send(fd, frame, frame.count, 0), frame.count)
        let deadline = Date().addingTimeInterval(2)
        while inbox.isEmpty && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(inbox.drain(), [.serialInput(Array("hi\n".utf8))])
        hub.publish(#"{"t":2}"#)
        XCTAssertTrue(read(fd, until: #"{"t":2}"#).contains(#"{"t":2}"#), "live messages follow")
    }
}
