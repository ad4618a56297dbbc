/// GPIO 0–16 and the ADC of an ESP8266 (NodeMCU/D1 mini numbering).
///
/// Mirrors the core's `pinMode`/`digitalWrite`/`digitalRead`/`analogRead`/
/// `analogWrite` (core_esp8266_wiring_digital.cpp, _analog.cpp, _pwm.cpp).
public final class Pins {
    public enum Mode: Int, Sendable {
        case input = 0x00, output = 0x01, inputPullup = 0x02, outputOpenDrain = 0x03
        case inputPulldown16 = 0x04
    }

    public enum PinError: Error, Equatable, CustomStringConvertible {
        case noSuchPin(Int)
        case flashPin(Int)
        case modeNotSupported(pin: Int, mode: Int)
        case notAnalogPin(Int)

        public var description: String {
            switch self {
            case .noSuchPin(let p): return "GPIO\(p) does not exist (valid pins are 0-16)"
            case .flashPin(let p): return "GPIO\(p) is wired to the flash chip (GPIO6-11 cannot be used)"
            case .modeNotSupported(let p, let m): return "mode \(m) is not supported on GPIO\(p)"
            case .notAnalogPin(let p): return "pin \(p) has no ADC (use A0)"
            }
        }
    }

    public static let count = 17
    public static let a0 = 17
    public static let flashPins = 6...11

    /// Layout of `storage`, mirrored by CLuaShim's `clua_pins` (the C `digitalWrite`/
    /// `digitalRead` fast paths): rows of `Pins.count` bytes indexed by GPIO number.
    public enum Storage {
        /// `Mode` raw values.
        public static let mode = 0
        /// The level the sketch drives: 0 or 1.
        public static let output = Pins.count
        /// The level an external part drives: 0, 1, or `nobody`.
        public static let external = 2 * Pins.count
        /// Why a write must go through Swift: `listened | pwm` (kept by `Pins`).
        public static let slow = 3 * Pins.count
        public static let size = 4 * Pins.count
        public static let nobody: UInt8 = 2
        /// `slow` bit: someone hears the pin's changes (`onChange` or a listener).
        public static let listened: UInt8 = 1
        /// `slow` bit: PWM runs on the pin.
        public static let pwm: UInt8 = 2
    }

    /// The pins' modes and levels (see `Storage`). Code outside `Pins` may write it
    /// only as the C fast path does: an output level, when no `slow` bit asks otherwise.
    /// Lives as long as the `Pins`.
    public let storage: UnsafeMutableRawPointer
    private var bytes: UnsafeMutablePointer<UInt8> { storage.assumingMemoryBound(to: UInt8.self) }

    public var modes: [Mode] { (0..<Pins.count).map(mode) }
    /// Level the sketch drives on an output pin.
    public var outputs: [Bool] { (0..<Pins.count).map(output) }
    /// Level an external part drives on a pin (nil: nobody drives it).
    public var external: [Bool?] { (0..<Pins.count).map(externalLevel) }
    /// PWM duty per pin (nil when not running PWM), in the current range.
    public private(set) var pwm = [Int?](repeating: nil, count: Pins.count)
    /// ADC reading 0...1023 (0–1.0 V on a bare chip).
    public var adc = 0
    /// `analogWriteRange`: 255 in core 3.x (1023 before 3.0).
    public private(set) var pwmRange = 255
    /// `analogWriteFreq`: 1 kHz by default.
    public private(set) var pwmFrequency = 1000
    /// Called when a pin's level changes: (pin, level).
    public var onChange: ((Int, Bool) -> Void)? {
        didSet { if (oldValue == nil) != (onChange == nil) { updateListened() } }
    }
    /// In the order they were added (a pin's listeners hear a change in that order).
    private var listeners: [(id: Int, pin: Int, fn: (Int, Bool) -> Void)] = []
    private var nextListener = 1

    /// Calls `fn(pin, level)` on every level change of `pin` (parts, buses); returns an id for `unlisten`.
    public func listen(pin: Int, _ fn: @escaping (Int, Bool) -> Void) -> Int {
        let id = nextListener
        nextListener += 1
        listeners.append((id, pin, fn))
        updateListened()
        return id
    }

    public func unlisten(_ id: Int) {
        listeners.removeAll { $0.id == id }
        updateListened()
    }

    /// The level a pin shows now (no range check: for parts).
    public func currentLevel(_ pin: Int) -> Bool { (0..<Pins.count).contains(pin) ? level(pin) : false }

