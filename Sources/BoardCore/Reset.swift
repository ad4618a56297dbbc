/// Why the board (re)started: the SDK's `rst_info.reason`, with the strings
/// `ESP.getResetReason()` returns (core 3.x, Esp.cpp).
public enum ResetReason: Int, Sendable {
    case powerOn = 0
    case hardwareWatchdog = 1
    case exception = 2
    case softWatchdog = 3
    case softRestart = 4
    case deepSleepAwake = 5
    case externalSystem = 6

    public var description: String {
        switch self {
        case .powerOn: return "Power On"
        case .hardwareWatchdog: return "Hardware Watchdog"
        case .exception: return "Exception"
        case .softWatchdog: return "Software Watchdog"
        case .softRestart: return "Software/System restart"
        case .deepSleepAwake: return "Deep-Sleep Wake"
        case .externalSystem: return "External System"
        }
    }

    /// The ROM's "rst cause" on the boot line: 2 (reset pin) for exceptions, soft
    /// WDT and restart; 4 for the hardware WDT; 1 at power-on (doc/boards.rst).
    public var romCause: Int {
        switch self {
        case .powerOn: return 1
        case .hardwareWatchdog: return 4
        default: return 2
        }
    }
}

/// The SDK's `rst_info` (user_interface.h): the reason and, after a crash, the
/// exception registers `ESP.getResetInfo()` formats (Esp.cpp:507-516).
public struct ResetInfo: Sendable, Equatable {
    public var reason: ResetReason = .powerOn
    public var exccause = 0
    public var epc1: UInt32 = 0, epc2: UInt32 = 0, epc3: UInt32 = 0, excvaddr: UInt32 = 0, depc: UInt32 = 0

    public init(reason: ResetReason = .powerOn) { self.reason = reason }

    /// After `crash`, whose dump was printed with `seed` (`Postmortem.dump`).
    public init(crash: Crash, seed: UInt32) {
        reason = crash.resetReason
        switch crash {
        case .exception(let cause, let epc1, let excvaddr):
            exccause = cause; self.epc1 = epc1; self.excvaddr = excvaddr
        case .softWatchdog, .hardwareWatchdog:
            exccause = 4  // the level-1 interrupt the watchdog raises, as the dump's "Exception (4)"
            if case .softWatchdog = crash { epc1 = 0x4020_1000 &+ (seed & 0xffc) }
        default:
            break
        }
    }

    /// `ESP.getResetInfo()` (Esp.cpp:507-516): the registers for the watchdogs and
    /// exceptions (reasons 1-3), the reason's name otherwise.
    public var description: String {
        guard (1...3).contains(reason.rawValue) else { return reason.description }
        func h(_ v: UInt32) -> String { "0x" + Format.hex(v, digits: 8) }
        return "Fatal exception:\(exccause) flag:\(reason.rawValue) (\(reason.description)) epc1:\(h(epc1)) epc2:\(h(epc2)) "
            + "epc3:\(h(epc3)) excvaddr:\(h(excvaddr)) depc:\(h(depc))"
    }
}

/// What ended a run of the sketch, in the terms of the core's postmortem
/// (core_esp8266_postmortem.cpp).
public enum Crash: Sendable, Equatable {
    /// A CPU exception with its EXCCAUSE (28 LoadProhibited, 6 IntegerDivideByZero, …).
    case exception(cause: Int, epc1: UInt32, excvaddr: UInt32)
    /// `panic()`-style: file, line, function.
    case panic(file: String, line: Int, function: String)
    case abort
    case softWatchdog
    case hardwareWatchdog
    /// `new` failed: the core's "Unhandled C++ exception: OOM" path.
    case outOfMemory(size: Int)

    public var resetReason: ResetReason {
        switch self {
        case .softWatchdog: return .softWatchdog
        case .hardwareWatchdog: return .hardwareWatchdog
        default: return .exception
        }
    }
}

/// Formats the crash output a real board prints on Serial.
public enum Postmortem {
    static let cut = String(repeating: "-", count: 15) + " CUT HERE FOR EXCEPTION DECODER " + String(repeating: "-", count: 15)

