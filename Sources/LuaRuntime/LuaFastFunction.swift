import CLua
import CLuaShim

/// A binding written in C (CLuaShim) for the hottest pure calls: no Swift runs on
/// its way unless it needs to. Each checks its arguments and words its errors
/// exactly as the Swift binding it stands for.
public enum LuaFastFunction {
    /// `digitalWrite(pin, level)` on a pin block laid out as `LuaPinBlock` says
    /// (the storage of BoardCore's `Pins`). `slowPath`, the Swift binding, does the
    /// write instead when PWM runs on the pin, or when the pin's visible level changes
    /// and someone listens to it. Active: sets `LuaState.activeBit`.
    case digitalWrite(pins: UnsafeMutableRawPointer, slowPath: LuaFunction)
    /// `digitalRead(pin) -> 0|1` on the same block. A poll: sets no bit.
    case digitalRead(pins: UnsafeMutableRawPointer)
    /// `millis()` over the board clock's words (BoardClock.words: 0 board µs, 1 wall
    /// origin ns, 2 real/virtual, 3 boot µs): (board − boot) / 1000, 32 bits. Sets
    /// `LuaState.readMillisBit`.
    case millis(clock: UnsafeMutablePointer<UInt64>)
    /// `micros()`: in real time refreshes word 0 first (as `BoardClock.refresh()`),
    /// then board − boot, 32 bits. Sets `LuaState.readMicrosBit`.
    case micros(clock: UnsafeMutablePointer<UInt64>)
}

/// The pin block the fast `digitalWrite`/`digitalRead` read and write (`clua_pins`
/// in clua_shim.h): rows of `pinCount` bytes indexed by GPIO number, at these offsets.
public enum LuaPinBlock {
    public static let pinCount = Int(CLUA_PIN_COUNT)
    /// `Pins.Mode` raw values.
    public static let mode = MemoryLayout<clua_pins>.offset(of: \.mode)!
    /// The level the sketch drives: 0 or 1.
    public static let output = MemoryLayout<clua_pins>.offset(of: \.output)!
    /// The level a part drives: 0, 1, or 2 when nobody drives the pin.
    public static let external = MemoryLayout<clua_pins>.offset(of: \.external)!
    /// `listenedBit | pwmBit`: why a write must go through Swift.
    public static let slow = MemoryLayout<clua_pins>.offset(of: \.slow)!
    public static let size = MemoryLayout<clua_pins>.size
    public static let listenedBit = UInt8(CLUA_PIN_LISTENED)
    public static let pwmBit = UInt8(CLUA_PIN_PWM)
}

extension LuaState {
    /// Pushes the C function `fast`.
    public func push(_ fast: LuaFastFunction) {
        switch fast {
        case .digitalWrite(let pins, let slowPath):
            let box = LuaFunctionBox(slowPath, state: self)
            boxes.append(box)
            clua_push_digital_write(L, pins.assumingMemoryBound(to: clua_pins.self), Unmanaged.passUnretained(box).toOpaque())
        case .digitalRead(let pins):
            clua_push_digital_read(L, pins.assumingMemoryBound(to: clua_pins.self))
        case .millis(let clock):
            clua_push_millis(L, clock)
        case .micros(let clock):
            clua_push_micros(L, clock)
        }
    }

    /// Sets global `name` to the C function `fast`.
    public func setGlobal(_ name: String, _ fast: LuaFastFunction) {
        push(fast)
        lua_setglobal(L, name)
        api.setFunction(name)
    }
}
