import BoardCore
import LuaRuntime

// Serial.begin(baud)                    Serial.print(x [, base|digits]) -> bytes
// Serial.println([x [, base|digits]])   Serial.printf(fmt, ...) -> bytes
// Serial.write(string|byte) -> bytes    Serial.available() -> n
// Serial.read() -> byte or -1           Serial.peek() -> byte or -1
// Serial.readString() -> string         Serial.readStringUntil(char) -> string
// Serial.setTimeout(ms)                 Serial.flush()
// Serial.setDebugOutput(b)              the SDK's messages (WiFi) on Serial
// Constants: DEC HEX OCT BIN
enum SerialBindings {
    static func register(in state: LuaState, ctx: SketchContext) {
        let uart = ctx.board.uart
        for (k, v) in [("DEC", 10), ("HEX", 16), ("OCT", 8), ("BIN", 2)] { state.setGlobal(k, integer: v) }
        var timeoutMillis: UInt64 = 1000  // Stream's default
        uart.debugOutput = false  // a new boot: uart_set_debug(UART_NO)
        func text(_ call: LuaCall, _ i: Int32) throws(LuaError) -> String {
            if call.isNoneOrNil(i + 1) { return try call.printable(i) }
            let f = try call.integer(i + 1)
            return try call.printable(i, base: f, digits: f)
        }
        func timedRead(_ call: LuaCall) -> UInt8? {
            if let b = uart.read() { return b }
            ctx.wait(timeoutMicros: timeoutMillis * 1000) { uart.available > 0 }
            return uart.read()
        }
        state.setLibrary(
            "Serial",
            [
                (
                    "begin",
                    { call throws(LuaError) in
                        uart.begin(baud: try call.optionalInteger(1, default: 115200)); return 0
                    }
                ),
                (
                    "end",
                    { _ in
                        uart.debugOutput = false; return 0  // HardwareSerial::end: debug off if it was this UART's
                    }
                ),
                (
                    "setDebugOutput",
                    { call in
                        uart.debugOutput = call.boolean(1); return 0
                    }
                ),
                (
                    "print",
                    { call throws(LuaError) in
                        let s = try text(call, 1); uart.write(s); call.push(s.utf8.count); return 1
                    }
                ),
                (
                    "println",
                    { call throws(LuaError) in
                        let s = (call.isNoneOrNil(1) ? "" : try text(call, 1)) + "\r\n"
                        uart.write(s); call.push(s.utf8.count); return 1
                    }
                ),
                (
                    "write",
                    { call throws(LuaError) in
                        if call.type(1) == 3 && call.count == 1 {  // a number: one byte
                            uart.write([UInt8(truncatingIfNeeded: try call.integer(1))]); call.push(1); return 1
                        }
                        let b = try call.bytes(1); uart.write(b); call.push(b.count); return 1
                    }
                ),
                // HardwareSerial.cpp:104-111: optimistic_yield(10000) when nothing is there
                (
                    "available",
                    { call in
                        let n = uart.available
                        if n > 0 { call.markActive() } else { ctx.optimisticYield(10_000) }
                        call.push(n); return 1
                    }
                ),
                (
                    "availableForWrite",
                    { call in
                        call.push(128); return 1
                    }
                ),
                (
                    "read",
                    { call in
                        guard let b = uart.read() else { call.push(-1); return 1 }
                        call.markActive(); call.push(Int(b)); return 1
                    }
                ),
                (
                    "peek",
                    { call in
                        call.push(uart.peek().map(Int.init) ?? -1); return 1
                    }
                ),
                (
                    "setTimeout",
                    { call throws(LuaError) in
                        timeoutMillis = UInt64(max(0, try call.integer(1))); return 0
                    }
                ),
                ("flush", { _ in 0 }),
                (
                    "baudRate",
                    { call in
                        call.push(uart.baud); return 1
                    }
                ),
                (
                    "readString",
                    { call in
                        var out: [UInt8] = []
                        while let b = timedRead(call) { out.append(b) }
                        call.push(bytes: out); return 1
                    }
                ),
                (
                    "readStringUntil",
                    { call throws(LuaError) in
                        let term = try call.bytes(1).first ?? 0
                        var out: [UInt8] = []
                        while let b = timedRead(call), b != term { out.append(b) }
                        call.push(bytes: out); return 1
                    }
                ),
            ], polls: ["available", "availableForWrite", "read", "peek", "baudRate"])
    }
}
