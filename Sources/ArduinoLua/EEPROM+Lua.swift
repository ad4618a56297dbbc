import BoardCore
import LuaRuntime

// EEPROM.begin(size)            EEPROM.length() -> size
// EEPROM.read(addr) -> byte     EEPROM.write(addr, byte)
// EEPROM.commit() -> bool       EEPROM.end_() -> bool (also EEPROM["end"]())
// EEPROM.put(addr, value [, fmt]) -> value   EEPROM.get(addr [, fmt]) -> value
//   (get/put in the prelude: string.pack formats; integers "<i4", floats "<f", strings "z")
// The sector of flash the core uses (EEPROM_start), so it survives reboots and --flash.
enum EEPROMBindings {
    static let name = "EEPROM"

    static func register(in state: LuaState, ctx: SketchContext) {
        let eeprom = EEPROM(board: ctx.board)
        let end: LuaFunction = { call throws(LuaError) in
            call.push(eeprom.end()); return 1
        }
        state.setLibrary(
            name,
            [
                (
                    "begin",
                    { call throws(LuaError) in
                        let size = try call.integer(1)
                        do throws(EEPROM.BeginError) { try eeprom.begin(size: size) } catch {
                            // new uint8_t[size] failing aborts on the board
                            if case .outOfMemory(let n) = error { ctx.outOfMemory(size: n) }
                            return ctx.unwindIfStopping(call)
                        }
                        return 0
                    }
                ),
                (
                    "read",
                    { call throws(LuaError) in
                        call.push(Int(eeprom.read(try call.integer(1)))); return 1
                    }
                ),
                (
                    "write",
                    { call throws(LuaError) in
                        // uint8_t value: the low byte, as the C++ conversion
                        eeprom.write(try call.integer(1), UInt8(truncatingIfNeeded: try call.integer(2))); return 0
                    }
                ),
                (
                    "commit",
                    { call throws(LuaError) in
                        call.push(eeprom.commit()); return 1
                    }
                ),
                ("end", end), ("end_", end),
                (
                    "length",
                    { call throws(LuaError) in
                        call.push(eeprom.length); return 1
                    }
                ),
            ], polls: ["read", "length"])
    }

    /// `EEPROM.get`/`EEPROM.put` (EEPROM.h's templates copy the bytes of a value):
    /// Lua has no types to copy, so a string.pack format says how the value is laid out.
    static let prelude = """
        local function fmtFor(v)
          if math.type(v) == "integer" then return "<i4" elseif type(v) == "number" then return "<f" end
          return "z"
        end
        function EEPROM.put(addr, v, fmt)
          local bytes = string.pack(fmt or fmtFor(v), v)
          for i = 1, #bytes do EEPROM.write(addr + i - 1, bytes:byte(i)) end
          return v
        end
        function EEPROM.get(addr, fmt)
          fmt = fmt or "<i4"
          local n = EEPROM.length() - addr
          if n <= 0 then return nil end
          local t = {}
          for i = 1, n do t[i] = string.char(EEPROM.read(addr + i - 1)) end
          local bytes = table.concat(t)
          if fmt == "z" and not bytes:find("\\0", 1, true) then return bytes end
          local ok, v = pcall(string.unpack, fmt, bytes)
          if ok then return v end
          return nil
        end
        """
}
