/// Board timers: callbacks due at a board time, run by the event loop in due order
/// (ties in the order they were scheduled). Single-threaded.
public final class Timers {
    public struct ID: Hashable, Sendable { let raw: UInt64 }

    private struct Entry {
        let id: ID
        let due: UInt64
        let action: () -> Void
    }

    private var entries: [Entry] = []  // sorted by (due, id)
    private var nextRaw: UInt64 = 1

    public init() {}

    /// Schedules `action` at board time `due` (µs).
    @discardableResult
    public func schedule(at due: UInt64, _ action: @escaping () -> Void) -> ID {
        let id = ID(raw: nextRaw)
        nextRaw += 1
        let entry = Entry(id: id, due: due, action: action)
        let index = entries.firstIndex { $0.due > due } ?? entries.endIndex
        entries.insert(entry, at: index)
        return id
    }

    public func cancel(_ id: ID) {
        entries.removeAll { $0.id == id }
    }

    public func cancelAll() { entries.removeAll() }

    /// The earliest due time, if any timer is pending.
    public var nextDue: UInt64? { entries.first?.due }

    public var count: Int { entries.count }

    /// Runs every timer due at or before `now`. Returns whether any ran.
    @discardableResult
    public func fireDue(now: UInt64) -> Bool {
        var fired = false
        while let first = entries.first, first.due <= now {
            entries.removeFirst()
            first.action()
            fired = true
        }
        return fired
    }
}
