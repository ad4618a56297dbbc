/// The core's WMath.cpp (cores/esp8266/WMath.cpp, core 3.1.2+) and `constrain`
/// (Arduino.h:130), in the ESP8266's 32-bit `long` arithmetic.
public struct WMath {
    /// Before `randomSeed`, `random` reads the hardware RNG (RANDOM_REG32); here a
    /// fixed-seed generator stands in for it, so runs repeat.
    private var hardware = SplitMix(seed: 0x8266)
    /// newlib's `rand()` state (`_rand_next`), used once `randomSeed` was called.
    private var randNext: UInt64 = 1
    private var seeded = false

    public init() {}

    /// `randomSeed(seed)` (WMath.cpp:35-40): 0 is ignored; otherwise `srand(seed)` and
    /// from now on `rand()` instead of the hardware RNG.
    public mutating func randomSeed(_ seed: Int) {
        let s = UInt32(truncatingIfNeeded: seed)  // unsigned long
        guard s != 0 else { return }
        randNext = UInt64(s)
        seeded = true
    }

    /// newlib's `rand()`: a 64-bit LCG, the high half masked to RAND_MAX (0x7FFFFFFF).
    private mutating func rand() -> UInt32 {
        randNext = randNext &* 6_364_136_223_846_793_005 &+ 1
        return UInt32(truncatingIfNeeded: randNext >> 32) & 0x7FFF_FFFF
    }

    /// The hardware RNG's stand-in (RANDOM_REG32: any 32-bit value).
    public mutating func hardwareRandom() -> UInt32 { UInt32(truncatingIfNeeded: hardware.next()) }

    /// `random(howbig)` (WMath.cpp:42-49): `val % howbig` with `val` a uint32_t, so a
    /// negative bound is taken as unsigned, as C converts it.
    public mutating func random(_ howbig: Int) -> Int {
        let big = Int32(truncatingIfNeeded: howbig)
        guard big != 0 else { return 0 }
        let val = seeded ? rand() : hardwareRandom()
        return Int(Int32(bitPattern: val % UInt32(bitPattern: big)))
    }

    /// `random(howsmall, howbig)` (WMath.cpp:51-57).
    public mutating func random(_ howsmall: Int, _ howbig: Int) -> Int {
        let small = Int32(truncatingIfNeeded: howsmall), big = Int32(truncatingIfNeeded: howbig)
        guard small < big else { return Int(small) }
        let diff = big &- small
        return Int(Int32(truncatingIfNeeded: random(Int(diff))) &+ small)
    }

    /// `secureRandom(howbig)` (WMath.cpp:59-64): always the hardware RNG.
    public mutating func secureRandom(_ howbig: Int) -> Int {
        let big = Int32(truncatingIfNeeded: howbig)
        guard big != 0 else { return 0 }
        return Int(Int32(bitPattern: hardwareRandom() % UInt32(bitPattern: big)))
    }

    /// `secureRandom(howsmall, howbig)` (WMath.cpp:66-72).
    public mutating func secureRandom(_ howsmall: Int, _ howbig: Int) -> Int {
        let small = Int32(truncatingIfNeeded: howsmall), big = Int32(truncatingIfNeeded: howbig)
        guard small < big else { return Int(small) }
        return Int(Int32(truncatingIfNeeded: secureRandom(Int(big &- small))) &+ small)
    }

    /// `map(x, in_min, in_max, out_min, out_max)` (WMath.cpp:74-80): rounds to the
    /// nearest (core 3.x adds half the divisor), 32-bit arithmetic; nil when
    /// `in_min == in_max` (the division by zero that crashes the board).
    public static func map(_ x: Int, _ inMin: Int, _ inMax: Int, _ outMin: Int, _ outMax: Int) -> Int? {
        let l = { (v: Int) in Int32(truncatingIfNeeded: v) }
        let dividend = l(outMax) &- l(outMin)
        let divisor = l(inMax) &- l(inMin)
        let delta = l(x) &- l(inMin)
        guard divisor != 0 else { return nil }
        let q = (delta &* dividend &+ divisor / 2).dividedReportingOverflow(by: divisor).partialValue
        return Int(q &+ l(outMin))
    }
}

/// A small deterministic generator (SplitMix64).
public struct SplitMix {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
