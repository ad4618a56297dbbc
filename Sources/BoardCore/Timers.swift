/// Board timers: callbacks due at a board time, run by the event loop in due order
/// (ties in the order they were scheduled). Single-threaded.
///
/// A `hardware` timer is an event outside the CPU's program: a part's own clock,
/// the waveform generator (the core drives it from the timer1 NMI), a button the
/// world presses. It also fires while the sketch computes (`fireHardwareDue`, from
/// the instruction hook), as the world does not wait for a `delay()`; the others
/// (the SDK's timers: Ticker, lwIP) run only from the event loop.
public final class Timers {
    public struct ID: Hashable, Sendable { let raw: UInt64 }

    private struct Entry {
        let id: ID
        let due: UInt64
        let hardware: Bool
        let action: () -> Void
    }

    private var entries: [Entry] = []  // sorted by (due, id)
    private var nextRaw: UInt64 = 1

    public init() {}

    /// Schedules `action` at board time `due` (µs).
    @discardableResult
    public func schedule(at due: UInt64, hardware: Bool = false, _ action: @escaping () -> Void) -> ID {
        let id = ID(raw: nextRaw)
        nextRaw += 1
        if hardware { hardwareCount += 1 }
        let entry = Entry(id: id, due: due, hardware: hardware, action: action)
        let index = entries.firstIndex { $0.due > due } ?? entries.endIndex
        entries.insert(entry, at: index)
        return id
    }

    public func cancel(_ id: ID) {
        guard let i = entries.firstIndex(where: { $0.id == id }) else { return }
        if entries[i].hardware { hardwareCount -= 1 }
        entries.remove(at: i)
    }

    public func cancelAll() {
        entries.removeAll()
        hardwareCount = 0
    }

    /// Hardware timers pending.
    private var hardwareCount = 0

    /// The due time of the timer running now (what a part hears as the time of the
    /// edge it makes, though the sketch's instructions let it in a little later).
    public private(set) var firingDue: UInt64?

    /// The earliest due time of a hardware timer.
    public var nextHardwareDue: UInt64? { hardwareCount > 0 ? entries.first(where: { $0.hardware })?.due : nil }

    private func run(_ e: Entry) {
        let outer = firingDue
        firingDue = e.due
        e.action()
        firingDue = outer
    }

    /// The earliest due time, if any timer is pending.
    public var nextDue: UInt64? { entries.first?.due }

    public var count: Int { entries.count }

    /// Runs every timer due at or before `now`. Returns whether any ran.
    @discardableResult
    public func fireDue(now: UInt64) -> Bool {
        var fired = false
        while let first = entries.first, first.due <= now {
            entries.removeFirst()
            if first.hardware { hardwareCount -= 1 }
            run(first)
            fired = true
        }
        return fired
    }

    /// Runs the hardware timers due at or before `now`, in due order, leaving the
    /// others for the event loop. Returns whether any ran.
    @discardableResult
    public func fireHardwareDue(now: UInt64) -> Bool {
        guard hardwareCount > 0 else { return false }
        var fired = false
        var i = 0
        while i < entries.count, entries[i].due <= now {
            guard entries[i].hardware else { i += 1; continue }
            let e = entries.remove(at: i)
            hardwareCount -= 1
            run(e)
            fired = true
            i = 0  // the action may have scheduled or cancelled timers
        }
        return fired
    }
}
