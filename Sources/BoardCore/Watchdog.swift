/// The ESP8266's two watchdogs.
///
/// Both are fed when `loop()` returns and by `delay()`/`yield()`. The soft WDT
/// bites after ≈ 3.2 s without feeding (Espressif's figure, esp8266/Arduino#2261,
/// #2533); when it is disabled (`ESP.wdtDisable()`) the hardware WDT still bites,
/// after ≈ 8 s (#2942 measured 8.38 s; Espressif says 6 s).
public final class Watchdog {
    public var softTimeout: UInt64 = 3_200_000
    public var hardTimeout: UInt64 = 8_000_000
    public private(set) var softEnabled = true
    private(set) var lastFeed: UInt64 = 0

    public init() {}

    public func feed(now: UInt64) { lastFeed = now }
    /// `ESP.wdtEnable(ms)`: the timeout argument is ignored, as in the core.
    public func enableSoft(now: UInt64) { softEnabled = true; lastFeed = now }
    /// `ESP.wdtDisable()`: stops the soft WDT only.
    public func disableSoft() { softEnabled = false }

    /// Which dog bites at `now`, if any.
    public func check(now: UInt64) -> ResetReason? {
        let starving = now &- lastFeed
        if softEnabled && starving >= softTimeout { return .softWatchdog }
        if starving >= hardTimeout { return .hardwareWatchdog }
        return nil
    }

    /// When the next bite would happen without feeding.
    public func deadline() -> UInt64 {
        lastFeed + (softEnabled ? softTimeout : hardTimeout)
    }

    public func reset(now: UInt64) { softEnabled = true; lastFeed = now }
}
