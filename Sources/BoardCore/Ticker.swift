/// The core's `Ticker` (libraries/Ticker/src/Ticker.cpp, core 3.1.2+): an SDK
/// `os_timer` armed for a period, once or repeating, whose callback runs in the SDK's
/// task, that is at the sketch's next `delay`/`yield`/return of `loop()`. The firing
/// is handed to `fire` (the owner queues the callback); the owner reports back with
/// `callbackReturned(generation:)` so a one-shot ticker detaches after its callback
/// (Ticker.cpp `_static_callback`), unless the callback attached or detached it.
public final class TickerTimer {
    private unowned let board: Board
    private var timer: Timers.ID?
    private var periodMicros: UInt64 = 0
    /// `_repeat`.
    public private(set) var repeating = false
    /// Bumped by every attach and detach: a queued firing of an older one is stale.
    public private(set) var generation = 0
    private var fire: ((Int) -> Void)?

    public init(board: Board) { self.board = board }

    /// `active()`: armed, and for a one-shot ticker until its callback has returned.
    public var isActive: Bool { fire != nil }

    /// `_attach(ms, repeat)` (Ticker.cpp:49-77): disarms a running timer, then arms
    /// `os_timer_arm(ms, repeat)`: the first firing one period from now. `fire` gets
    /// the generation to pass back to `callbackReturned`.
    public func attach(periodMicros: UInt64, repeating: Bool, fire: @escaping (Int) -> Void) {
        cancelTimer()
        generation += 1
        self.periodMicros = periodMicros
        self.repeating = repeating
        self.fire = fire
        arm(at: board.clock.micros + periodMicros)
    }

    /// `detach()` (Ticker.cpp:79-87).
    public func detach() {
        guard fire != nil else { return }
        cancelTimer()
        generation += 1
        fire = nil
    }

    /// The callback of firing `generation` returned (Ticker.cpp:116-128).
    public func callbackReturned(generation g: Int) {
        guard g == generation, fire != nil else { return }  // re-attached or detached inside
        if !repeating { detach() }
    }

    private func arm(at due: UInt64) {
        let g = generation
        let boot = board.bootCount
        timer = board.timers.schedule(at: due) { [weak self] in
            // a reboot forgets the SDK's timers: one armed in an earlier boot never fires
            guard let self, self.generation == g, self.board.bootCount == boot, let fire = self.fire else { return }
            // os_timer repeats at a fixed period from the first due time
            if self.repeating { self.arm(at: due + max(self.periodMicros, 1)) } else { self.timer = nil }
            fire(g)
        }
    }

    private func cancelTimer() {
        if let t = timer { board.timers.cancel(t) }
        timer = nil
    }
}
