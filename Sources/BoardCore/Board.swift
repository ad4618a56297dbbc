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
    /// The supply voltage `ESP.getVcc()` reads under `ADC_MODE(ADC_VCC)`.
    public var supplyVolts = 3.3
    /// `ESP.getSketchSize()`: esplua runs no binary, so a fixed image size stands in
    /// (about what a WiFi sketch built with core 3.1.2 takes; a multiple of 16 as
    /// Esp.cpp:603-633 rounds it).
    public static let sketchImageSize = 300_000
    public init() {}
}

/// One emulated ESP8266: clock, timers, heap, pins, UART, watchdogs, reset state,
/// the run loop that services everything in one order (`loop`, DESIGN.md 5), the
/// event stream (`events`) and the command inbox (`loop.inbox`, DESIGN.md 15).
///
/// `delay()`/`yield()` go through `loop.espDelay`/`loop.yield`, exactly like the
/// core's `esp_delay`: a `loop()` that never yields starves the network, as on a
/// real board. Single-threaded: one board, one thread.
public final class Board {
    public let config: BoardConfig
    public let clock: BoardClock
    public let timers = Timers()
    public let heap: Heap
    public let pins = Pins()
    /// GPIO interrupts (attachInterrupt); their handlers run through `loop.interruptService`.
    public private(set) lazy var interrupts = Interrupts(pins: pins)
    /// tone()/noTone(): the waveform generator's square waves.
    public private(set) lazy var tone = Tone(pins: pins, timers: timers, clock: clock)
    public let uart: UART
    public let watchdog = Watchdog()
    public let i2c = I2CBus()
    public private(set) lazy var spi = SPIBus(pins: pins)
    /// The flash chip (4 MB, blank) unless the owner installs an image file's.
    public var flash: Flash = try! Flash()
    public var resetReason: ResetReason { resetInfo.reason }
    /// `rst_info` of this boot (`ESP.getResetInfo()`).
    public private(set) var resetInfo = ResetInfo()
    /// The time of day (time(), settimeofday, the zone): RAM, cleared at each boot.
    public private(set) lazy var timeOfDay = TimeOfDay(clock: clock)
    /// The RTC's user memory: kept across resets, garbage at power-on.
    public let rtcMemory = RTCMemory()
    /// Board time of the current boot (millis() counts from here).
    public var bootedAt: UInt64 { clock.bootedAt }
    public private(set) var bootCount = 0
    /// Everything the board does, for whoever watches (pcap, trace, tests, the dashboard).
    public let events: BoardEvents
    /// The run loop: esp_delay, yield, loop_wrapper, idle sleeping, the inbox.
    public let loop: BoardLoop
    /// Called (in order) when the board reboots, before the new boot; owners drop
    /// what the old boot held (connections, servers, timers of the sketch).
    private var rebootHandlers: [() -> Void] = []

    public init(config: BoardConfig = BoardConfig(), serialSink: @escaping (UnsafeRawBufferPointer) -> Void = standardOutputSink) {
        self.config = config
        self.clock = BoardClock(mode: config.timeMode)
        self.heap = Heap(capacity: config.freeHeapAtBoot)
        self.uart = UART(sink: serialSink)
        events = BoardEvents(clock: clock)
        loop = BoardLoop(clock: clock, timers: timers, watchdog: watchdog, heap: heap, events: events)
        uart.events = events
        pins.onChange = { [unowned events] pin, level in events.publish(.pin(pin: pin, level: level)) }
        loop.commandHandlers.append { [unowned self] command in
            guard case .serialInput(let bytes) = command else { return false }
            self.uart.receive(bytes)
            return true
        }
    }

    // MARK: time

    /// Microseconds since this boot (`micros64()`).
    public var uptimeMicros: UInt64 { clock.micros - bootedAt }
    /// `millis()`: 32-bit, wraps after ~49.7 days.
    public var millis: UInt32 { UInt32(truncatingIfNeeded: uptimeMicros / 1000) }
    /// `micros()`: 32-bit, wraps every ~71.6 minutes.
    public var micros: UInt32 { UInt32(truncatingIfNeeded: uptimeMicros) }

    // MARK: event loop

    public func onReboot(_ handler: @escaping () -> Void) { rebootHandlers.append(handler) }

    /// Feeds both watchdogs (`ESP.wdtFeed()`; delay, yield and loop return feed them in `loop`).
    public func feedWatchdog() { watchdog.feed(now: clock.micros) }

    /// Charges CPU time spent by the sketch; returns a watchdog bite if one is due.
    public func spendCPU(micros: UInt64) -> ResetReason? {
        clock.spend(micros)
        return watchdog.check(now: clock.refresh())
    }

    /// While the sketch computes: what happens outside the CPU's program up to now
    /// (parts' timers, the waveform generator; `Timers`' hardware timers; a control
    /// the page set, serial input), then the interrupts it latched. Called between
    /// two Lua instructions and by busy waits.
    public func serviceHardware() {
        timers.fireHardwareDue(now: clock.micros)
        loop.performWorldCommands()
        if interrupts.canRun { loop.interruptService?() }
    }

    // MARK: boot

    /// Power-on or reboot: pins to their boot state, watchdogs armed, millis() from 0.
    /// On a reboot the owners registered with `onReboot` release what they held first.
    /// `info`: the crash registers, when a crash caused the reboot.
    public func boot(reason: ResetReason, info: ResetInfo? = nil) {
        if bootCount > 0 { for h in rebootHandlers { h() } }
        bootCount += 1
        resetInfo = info ?? ResetInfo(reason: reason)
        if reason == .powerOn { rtcMemory.powerOn(seed: config.chipId) }
        timeOfDay.reset()
        tone.reset()
        interrupts.reset()
        pins.reset()
        clock.bootedAt = clock.micros
        watchdog.reset(now: clock.micros)
        loop.reset()
        events.publish(.reset(reason))
    }
}