    public init() {
        storage = .allocate(byteCount: Storage.size, alignment: 8)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: Storage.size)
        for pin in 0..<Pins.count { bytes[Storage.external + pin] = Storage.nobody }
    }

    deinit { storage.deallocate() }

    @inline(__always) private func mode(_ pin: Int) -> Mode { Mode(rawValue: Int(bytes[Storage.mode + pin])) ?? .input }
    @inline(__always) private func output(_ pin: Int) -> Bool { bytes[Storage.output + pin] != 0 }
    @inline(__always) private func externalLevel(_ pin: Int) -> Bool? {
        let e = bytes[Storage.external + pin]
        return e == Storage.nobody ? nil : e != 0
    }
    @inline(__always) private func setOutput(_ pin: Int, _ high: Bool) { bytes[Storage.output + pin] = high ? 1 : 0 }

    private func setPWM(_ pin: Int, _ duty: Int?) {
        guard pwm[pin] != duty else { return }
        pwm[pin] = duty
        if duty == nil { bytes[Storage.slow + pin] &= ~Storage.pwm } else { bytes[Storage.slow + pin] |= Storage.pwm }
    }

    /// Sets the `listened` bit of every pin from `onChange` and the listeners.
    private func updateListened() {
        for pin in 0..<Pins.count {
            let heard = onChange != nil || listeners.contains { $0.pin == pin }
            if heard { bytes[Storage.slow + pin] |= Storage.listened } else { bytes[Storage.slow + pin] &= ~Storage.listened }
        }
    }

    func check(_ pin: Int) throws {
        guard (0..<Pins.count).contains(pin) else { throw PinError.noSuchPin(pin) }
        guard !Pins.flashPins.contains(pin) else { throw PinError.flashPin(pin) }
    }

    public func setMode(_ pin: Int, _ rawMode: Int) throws {
        try check(pin)
        guard let mode = Mode(rawValue: rawMode) else { throw PinError.modeNotSupported(pin: pin, mode: rawMode) }
        if pin == 16 && mode == .inputPullup { throw PinError.modeNotSupported(pin: pin, mode: rawMode) }
        if pin != 16 && mode == .inputPulldown16 { throw PinError.modeNotSupported(pin: pin, mode: rawMode) }
        let before = level(pin)
        bytes[Storage.mode + pin] = UInt8(mode.rawValue)
        notify(pin, before)
    }

    public func write(_ pin: Int, _ high: Bool) throws {
        try check(pin)
        let before = level(pin)
        setPWM(pin, nil)
        setOutput(pin, high)
        notify(pin, before)
    }

    /// What `digitalRead` returns: the driven level, the external level, or the
    /// pull (INPUT_PULLUP idles HIGH; a floating INPUT reads LOW here).
    public func read(_ pin: Int) throws -> Bool {
        try check(pin)
        return level(pin)
    }

    func level(_ pin: Int) -> Bool {
        switch mode(pin) {
        case .output: return output(pin)
        case .outputOpenDrain: return output(pin) && (externalLevel(pin) ?? true)
        case .inputPullup: return externalLevel(pin) ?? true
        case .inputPulldown16, .input: return externalLevel(pin) ?? false
        }
    }

    /// An external part drives `pin` (nil releases it).
    public func drive(_ pin: Int, _ level: Bool?) throws {
        try check(pin)
        let before = self.level(pin)
        bytes[Storage.external + pin] = level.map { $0 ? 1 : 0 } ?? Storage.nobody
        notify(pin, before)
    }

    private func notify(_ pin: Int, _ before: Bool) {
        guard bytes[Storage.slow + pin] & Storage.listened != 0 else { return }
        let after = level(pin)
        guard after != before else { return }
        onChange?(pin, after)
        for l in listeners where l.pin == pin { l.fn(pin, after) }
    }

    /// `analogRead(A0)`: 0…1023. A digital pin reads `digitalRead * 1023`, as in the core.
    public func analogRead(_ pin: Int) throws -> Int {
        if pin == Pins.a0 || pin == 0 { return adc }  // the core accepts A0 (17) and 0
        try check(pin)
        return level(pin) ? 1023 : 0
    }

    /// `analogWrite(pin, value)`: clamps to the range; 0 drives LOW and stops PWM.
    public func analogWrite(_ pin: Int, _ value: Int) throws {
        try check(pin)
        let v = max(0, min(value, pwmRange))
        let before = level(pin)
        if v == 0 {
            setPWM(pin, nil)
            setOutput(pin, false)
        } else if v == pwmRange {
            setPWM(pin, nil)
            setOutput(pin, true)
        } else {
            setPWM(pin, v)
            setOutput(pin, true)
        }
        notify(pin, before)
    }

    public func setPWMRange(_ range: Int) { pwmRange = max(15, min(range, 65535)) }
    public func setPWMFrequency(_ hz: Int) { pwmFrequency = max(100, min(hz, 60000)) }

    /// Power-on state: every pin INPUT, no PWM, range 255.
    public func reset() {
        for pin in 0..<Pins.count {
            bytes[Storage.mode + pin] = UInt8(Mode.input.rawValue)
            setOutput(pin, false)
            setPWM(pin, nil)
        }
        pwmRange = 255
        pwmFrequency = 1000
    }
}
