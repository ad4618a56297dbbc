/// Something the board's event loop services: the network stack, stdin, plugins.
public protocol EventSource: AnyObject {
    /// Does pending work without blocking.
    func service(now: UInt64)
    /// The board time (µs) at which this source next needs service, if any.
    func nextDeadline(now: UInt64) -> UInt64?
}

/// A source that can block the loop in real time until it has input (sockets).
public protocol Waiter: AnyObject {
    /// Blocks at most `micros` or until input is ready.
    func wait(micros: UInt64)
    /// Virtual time: services host input that is already there (without waiting)
    /// and says whether any was, so causal chains through host sockets complete
    /// before the clock jumps. Host peers in the same process then behave the
    /// same on every run.
    func settle() -> Bool
}

/// Configuration of an emulated ESP8266.
public struct BoardConfig: Sendable {
    public var timeMode: TimeMode = .real
    /// `ESP.getFreeHeap()` at power-on, before `setup()`: 50 784 B measured on a
    /// NodeMCU with core 3.0.0 and a minimal sketch (esp8266/Arduino#8124).
    public var freeHeapAtBoot = 50_784
    /// `ESP.getChipId()`: the low 24 bits of the MAC.
    public var chipId: UInt32 = 0x97_F7_40
    /// Virtual-time cost of one Lua VM instruction, in nanoseconds.
    public var nanosPerInstruction: UInt64 = 50
    public init() {}
}

/// One emulated ESP8266: clock, timers, heap, pins, UART, watchdogs, reset state,
/// and the single event loop that services everything in one order (DESIGN.md 5).
///
/// `delay()`/`yield()` call `runBackground(until:)`, exactly like the core's
/// `esp_delay`: a `loop()` that never yields starves the network, as on a real board.
/// Single-threaded: one board, one thread.
public final class Board {
    public let config: BoardConfig
    public let clock: BoardClock
    public let timers = Timers()
    public let heap: Heap
    public let pins = Pins()
    public let uart: UART
    public let watchdog = Watchdog()
    public let i2c = I2CBus()
    public private(set) lazy var spi = SPIBus(pins: pins)
    /// The flash chip (4 MB, blank) unless the owner installs an image file's.
    public var flash: Flash = try! Flash()
    public private(set) var resetReason: ResetReason = .powerOn
    /// Board time of the current boot (millis() counts from here).
    public var bootedAt: UInt64 { clock.bootedAt }
    public private(set) var bootCount = 0
    private var sources: [EventSource] = []
    public weak var waiter: Waiter?
    /// Called (in order) when the board reboots, before the new boot; owners drop
    /// what the old boot held (connections, servers, timers of the sketch).
    private var rebootHandlers: [() -> Void] = []

    public init(config: BoardConfig = BoardConfig(), serialSink: @escaping (UnsafeRawBufferPointer) -> Void = standardOutputSink) {
        self.config = config
        self.clock = BoardClock(mode: config.timeMode)
        self.heap = Heap(capacity: config.freeHeapAtBoot)
        self.uart = UART(sink: serialSink)
    }

    // MARK: time

    /// Microseconds since this boot (`micros64()`).
    public var uptimeMicros: UInt64 { clock.micros - bootedAt }
    /// `millis()`: 32-bit, wraps after ~49.7 days.
    public var millis: UInt32 { UInt32(truncatingIfNeeded: uptimeMicros / 1000) }
    /// `micros()`: 32-bit, wraps every ~71.6 minutes.
    public var micros: UInt32 { UInt32(truncatingIfNeeded: uptimeMicros) }

    // MARK: event loop

    public func addSource(_ source: EventSource) { sources.append(source) }

    public func onReboot(_ handler: @escaping () -> Void) { rebootHandlers.append(handler) }

    /// Services every source and due timer once.
    public func serviceOnce() {
        let now = clock.refresh()
        for s in sources { s.service(now: now) }
        timers.fireDue(now: clock.micros)
    }

    /// Runs the background (network, timers) until board time `deadline`:
    /// what `delay()` does. In virtual time, idle stretches are skipped.
    /// `stop` is checked after each pass; when it returns true the loop ends early.
    public func runBackground(until deadline: UInt64, stop: () -> Bool = { false }) {
        var settleRounds = 0
        while true {
            serviceOnce()
            if stop() { return }
            let now = clock.micros
            if now >= deadline { return }
            var next = deadline
            if let t = timers.nextDue { next = min(next, t) }
            for s in sources { if let d = s.nextDeadline(now: now) { next = min(next, d) } }
            if next <= now { continue }
            switch clock.mode {
            case .virtual:
                if let w = waiter, settleRounds < 10_000, w.settle() {
                    settleRounds += 1
                    continue
                }
                settleRounds = 0
                clock.advance(to: next)
            case .real:
                if let w = waiter { w.wait(micros: next - now); clock.refresh() } else { clock.advance(to: next) }
            }
        }
    }

    /// One pass of background work (`yield()`, end of `loop()`).
    public func yieldOnce() {
        serviceOnce()
    }

    /// Feeds both watchdogs (loop return, delay, yield).
    public func feedWatchdog() { watchdog.feed(now: clock.micros) }

    /// Charges CPU time spent by the sketch; returns a watchdog bite if one is due.
    public func spendCPU(micros: UInt64) -> ResetReason? {
        clock.spend(micros)
        return watchdog.check(now: clock.refresh())
    }

    // MARK: boot

    /// Power-on or reboot: pins to their boot state, watchdogs armed, millis() from 0.
    /// On a reboot the owners registered with `onReboot` release what they held first.
    public func boot(reason: ResetReason) {
        if bootCount > 0 { for h in rebootHandlers { h() } }
        bootCount += 1
        resetReason = reason
        pins.reset()
        clock.bootedAt = clock.micros
        watchdog.reset(now: clock.micros)
    }
}
