import Glibc

/// How board time relates to wall time.
public enum TimeMode: String, Sendable, CaseIterable {
    /// Board time is wall time (interactive runs: the host's clients are real).
    case real
    /// Board time only moves when the board works or waits; when idle it jumps to
    /// the next event. Deterministic and as fast as the host allows.
    case virtual
}

/// The one clock every part of the board reads: lwIP's `sys_now`, slirp's clock,
/// `millis()`, timers, watchdogs and plugins.
///
/// Time is in microseconds since the emulator started (monotonic across reboots);
/// `Board` keeps the boot instant so `millis()` restarts at zero on reboot.
///
/// Reading the clock is reading a stored value: in virtual time it *is* the time;
/// in real time it is the wall clock at its last `refresh()`, which the board's loop
/// does once per pass, after every wait and every 1000 Lua instructions (so a
/// reading is at most a few microseconds old, and a pass costs one `clock_gettime`,
/// not eleven). The stored words are also read by C fast paths (`words`).
/// Single-threaded: use it from the board's thread only.
public final class BoardClock {
    public let mode: TimeMode
    /// Layout shared with C (index: meaning): 0 board time µs (the stored reading),
    /// 1 wall-clock origin ns (CLOCK_MONOTONIC), 2 mode (1 real, 0 virtual),
    /// 3 board time of the current boot µs (kept by `Board`).
    public let words: UnsafeMutablePointer<UInt64>
    public static let wordCount = 4

    public init(mode: TimeMode) {
        self.mode = mode
        words = .allocate(capacity: BoardClock.wordCount)
        words.initialize(repeating: 0, count: BoardClock.wordCount)
        words[1] = BoardClock.monotonicNanos()
        words[2] = mode == .real ? 1 : 0
    }

    deinit { words.deallocate() }

    /// Microseconds since the emulator started, as last read (see the type's comment).
    @inline(__always) public var micros: UInt64 { words[0] }

    public var millis: UInt64 { micros / 1000 }

    /// Real time: reads the wall clock into the stored reading. Virtual: no-op.
    @discardableResult @inline(__always)
    public func refresh() -> UInt64 {
        if words[2] != 0 {
            let t = (BoardClock.monotonicNanos() &- words[1]) / 1000
            if t > words[0] { words[0] = t }
        }
        return words[0]
    }

    /// Board time of the current boot (µs since the emulator started).
    public var bootedAt: UInt64 {
        get { words[3] }
        set { words[3] = newValue }
    }

    /// Spends `us` of board time on work (CPU cost of the sketch, busy waits).
    /// In virtual time the clock moves; in real time the host already spent it.
    public func spend(_ us: UInt64) {
        if mode == .virtual { words[0] &+= us }
    }

    /// Moves virtual time forward to `t` (never backwards). In real time, sleeps until `t`.
    public func advance(to t: UInt64) {
        switch mode {
        case .virtual:
            if t > words[0] { words[0] = t }
        case .real:
            let now = refresh()
            if t > now { BoardClock.sleepMicros(t - now) }
            refresh()
        }
    }

    /// A busy wait of `us` (delayMicroseconds): virtual time moves, real time spins/sleeps.
    public func busyWait(_ us: UInt64) {
        switch mode {
        case .virtual: words[0] &+= us
        case .real:
            BoardClock.sleepMicros(us)
            refresh()
        }
    }

    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func sleepMicros(_ us: UInt64) {
        var request = timespec(tv_sec: Int(us / 1_000_000), tv_nsec: Int((us % 1_000_000) * 1000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
