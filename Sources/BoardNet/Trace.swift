import BoardCore

/// The heap and the connection table over time, for plotting: one row each time
/// the free heap or the number of pcbs in some state changes (checked after each
/// pass of the board's loop), as CSV or JSON lines (by the file's extension). A
/// subscriber of the board's `.heap` and `.pcb` events.
///
/// CSV columns: `time_ms,free_heap,max_block,<one column per TCP state>,udp`.
public final class HeapTrace {
    private let network: Network
    private let board: Board
    private var subscription: BoardEvents.Subscription?
    private let file: OutputFile
    private let json: Bool
    private var last: [Int] = []
    private static let states = TCPState.allCases.filter { $0 != .closed }

    public init(path: String, board: Board, network: Network) throws(OutputFile.OpenError) {
        file = try OutputFile(path: path)
        self.network = network
        self.board = board
        json = path.hasSuffix(".json") || path.hasSuffix(".jsonl") || path.hasSuffix(".ndjson")
        if !json {
            let columns = ["time_ms", "free_heap", "max_block"] + HeapTrace.states.map { $0.description.lowercased() } + ["udp"]
            file.write(columns.joined(separator: ",") + "\n")
        }
        sample(now: board.clock.micros)
        subscription = board.events.subscribe([.heap, .pcb]) { [unowned self] t, _ in self.sample(now: t) }
    }

    /// Writes a row if anything changed since the last one.
    public func sample(now: UInt64) {
        let ms = now / 1000
        let heap = board.heap
        let counts = network.pcbCounts()
        let values = [heap.freeBytes, heap.maxFreeBlockSize] + HeapTrace.states.map { counts[$0] ?? 0 } + [network.udpContexts.count]
        guard values != last else { return }
        last = values
        let line: String
        if json {
            var fields = ["\"time_ms\":\(ms)", "\"free_heap\":\(values[0])", "\"max_block\":\(values[1])"]
            for (i, s) in HeapTrace.states.enumerated() where values[2 + i] > 0 { fields.append("\"\(s.description)\":\(values[2 + i])") }
            fields.append("\"udp\":\(values.last!)")
            line = "{" + fields.joined(separator: ",") + "}\n"
        } else {
            line = "\(ms)," + values.map(String.init).joined(separator: ",") + "\n"
        }
        file.write(line)
    }

    public func close() {
        subscription?.cancel()
        subscription = nil
        file.close()
    }
}
