import BoardCore
import LuaRuntime

// pinMode(pin, mode)            digitalWrite(pin, HIGH|LOW)      digitalRead(pin) -> 0|1
// analogRead(A0) -> 0..1023     analogWrite(pin, value)          analogWriteRange(range)
// analogWriteFreq(hz)
// Constants: HIGH LOW INPUT OUTPUT INPUT_PULLUP OUTPUT_OPEN_DRAIN INPUT_PULLDOWN_16
//            LED_BUILTIN D0..D10 A0 RISING FALLING CHANGE
enum GPIOBindings {
    static let constants: [(String, Int)] = [
        ("HIGH", 1), ("LOW", 0),
        ("INPUT", 0), ("OUTPUT", 1), ("INPUT_PULLUP", 2), ("OUTPUT_OPEN_DRAIN", 3), ("INPUT_PULLDOWN_16", 4),
        ("LED_BUILTIN", 2), ("A0", Pins.a0),
        ("D0", 16), ("D1", 5), ("D2", 4), ("D3", 0), ("D4", 2), ("D5", 14), ("D6", 12), ("D7", 13), ("D8", 15),
        ("D9", 3), ("D10", 1),
        ("RISING", 1), ("FALLING", 2), ("CHANGE", 3),
    ]

    static func register(in state: LuaState, ctx: SketchContext) {
        for (k, v) in constants { state.setGlobal(k, integer: v) }
        let pins = ctx.board.pins
        state.setGlobal("pinMode") { call throws(LuaError) in
            let pin = try call.integer(1), mode = try call.integer(2)
            do { try pins.setMode(pin, mode) } catch let e as Pins.PinError {
                throw e == .modeNotSupported(pin: pin, mode: mode) ? .argument(2, e.description) : e.lua(1)
            } catch { throw .runtime("\(error)") }
            return 0
        }
        // digitalWrite/digitalRead run in C on the pins' own storage (CLuaShim's clua_pins);
        // the Swift digitalWrite below is their slow path (PWM to stop, a change to announce).
        precondition(
            LuaPinBlock.pinCount == Pins.count && LuaPinBlock.size == Pins.Storage.size
                && LuaPinBlock.mode == Pins.Storage.mode && LuaPinBlock.output == Pins.Storage.output
                && LuaPinBlock.external == Pins.Storage.external && LuaPinBlock.slow == Pins.Storage.slow
                && LuaPinBlock.listenedBit == Pins.Storage.listened && LuaPinBlock.pwmBit == Pins.Storage.pwm,
            "Pins.Storage and clua_pins disagree")
        state.setGlobal(
            "digitalWrite",
            .digitalWrite(
                pins: pins.storage,
                slowPath: { call throws(LuaError) in
                    let pin = try call.integer(1)
                    let level: Bool
                    switch call.type(2) {
                    case 1: level = call.boolean(2)  // LUA_TBOOLEAN
                    default:
                        let v = try call.integer(2)
                        level = v != 0
                    }
                    do { try pins.write(pin, level) } catch let e as Pins.PinError { throw e.lua(1) } catch { throw .runtime("\(error)") }
                    return 0
                }))
        state.setGlobal("digitalRead", .digitalRead(pins: pins.storage))
        state.setGlobal("analogRead", kind: .poll) { call throws(LuaError) in
            let pin = try call.integer(1)
            do { call.push(try pins.analogRead(pin)) } catch let e as Pins.PinError { throw e.lua(1) } catch { throw .runtime("\(error)") }
            return 1
        }
        state.setGlobal("analogWrite") { call throws(LuaError) in
            let pin = try call.integer(1), value = try call.integer(2)
            do { try pins.analogWrite(pin, value) } catch let e as Pins.PinError { throw e.lua(1) } catch { throw .runtime("\(error)") }
            return 0
        }
        state.setGlobal("analogWriteRange") { call throws(LuaError) in
            pins.setPWMRange(try call.integer(1)); return 0
        }
        state.setGlobal("analogWriteFreq") { call throws(LuaError) in
            pins.setPWMFrequency(try call.integer(1)); return 0
        }
    }
}
