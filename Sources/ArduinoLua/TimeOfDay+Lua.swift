import BoardCore
import BoardNet
import LuaRuntime

// configTime(tz_sec, dst_sec, server1 [, server2 [, server3]])   configTime(TZ, server1 [, server2 [, server3]])
// setTZ(TZ)   TZ("Europe/London") -> "GMT0BST,M3.5.0/1,M10.5.0"  (the core's TZ.h: TZ_Europe_London)   getenv("TZ") -> string or nil
// time() -> seconds since 1970   gettimeofday() -> sec, usec   settimeofday(sec [, usec]) -> 0
// settimeofday_cb(fn(fromSNTP))   clock_gettime() -> sec, nsec (since boot)
// localtime([t]) gmtime([t]) -> { tm_sec, tm_min, tm_hour, tm_mday, tm_mon, tm_year, tm_wday, tm_yday, tm_isdst }
// getLocalTime([ms]) -> tm or nil   ctime([t]) -> "Mon Nov 13 17:07:05 2017\n"   strftime(fmt [, t]) -> string
// sntp_getservername(i) -> name or nil   sntp_getserver(i) -> "a.b.c.d"   sntp_getreachability(i) -> bits   sntp_enabled()
enum TimeOfDayBindings {
    static func register(in state: LuaState, ctx: SketchContext) {
        let tod = ctx.board.timeOfDay
        let sntp = ctx.network.sntp
        var callback: Int32?
        tod.onSet { fromSNTP in
            // the core schedules the callback for the next yield (time.cpp:301-302)
            guard let ref = callback else { return }
            ctx.queueCallback(ref) { call in
                call.push(fromSNTP); return 1
            }
        }
        /// The time argument `i`, or now.
        func when(_ call: LuaCall, _ i: Int32) throws(LuaError) -> Int64 {
            call.isNoneOrNil(i) ? tod.seconds : Int64(try call.integer(i))
        }
        func push(_ tm: BrokenDownTime, _ call: LuaCall) {
            call.newTable(arrayCapacity: 0)
            call.setField("tm_sec", tm.sec); call.setField("tm_min", tm.min); call.setField("tm_hour", tm.hour)
            call.setField("tm_mday", tm.mday); call.setField("tm_mon", tm.mon); call.setField("tm_year", tm.year)
            call.setField("tm_wday", tm.wday); call.setField("tm_yday", tm.yday); call.setField("tm_isdst", tm.isdst)
        }
        state.setGlobal("configTime") { call throws(LuaError) in
            // the core's two forms (time.cpp:152, 232): a number is the offset form
            if call.type(1) == 3 {  // LUA_TNUMBER
                let tz = try call.integer(1), dst = try call.optionalInteger(2, default: 0)
                tod.setFixedOffset(tz + dst)
                sntp.start(servers: [try call.optionalString(3), try call.optionalString(4), try call.optionalString(5)])
            } else {
                let tz = try call.string(1)
                let servers = [try call.optionalString(2), try call.optionalString(3), try call.optionalString(4)]
                // sntp_stop, servers, setTZ, sntp_init (l.234-241)
                tod.setTZ(tz)
                sntp.start(servers: servers)
            }
            return 0
        }
        state.setGlobal("setTZ") { call throws(LuaError) in
            tod.setTZ(try call.string(1)); return 0
        }
        state.setGlobal("getenv") { call throws(LuaError) in
            if try call.string(1) == "TZ", let tz = tod.tzString { call.push(tz) } else { call.pushNil() }
            return 1
        }
        state.setGlobal("time") { call in
            call.push(Int(tod.seconds)); return 1
        }
        state.setGlobal("gettimeofday") { call in
            let us = tod.epochMicros
            call.push(Int(us / 1_000_000)); call.push(Int(us % 1_000_000)); return 2
        }
        state.setGlobal("settimeofday") { call throws(LuaError) in
            tod.set(seconds: Int64(try call.integer(1)), micros: Int64(try call.optionalInteger(2, default: 0)), fromSNTP: false)
            call.push(0); return 1
        }
        state.setGlobal("settimeofday_cb") { call throws(LuaError) in
            if let old = callback { call.state.unref(old) }
            callback = try call.functionRef(1)
            return 0
        }
        state.setGlobal("clock_gettime") { call in
            // micros64() since boot (time.cpp:91-98)
            let us = ctx.board.uptimeMicros
            call.push(Int(us / 1_000_000)); call.push(Int(us % 1_000_000) * 1000); return 2
        }
        state.setGlobal("localtime") { call throws(LuaError) in
            push(tod.zone.localTime(try when(call, 1)), call); return 1
        }
        state.setGlobal("gmtime") { call throws(LuaError) in
            push(BrokenDownTime(epoch: try when(call, 1)), call); return 1
        }
        state.setGlobal("ctime") { call throws(LuaError) in
            call.push(tod.zone.localTime(try when(call, 1)).asctime); return 1
        }
        state.setGlobal("strftime") { call throws(LuaError) in
            let f = try call.string(1)
            call.push(tod.zone.localTime(try when(call, 2)).format(f)); return 1
        }
        state.setGlobal("getLocalTime", kind: .poll) { call throws(LuaError) in
            // time.cpp:27-40: until the year is past 2016, polling every 10 ms, for up to ms (5000)
            let ms = try call.optionalInteger(1, default: 5000)
            let valid = { tod.zone.localTime(tod.seconds).year > 2016 - 1900 }
            ctx.wait(timeoutMicros: UInt64(max(0, ms)) * 1000) { valid() }
            if ctx.isStopping { return ctx.unwindIfStopping(call) }
            if valid() { push(tod.zone.localTime(tod.seconds), call) } else { call.push(false) }
            return 1
        }
        state.setGlobal("sntp_getservername") { call throws(LuaError) in
            if let n = sntp.serverName(try call.integer(1)) { call.push(n) } else { call.pushNil() }
            return 1
        }
        state.setGlobal("sntp_getserver") { call throws(LuaError) in
            call.push(sntp.serverAddress(try call.integer(1))); return 1
        }
        state.setGlobal("sntp_getreachability") { call throws(LuaError) in
            call.push(sntp.reachability(try call.integer(1))); return 1
        }
        state.setGlobal("sntp_enabled") { call in
            call.push(sntp.enabled); return 1
        }
        state.setGlobal("SNTP_MAX_SERVERS", integer: 3)
        state.setGlobal("TZ") { call throws(LuaError) in
            let name = try call.string(1)
            guard let tz = TZTable.lookup(name) else {
                throw .argument(1, "a zone of the core's TZ.h expected, like \"Europe/London\", got '\(name)'")
            }
            call.push(tz); return 1
        }
    }
}
