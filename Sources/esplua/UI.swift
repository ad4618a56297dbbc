import ArduinoLua
import BoardCore
import BoardUI

/// `run --ui [ADDR:]PORT`: serves the device's page and prints its URL (with the
/// token that lets the page command the board) on stderr.
func startUI(_ device: Device, _ spec: String) -> UISession {
    let endpoint = UIEndpoint(parsing: spec)!  // validated
    let session: UISession
    do { session = try UISession(device: device, address: endpoint.address, port: endpoint.port) } catch {
        fail("esplua: \(error)")
    }
    writeStandardError("esplua: the board's page: \(session.server.url)\n")
    if !endpoint.isLoopback {
        writeStandardError(
            "esplua: warning: the page is served on \(endpoint.address), not only to this machine; anyone with the URL can type into the board\n")
    }
    return session
}

/// `run --ui-link OUT:IN` (a board of `esplua lab --ui`): the board's feed goes to
/// the lab's page through descriptor OUT, the page's commands come from IN; with
/// `OUT` alone (a lab in virtual time) they come from the lab's conductor.
func startUILink(_ device: Device, _ spec: String) -> UILinkSession {
    let fds = spec.split(separator: ":", omittingEmptySubsequences: false).map { Int32($0) }
    guard (1...2).contains(fds.count), let out = fds[0], let input = fds.count == 2 ? fds[1] : -1, out >= 0 else {
        fail("esplua: bad --ui-link '\(spec)': expected OUT:IN descriptors, or OUT alone")
    }
    return UILinkSession(device: device, out: out, input: input)
}