    /// The dump for `crash`; `seed` varies the (illustrative) stack words.
    /// `location` (the sketch's `file:line function` of a Lua error) follows the
    /// exception's registers, as the exception decoder would name the line.
    public static func dump(_ crash: Crash, seed: UInt32 = 0, location: String? = nil) -> String {
        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        func hex(_ v: UInt32) -> String { Format.hex(v, digits: 8) }
        if case .outOfMemory = crash { line("User exception (panic/abort/assert)") }
        if case .hardwareWatchdog = crash {
            // The ROM reboots the chip without a dump (no DEBUG_ESP_HWDT); only the boot line shows it.
            return ""
        }
        line()
        line("To make this dump useful, DECODE IT - https://tinyurl.com/8266dcdr")
        line()
        line(cut)
        line()
        var offset = 0x150
        switch crash {
        case .exception(let cause, let epc1, let excvaddr):
            line("Exception (\(cause)):")
            line("epc1=0x\(hex(epc1)) epc2=0x00000000 epc3=0x00000000 excvaddr=0x\(hex(excvaddr)) depc=0x00000000")
        case .panic(let file, let lineNo, let function):
            line("Panic \(file):\(lineNo) \(function)")
        case .abort:
            line("Abort called")
        case .softWatchdog:
            line("Soft WDT reset")
            line()
            line("Exception (4):")
            line("epc1=0x\(hex(0x4020_1000 &+ (seed & 0xffc))) epc2=0x00000000 epc3=0x00000000 excvaddr=0x00000000 depc=0x00000000")
            offset = 0x160
        case .outOfMemory:
            line("Unhandled C++ exception: OOM")
        case .hardwareWatchdog:
            break
        }
        if let location { line("Lua: \(location)") }
        line()
        line(">>>stack>>>")
        line()
        line("ctx: cont")
        let end: UInt32 = 0x3fff_ffd0
        let sp: UInt32 = 0x3fff_fd90
        line("sp: \(hex(sp)) end: \(hex(end)) offset: \(Format.hex(offset, digits: 4))")
        var pos = sp + UInt32(offset)
        var x = seed | 1
        while pos < end {
            var words: [UInt32] = []
            for _ in 0..<4 {
                x ^= x << 13; x ^= x >> 17; x ^= x << 5
                words.append((x & 1) == 0 ? 0x4020_0000 | (x & 0xfffc) : 0x3fff_0000 | (x & 0xfff0))
            }
            line("\(hex(pos)):  " + words.map(hex).joined(separator: " ") + "  ")
            pos += 0x10
        }
        line("<<<stack<<<")
        if case .outOfMemory(let size) = crash {
            line()
            line("last failed alloc call: \(Format.hex(0x4020_2000 &+ (seed & 0xffc), digits: 8, uppercase: true))(\(size))")
        }
        line()
        line(cut)
        if case .outOfMemory = crash {
            line()
            line("last failed alloc caller: 0x\(hex(0x4020_2000 &+ (seed & 0xffc)))")
        }
        return out
    }

    /// The ROM's boot lines after a reset (printed at 74880 baud on a real board).
    public static func romBanner(_ reason: ResetReason) -> String {
        let wdt = reason == .hardwareWatchdog ? "\nwdt reset" : ""
        return """

             ets Jan  8 2013,rst cause:\(reason.romCause), boot mode:(3,6)\(wdt)

            load 0x4010f000, len 3424, room 16 
            tail 0
            chksum 0x2e
            load 0x3fff20b8, len 40, room 8 
            tail 0
            chksum 0x2b
            csum 0x2b
            v0004fc60
            ~ld

            """
    }
}

extension Crash {
    /// The crash a real board would show for an uncaught error of the sketch
    /// (`message`: the Lua error with its traceback): a nil access is the CPU's
    /// LoadProhibited (28), an integer division by zero IntegerDivideByZero (6),
    /// an allocation the VM could not make the core's OOM abort; anything else a
    /// `panic()` naming the sketch's file, line and function.
    public init(sketchError message: String, sketchPath: String, outOfMemory: Bool, failedSize: Int) {
        if outOfMemory { self = .outOfMemory(size: failedSize); return }
        let first = message.split(separator: "\n").first.map(String.init) ?? message
        if first.contains("attempt to index a nil value") || first.contains("attempt to call a nil value") {
            self = .exception(cause: 28, epc1: 0x4020_1a2c, excvaddr: 0)  // LoadProhibited
            return
        }
        if first.contains("attempt to perform 'n//0'") || first.contains("attempt to perform 'n%%0'") {
            self = .exception(cause: 6, epc1: 0x4000_dce5, excvaddr: 0)  // IntegerDivideByZero
            return
        }
        let (file, line, function) = Crash.sketchLocation(of: message, sketchPath: sketchPath)
        self = .panic(file: file, line: line, function: function)
    }

    /// Where an uncaught error of the sketch happened, from its message (`file:line:
    /// …` on the first line) and traceback (the innermost Lua function): file, line
    /// (0 if the message has none) and function ("?" if the traceback names none).
    public static func sketchLocation(of message: String, sketchPath: String) -> (file: String, line: Int, function: String) {
        let first = message.split(separator: "\n").first.map(String.init) ?? message
        var file = sketchPath, line = 0
        let parts = first.split(separator: ":", maxSplits: 2)
        if parts.count >= 2, let l = Int(parts[1]) { file = String(parts[0]); line = l }
        var function = "?"
        if let r = message.firstRange(of: "in function '") ?? message.firstRange(of: "in local '") {
            function = String(message[r.upperBound...].prefix { $0 != "'" })
        } else if message.contains("in main chunk") {
            function = "main chunk"
        }
        return (file, line, function)
    }

    /// The crash's name as the dump's first line gives it.
    public var summary: String {
        switch self {
        case .exception(let cause, _, _): return "Exception (\(cause))"
        case .panic(let file, let line, let function): return "Panic \(file):\(line) \(function)"
        case .abort: return "Abort called"
        case .softWatchdog: return "Soft WDT reset"
        case .hardwareWatchdog: return "Hardware WDT reset"
        case .outOfMemory(let size): return "Unhandled C++ exception: OOM (\(size) B)"
        }
    }
}
