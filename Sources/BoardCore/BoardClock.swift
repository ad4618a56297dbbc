import Foundation

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
/// Single-threaded: use it from the device's thread only.
public final class BoardClock {
    public let mode: TimeMode
    private var virtualNow: UInt64 = 0
    private let wallStart: UInt64

    public init(mode: TimeMode) {
        self.mode = mode
        self.wallStart = BoardClock.monotonicNanos()
    }

    /// Microseconds since the emulator started.
    public var micros: UInt64 {
        switch mode {
        case .virtual: return virtualNow
        case .real: return (BoardClock.monotonicNanos() &- wallStart) / 1000
        }
    }

    public var millis: UInt64 { micros / 1000 }

    /// Spends `us` of board time on work (CPU cost of the sketch, busy waits).
    /// In virtual time the clock moves; in real time the host already spent it.
    public func spend(_ us: UInt64) {
        if mode == .virtual { virtualNow &+= us }
    }

    /// Moves virtual time forward to `t` (never backwards). In real time, sleeps until `t`.
    public func advance(to t: UInt64) {
        switch mode {
        case .virtual:
            if t > virtualNow { virtualNow = t }
        case .real:
            let now = micros
            if t > now { BoardClock.sleepMicros(t - now) }
        }
    }

    /// A busy wait of `us` (delayMicroseconds): virtual time moves, real time spins/sleeps.
    public func busyWait(_ us: UInt64) {
        switch mode {
        case .virtual: virtualNow &+= us
        case .real: BoardClock.sleepMicros(us)
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
