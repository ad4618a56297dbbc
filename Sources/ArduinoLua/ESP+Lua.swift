import BoardCore
import LuaRuntime

// ESP.getFreeHeap() ESP.getMaxFreeBlockSize() ESP.getHeapFragmentation()
// ESP.getChipId() ESP.getResetReason() ESP.restart()
// ESP.wdtEnable([ms]) ESP.wdtDisable() ESP.wdtFeed()
// ESP.getCpuFreqMHz() ESP.getCoreVersion() ESP.getSdkVersion()
// ESP.getLuaMemory() -> bytes held by the sketch's Lua VM (esplua only)
// ESP.deepSleep(us [, mode]) ESP.deepSleepInstant(us [, mode])   ESP.getResetInfo() -> string
// ESP.rtcUserMemoryRead(offset, size) -> string or nil   ESP.rtcUserMemoryWrite(offset, data) -> bool   (offset in 4-byte blocks)
// ESP.getVcc() -> 1/1024 V (65535 unless ADC_MODE(ADC_VCC))   ADC_MODE(ADC_VCC or ADC_TOUT)
// ESP.getFullVersion()   ESP.getFlashChipSize() ESP.getFlashChipRealSize() ESP.getSketchSize() ESP.getFreeSketchSpace()
enum ESPBindings {
    static func register(in state: LuaState, ctx: SketchContext) {
        let board = ctx.board
        for (k, v) in [("ADC_TOUT", 33), ("ADC_VCC", 255), ("WAKE_RF_DEFAULT", 0), ("WAKE_RFCAL", 1), ("WAKE_NO_RFCAL", 2), ("WAKE_RF_DISABLED", 4)] {
            state.setGlobal(k, integer: v)
        }
        // ADC_MODE(mode): the core's macro defines __get_adc_mode(), read by the PHY
        // init at boot (core_esp8266_phy.cpp:327): a sketch states it at its top level
        state.setGlobal("ADC_MODE") { call throws(LuaError) in
            let m = try call.integer(1)
            guard m == 33 || m == 255 else { throw .argument(1, "ADC_VCC or ADC_TOUT expected") }
            ctx.adcMode = m
            return 0
        }
        /// `ESP.deepSleep(time_us, mode)` (Esp.cpp:119-131): the mode (WAKE_RF_*) is checked and kept by the SDK only.
        let deepSleep: LuaFunction = { call throws(LuaError) in
            let us = try call.integer(1)
            guard us >= 0 else { throw .argument(1, "microseconds (0 or more) expected") }
            let mode = try call.optionalInteger(2, default: 0)
            guard [0, 1, 2, 4].contains(mode) else { throw .argument(2, "WAKE_RF_DEFAULT, WAKE_RFCAL, WAKE_NO_RFCAL or WAKE_RF_DISABLED expected") }
            ctx.deepSleep(micros: UInt64(us))
            return call.isYieldable ? LuaCall.yield : 0
        }
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
                ("deepSleep", deepSleep),
                ("deepSleepInstant", deepSleep),
                (
                    "getResetInfo",
                    { call in
                        call.push(board.resetInfo.description); return 1
                    }
                ),
                (
                    "rtcUserMemoryRead",
                    { call throws(LuaError) in
                        // Esp.cpp:176-183: false for offset * 4 + size > 512 or size 0
                        if let b = board.rtcMemory.read(offset: try call.integer(1), size: try call.integer(2)) {
                            call.push(bytes: b)
                        } else {
                            call.pushNil()
                        }
                        return 1
                    }
                ),
                (
                    "rtcUserMemoryWrite",
                    { call throws(LuaError) in
                        call.push(board.rtcMemory.write(offset: try call.integer(1), try call.bytes(2))); return 1
                    }
                ),
                (
                    "getVcc",
                    { call in
                        // system_get_vdd33() (Esp.cpp:214-219): in 1/1024 V, and 65535 when the
                        // ADC reads TOUT (the default: doc/libraries.rst, getVcc "is not available")
                        call.push(ctx.adcMode == 255 ? Int(board.config.supplyVolts * 1024) : 65535); return 1
                    }
                ),
                (
                    "getFullVersion",
                    { call in
                        // Esp-version.cpp:39-50 with 3.1.2's strings (lwip-git-hash.h, bearssl_git.h, coreVersionNumeric)
                        call.push("SDK:2.2.2-dev(38a443e)/Core:3.1.2=30102000/lwIP:STABLE-2_1_3_RELEASE/glue:1.2-65-g06164fb/BearSSL:b024386")
                        return 1
                    }
                ),
                (
                    "getFlashChipRealSize",
                    { call in
                        call.push(board.flash.size); return 1
                    }
                ),
                (
                    "getFlashChipSize",
                    { call in
                        call.push(board.flash.size); return 1
                    }
                ),
                (
                    "getSketchSize",
                    { call in
                        call.push(BoardConfig.sketchImageSize); return 1
                    }
                ),
                (
                    "getFreeSketchSpace",
                    { call in
                        // Esp.cpp:635-646: from the sketch (rounded up to a sector) to FS_start (0x200000 on 4M2M)
                        let used = (BoardConfig.sketchImageSize + 4095) & ~4095
                        call.push(0x20_0000 - used); return 1
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
                "getCpuFreqMHz", "getCoreVersion", "getSdkVersion", "getLuaMemory", "getResetInfo", "getVcc", "getFullVersion",
                "getFlashChipRealSize", "getFlashChipSize", "getSketchSize", "getFreeSketchSpace",
            ])
    }
}
