/// How far a `step` command runs the board before it pauses again.
public enum TimeStep: Sendable, Equatable {
    /// This many `loop()` passes (each with the background work within it).
    case passes(Int)
    /// This much board time (µs).
    case micros(UInt64)
}

/// The time authority of a board in virtual time (the web page's pause, step and
/// speed; `BoardCommand.pause`, `.resume`, `.step`, `.setSpeed`). Virtual time runs
/// as fast as possible by default; paused, the board's thread holds at its next
/// background pass (board time stands still; the inbox is still served); a step
/// lets it run until board time or the pass count reaches the target, which waits
/// never jump over (a step of 250 ms from an idle board lands on exactly 250 ms);
/// a speed of k holds board time at most k× the host's time since the speed was set
/// (or the board resumed), so a lesson can watch a TIME_WAIT count down at 1×.
///
/// In real time board time is the host's clock: these commands are ignored.
/// The board's thread only (commands reach it through the inbox).
public final class TimeControl {
    /// Board time stands still until `resume` or a `step`.
    public private(set) var paused = false
    /// Board µs per host µs; nil: as fast as possible.
    public private(set) var speed: Double?
    /// Board time at which a running step pauses the board.
    public private(set) var stepUntilMicros: UInt64?
    /// Pass count at which a running step pauses the board.
    public private(set) var stepUntilPass: Int?
    /// Whether a pass has anything to check (one load on the fast path).
    var engaged: Bool { paused || speed != nil || stepUntilMicros != nil || stepUntilPass != nil }
    // the pacing anchor: board and host time when the speed was set or the board resumed
    private var anchorBoard: UInt64 = 0
    private var anchorHost: UInt64 = 0

    init() {}

    /// Carries out a time command at board time `now` after `passes` passes; false
    /// for any other command.
    func perform(_ command: BoardCommand, now: UInt64, passes: Int) -> Bool {
        switch command {
        case .pause:
            paused = true
            stepUntilMicros = nil
            stepUntilPass = nil
        case .resume:
            paused = false
            stepUntilMicros = nil
            stepUntilPass = nil
            anchor(now)
        case .step(.micros(let us)):
            paused = false
            stepUntilPass = nil
            stepUntilMicros = now &+ us
            anchor(now)
        case .step(.passes(let n)):
            paused = false
            stepUntilMicros = nil
            stepUntilPass = passes + max(1, n)
            anchor(now)
        case .setSpeed(let k):
            speed = k > 0 && k.isFinite ? k : nil
            anchor(now)
        default:
            return false
        }
        return true
    }

    /// Whether the board must hold now: paused, or a step just reached its target
    /// (which pauses it).
    func mustHold(now: UInt64, passes: Int) -> Bool {
        if let until = stepUntilMicros, now >= until {
            stepUntilMicros = nil
            paused = true
        }
        if let n = stepUntilPass, passes >= n {
            stepUntilPass = nil
            paused = true
        }
        return paused
    }

    /// The latest board time a wait may jump to: a step's target.
    func limit(_ next: UInt64) -> UInt64 { stepUntilMicros.map { min($0, next) } ?? next }

    /// Restarts the pacing from (`now`, the host's now): after a hold, a speed change,
    /// or when the board fell far behind (a loaded host), so it does not race to catch up.
    func anchor(_ now: UInt64) {
        anchorBoard = now
        anchorHost = BoardClock.monotonicNanos() / 1000
    }

    /// Host µs to wait before board time may reach `t` at the set speed (0: now; always
    /// 0 as fast as possible).
    func hostWait(toReach t: UInt64, now: UInt64) -> UInt64 {
        guard let k = speed else { return 0 }
        let host = BoardClock.monotonicNanos() / 1000 &- anchorHost
        let allowed = anchorBoard &+ UInt64(Double(host) * k)
        if t <= allowed {
            // far behind (the host could not keep up): pace from here
            if allowed &- now > 100_000 { anchor(now) }
            return 0
        }
        return UInt64(Double(t - allowed) / k)
    }

    /// Board time the speed allows now (the present when as fast as possible).
    func allowed(now: UInt64) -> UInt64 {
        guard let k = speed else { return .max }
        let host = BoardClock.monotonicNanos() / 1000 &- anchorHost
        return anchorBoard &+ UInt64(Double(host) * k)
    }
}
