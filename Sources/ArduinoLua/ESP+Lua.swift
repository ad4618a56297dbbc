import BoardCore
import LuaRuntime

// ESP.getFreeHeap() ESP.getMaxFreeBlockSize() ESP.getHeapFragmentation()
// ESP.getChipId() ESP.getResetReason() ESP.restart()
// ESP.wdtEnable([ms]) ESP.wdtDisable() ESP.wdtFeed()
// ESP.getCpuFreqMHz() ESP.getCoreVersion() ESP.getSdkVersion()
// ESP.getLuaMemory() -> bytes held by the sketch's Lua VM (esplua only)
enum ESPBindings {
    static func register(in state: LuaState, ctx: SketchContext) {
        let board = ctx.board
        state.setLibrary(
            "ESP",
            [
                (
                    "getFreeHeap",
                    { call in
                        ctx.collectDroppedHandles(always: true) { call.collectGarbage() }
                        call.push(board.heap.freeBytes); return 1
                    }
                ),
                (
                    "getMaxFreeBlockSize",
                    { call in
                        ctx.collectDroppedHandles(always: true) { call.collectGarbage() }
                        call.push(board.heap.maxFreeBlockSize); return 1
                    }
                ),
                (
                    "getHeapFragmentation",
                    { call in
                        ctx.collectDroppedHandles(always: true) { call.collectGarbage() }
                        call.push(board.heap.fragmentation); return 1
                    }
                ),
                (
                    "getChipId",
                    { call in
                        call.push(Int(board.config.chipId)); return 1
                    }
                ),
                (
                    "getResetReason",
                    { call in
                        call.push(board.resetReason.description); return 1
                    }
                ),
                (
                    "getCpuFreqMHz",
                    { call in
                        call.push(80); return 1
                    }
                ),
                (
                    "getCoreVersion",
                    { call in
                        call.push("3.1.2"); return 1
                    }
                ),
                (
                    "getSdkVersion",
                    { call in
                        call.push("2.2.2-dev(38a443e)"); return 1
                    }
                ),
                (
                    "getLuaMemory",
                    { call in
                        call.push(call.state.memoryUsed); return 1
                    }
                ),
                (
                    "wdtEnable",
                    { _ in
                        board.watchdog.enableSoft(now: board.clock.micros); return 0
                    }
                ),
                (
                    "wdtDisable",
                    { _ in
                        board.watchdog.disableSoft(); return 0
                    }
                ),
                (
                    "wdtFeed",
                    { _ in
                        board.feedWatchdog(); return 0
                    }
                ),
                (
                    "restart",
                    { call in
                        // system_restart() then esp_suspend(): nothing more of the sketch runs
                        ctx.requestStop(.restart(.softRestart))
                        return call.isYieldable ? LuaCall.yield : 0
                    }
                ),
            ],
            polls: [
                "getFreeHeap", "getMaxFreeBlockSize", "getHeapFragmentation", "getChipId", "getResetReason",
                "getCpuFreqMHz", "getCoreVersion", "getSdkVersion", "getLuaMemory",
            ])
    }
}
