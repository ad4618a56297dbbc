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

    public private(set) var modes = [Mode](repeating: .input, count: Pins.count)
    /// Level the sketch drives on an output pin.
    public private(set) var outputs = [Bool](repeating: false, count: Pins.count)
    /// Level an external part drives on a pin (nil: nobody drives it).
    public private(set) var external = [Bool?](repeating: nil, count: Pins.count)
    /// PWM duty per pin (nil when not running PWM), in the current range.
    public private(set) var pwm = [Int?](repeating: nil, count: Pins.count)
    /// ADC reading 0...1023 (0–1.0 V on a bare chip).
    public var adc = 0
    /// `analogWriteRange`: 255 in core 3.x (1023 before 3.0).
    public private(set) var pwmRange = 255
    /// `analogWriteFreq`: 1 kHz by default.
    public private(set) var pwmFrequency = 1000
    /// Called when a pin's level changes: (pin, level).
    public var onChange: ((Int, Bool) -> Void)?
    private var listeners: [Int: (pin: Int, fn: (Int, Bool) -> Void)] = [:]
    private var nextListener = 1

    /// Calls `fn(pin, level)` on every level change of `pin` (parts, buses); returns an id for `unlisten`.
    public func listen(pin: Int, _ fn: @escaping (Int, Bool) -> Void) -> Int {
        let id = nextListener
        nextListener += 1
        listeners[id] = (pin, fn)
        return id
    }

    public func unlisten(_ id: Int) { listeners.removeValue(forKey: id) }

    /// The level a pin shows now (no range check: for parts).
    public func currentLevel(_ pin: Int) -> Bool { (0..<Pins.count).contains(pin) ? level(pin) : false }

    public init() {}

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
        modes[pin] = mode
        notify(pin, before)
    }

    public func write(_ pin: Int, _ high: Bool) throws {
        try check(pin)
        let before = level(pin)
        pwm[pin] = nil
        outputs[pin] = high
        notify(pin, before)
    }

    /// What `digitalRead` returns: the driven level, the external level, or the
    /// pull (INPUT_PULLUP idles HIGH; a floating INPUT reads LOW here).
    public func read(_ pin: Int) throws -> Bool {
        try check(pin)
        return level(pin)
    }

    func level(_ pin: Int) -> Bool {
        switch modes[pin] {
        case .output: return outputs[pin]
        case .outputOpenDrain: return outputs[pin] && (external[pin] ?? true)
        case .inputPullup: return external[pin] ?? true
        case .inputPulldown16, .input: return external[pin] ?? false
        }
    }

    /// An external part drives `pin` (nil releases it).
    public func drive(_ pin: Int, _ level: Bool?) throws {
        try check(pin)
        let before = self.level(pin)
        external[pin] = level
        notify(pin, before)
    }

    private func notify(_ pin: Int, _ before: Bool) {
        let after = level(pin)
        guard after != before else { return }
        onChange?(pin, after)
        for l in listeners.values.sorted(by: { $0.pin < $1.pin }) where l.pin == pin { l.fn(pin, after) }
    }

    /// `analogRead(A0)`: 0…1023. A digital pin reads `digitalRead * 1023`, as in the core.
    public func analogRead(_ pin: Int) throws -> Int {
        if pin == Pins.a0 || pin == 0 { return adc }   // the core accepts A0 (17) and 0
        try check(pin)
        return level(pin) ? 1023 : 0
    }

    /// `analogWrite(pin, value)`: clamps to the range; 0 drives LOW and stops PWM.
    public func analogWrite(_ pin: Int, _ value: Int) throws {
        try check(pin)
        let v = max(0, min(value, pwmRange))
        let before = level(pin)
        if v == 0 {
            pwm[pin] = nil
            outputs[pin] = false
        } else if v == pwmRange {
            pwm[pin] = nil
            outputs[pin] = true
        } else {
            pwm[pin] = v
            outputs[pin] = true
        }
        notify(pin, before)
    }

    public func setPWMRange(_ range: Int) { pwmRange = max(15, min(range, 65535)) }
    public func setPWMFrequency(_ hz: Int) { pwmFrequency = max(100, min(hz, 60000)) }

    /// Power-on state: every pin INPUT, no PWM, range 255.
    public func reset() {
        modes = [Mode](repeating: .input, count: Pins.count)
        outputs = [Bool](repeating: false, count: Pins.count)
        pwm = [Int?](repeating: nil, count: Pins.count)
        pwmRange = 255
        pwmFrequency = 1000
    }
}
