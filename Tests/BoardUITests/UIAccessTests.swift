import XCTest

@testable import BoardUI

/// Who may command the board (`UIAccess`) and where `--ui` serves (`UIEndpoint`).
final class UIAccessTests: XCTestCase {
    func testUpgradeNeedsTokenHostAndTheSameOrigin() {
        let a = UIAccess(token: "abc", address: "127.0.0.1", port: 8266)
        XCTAssertNil(a.refusal(uri: "/ws?token=abc", host: "127.0.0.1:8266", origin: "http://127.0.0.1:8266"))
        XCTAssertNil(a.refusal(uri: "/ws?token=abc", host: "localhost:8266", origin: "http://localhost:8266"))
        XCTAssertNotNil(a.refusal(uri: "/ws?token=abd", host: "127.0.0.1:8266", origin: "http://127.0.0.1:8266"))
        XCTAssertNotNil(a.refusal(uri: "/ws", host: "127.0.0.1:8266", origin: "http://127.0.0.1:8266"))
        XCTAssertNotNil(a.refusal(uri: "/ws?token=abc", host: "evil.example:8266", origin: "http://evil.example:8266"), "DNS rebinding")
        XCTAssertNotNil(a.refusal(uri: "/ws?token=abc", host: "127.0.0.1:8266", origin: nil))
        // every address: the machine's names are unknown, the token and same-origin still hold
        let all = UIAccess(token: "abc", address: "0.0.0.0", port: 8266)
        XCTAssertNil(all.refusal(uri: "/ws?token=abc", host: "192.168.1.20:8266", origin: "http://192.168.1.20:8266"))
        XCTAssertNotNil(all.refusal(uri: "/ws?token=abc", host: "192.168.1.20:8266", origin: "http://evil.example"))
        XCTAssertNotNil(all.refusal(uri: "/ws?token=xyz", host: "192.168.1.20:8266", origin: "http://192.168.1.20:8266"))
        XCTAssertNil(UIAccess(token: "t", address: "::1", port: 1).refusal(uri: "/ws?token=t", host: "[::1]:1", origin: "http://[::1]:1"))
    }

    func testEndpointParsesPortOrAddressAndPort() {
        XCTAssertEqual(UIEndpoint(parsing: "8266"), UIEndpoint(parsing: "127.0.0.1:8266"))
        XCTAssertEqual(UIEndpoint(parsing: "0.0.0.0:80")?.address, "0.0.0.0")
        XCTAssertEqual(UIEndpoint(parsing: "[::1]:80")?.address, "::1")
        XCTAssertNil(UIEndpoint(parsing: "port"))
        XCTAssertNil(UIEndpoint(parsing: "70000"))
        XCTAssertTrue(UIEndpoint(parsing: "8266")!.isLoopback)
        XCTAssertFalse(UIEndpoint(parsing: "0.0.0.0:8266")!.isLoopback)
    }
}
