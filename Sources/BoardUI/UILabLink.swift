import BoardCore
import Glibc

/// A board's half of the link to its lab's page (`esplua lab --ui`; the board runs
/// `esplua run --ui-link OUT:IN`). A lab's boards are processes; the lab's process
/// serves the one page. The board's feed writes each message as one line (the
/// JSON has no raw newline) to a pipe the lab reads; the lab writes the page's
/// commands for this board, one JSON line each, to a pipe the board reads.
///
/// The board never waits for the lab: the pipe is non-blocking, what it cannot take
/// now waits in memory (at most `limit` bytes; beyond, a message is dropped whole
/// and counted) and goes on the next pass. The board's thread only.
public final class UILabLink: EventSource, HostIO {
    private var out: Int32
    private var input: Int32
    private let inbox: BoardInbox
    private var pending: [UInt8] = []
    private var partial: [UInt8] = []
    /// Bytes of messages that may wait for the pipe.
    public var limit = 8 << 20
    /// Messages dropped because the lab did not read.
    public private(set) var dropped = 0

    /// `out` is the pipe to the lab (made non-blocking here), `input` the pipe from it.
    public init(out: Int32, input: Int32, inbox: BoardInbox) {
        self.out = out
        self.input = input
        self.inbox = inbox
        _ = fcntl(out, F_SETFL, fcntl(out, F_GETFL) | O_NONBLOCK)
    }

    /// Queues one message for the lab (the feed's `deliver`).
    public func send(_ text: String) {
        guard out >= 0 else { return }
        let before = pending.count
        guard before + text.utf8.count < limit else {
            dropped += 1
            return
        }
        pending.append(contentsOf: text.utf8)
        pending.append(UInt8(ascii: "\n"))
        if before == 0 { drain() }
    }

    private func drain() {
        var sent = 0
        while sent < pending.count {
            let n = pending[sent...].withUnsafeBytes { write(out, $0.baseAddress, $0.count) }
            if n > 0 {
                sent += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno != EAGAIN {  // the lab is gone
                close(out)
                out = -1
                pending.removeAll()
                return
            }
            break
        }
        pending.removeFirst(sent)
    }

    // MARK: EventSource (what the pipe could not take goes on the next pass)

    public func service(now: UInt64) { if !pending.isEmpty { drain() } }
    public func nextDeadline(now: UInt64) -> UInt64? { nil }

    // MARK: HostIO (the page's commands)

    public func addDescriptors(to fds: inout [pollfd]) {
        if input >= 0 { fds.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0)) }
    }

    public func handle(_ fds: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool {
        guard input >= 0, let fd = fds.first, fd.revents != 0 else { return false }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = read(input, &buf, buf.count)
        if n <= 0 {
            if n < 0 && (errno == EINTR || errno == EAGAIN) { return false }
            close(input)
            input = -1
            return false
        }
        partial += buf[0..<n]
        while let nl = partial.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: partial[..<nl], as: UTF8.self)
            partial.removeSubrange(...nl)
            if case .success(let command) = UICommand.parse(line) { inbox.post(command) }
        }
        return true
    }
}
