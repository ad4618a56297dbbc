import BoardNet
import LuaRuntime

// lwip.pcbs() -> { {state="TIME_WAIT", localIP=…, localPort=…, remoteIP=…, remotePort=…,
//                   unacked=…, unsent=…, unread=…, timeWaitMs=…, heap=…}, … }
// lwip.allocations() -> count, bytes   what lwIP holds on the heap now (ESP8266 sizes)
// tcp_kill_timewait()  frees the oldest TIME_WAIT pcb (no RST)   -> true if one was freed
// tcpCleanup()         frees every TIME_WAIT pcb (the core FAQ's helper) -> count
public enum LwIPBindings {
    /// The connection table as Lua sees it (`lwip.pcbs()`, a spec's `b:pcbs()`): an
    /// array of rows with the fields named in the README.
    public static func pushPCBTable(_ rows: [Network.PCBRow], _ call: LuaCall) {
        call.newTable(arrayCapacity: rows.count)
        for (i, r) in rows.enumerated() {
            call.newTable(arrayCapacity: 0)
            call.setField("state", r.state.description)
            call.setField("localIP", r.localAddress)
            call.setField("localPort", Int(r.localPort))
            call.setField("remoteIP", r.remoteAddress)
            call.setField("remotePort", Int(r.remotePort))
            call.setField("unacked", r.unacked)
            call.setField("unsent", r.unsent)
            call.setField("unread", r.unread)
            call.setField("timeWaitMs", r.timeWaitMillisLeft)
            call.setField("heap", r.heap)  // bytes of the emulated heap it holds (Network.PCBRow.heap)
            call.setIndex(i + 1)
        }
    }

    static func register(in state: LuaState, ctx: SketchContext) {
        let network = ctx.network
        state.setLibrary(
            "lwip",
            [
                (
                    "allocations",
                    { call in
                        let a = Network.lwipAllocations
                        call.push(a.count); call.push(a.bytes); return 2
                    }
                ),
                (
                    "pcbs",
                    { call in
                        pushPCBTable(network.pcbTable(), call)
                        return 1
                    }
                ),
            ])
        state.setGlobal("tcp_kill_timewait") { call in
            call.push(network.killTimeWait()); return 1
        }
        state.setGlobal("tcpCleanup") { call in
            call.push(network.tcpCleanup()); return 1
        }
    }
}
