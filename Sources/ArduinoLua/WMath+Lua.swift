import BoardCore
import LuaRuntime

// map(x, in_min, in_max, out_min, out_max) -> integer    constrain(x, low, high) -> x, low or high
// random(max) / random(min, max) -> integer               randomSeed(seed)
// secureRandom(max) / secureRandom(min, max) -> integer
// Arguments are C `long`s: numbers are truncated toward zero (as C converts a float), 32-bit.
enum WMathBindings {
    static func register(in state: LuaState, ctx: SketchContext) {
        var math = WMath()
        /// A `long` argument: an integer, or a float truncated as C converts it.
        func long(_ call: LuaCall, _ i: Int32) throws(LuaError) -> Int {
            let d = try call.number(i)
            guard d.isFinite, abs(d) < 9.2e18 else { throw .argument(i, "number out of range") }
            return Int(d.rounded(.towardZero))
        }
        state.setGlobal("map") { call throws(LuaError) in
            guard let v = WMath.map(try long(call, 1), try long(call, 2), try long(call, 3), try long(call, 4), try long(call, 5))
            else { throw .runtime("map: in_min equals in_max (an integer division by zero on the board)") }
            call.push(v)
            return 1
        }
        // the macro compares whatever it is given: numbers here, returned as they are
        state.setGlobal("constrain", kind: .poll) { call throws(LuaError) in
            let x = try call.number(1), low = try call.number(2), high = try call.number(3)
            call.pushValue(x < low ? 2 : (x > high ? 3 : 1))
            return 1
        }
        state.setGlobal("randomSeed") { call throws(LuaError) in
            math.randomSeed(try long(call, 1)); return 0
        }
        state.setGlobal("random") { call throws(LuaError) in
            if call.isNoneOrNil(2) {
                call.push(math.random(try long(call, 1)))
            } else {
                call.push(math.random(try long(call, 1), try long(call, 2)))
            }
            return 1
        }
        state.setGlobal("secureRandom") { call throws(LuaError) in
            if call.isNoneOrNil(2) {
                call.push(math.secureRandom(try long(call, 1)))
            } else {
                call.push(math.secureRandom(try long(call, 1), try long(call, 2)))
            }
            return 1
        }
    }
}
