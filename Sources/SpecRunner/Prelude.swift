/// The spec's vocabulary, written in Lua (busted's `describe`/`it`/`before_each`/
/// `after_each`/`pending`, luassert's `assert.*`) and the `board{}` API, on top of
/// the Swift primitives in the `esplua` table (`SpecSession.installPrimitives`).
///
/// Conventions: a failing check raises `error(message, level)` so the message
/// starts with the spec's `file:line:`; Swift primitives return `nil, message` on
/// failure and the Lua wrapper raises it at the caller's line. A wait (`b:run`,
/// `b:waitSerial`, `c:receive` …) records its condition in Swift, then yields the
/// test's coroutine; the board's loop resumes it when the condition holds or times out.
enum Prelude {
    static let source = #"""
        local E = esplua
        local unpack = table.unpack

        -- formatting values in messages -------------------------------------------------
        local function show(v, depth)
          depth = depth or 0
          local t = type(v)
          if t == "string" then return string.format("%q", v):gsub("\\\n", "\\n") end
          if t ~= "table" or depth > 2 then return tostring(v) end
          local keys = {}
          for k in pairs(v) do keys[#keys + 1] = k end
          table.sort(keys, function(a, b)
            if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
            return type(a) < type(b)
          end)
          local parts = {}
          for _, k in ipairs(keys) do
            local key = (type(k) == "number" and k == #parts + 1) and "" or (type(k) == "string" and k:match("^[%a_][%w_]*$") and k .. " = " or "[" .. show(k) .. "] = ")
            parts[#parts + 1] = key .. show(v[k], depth + 1)
          end
          return "{" .. table.concat(parts, ", ") .. "}"
        end
        E.show = show

        local function deepEqual(a, b)
          if a == b then return true end
          if type(a) ~= "table" or type(b) ~= "table" then return false end
          for k, v in pairs(a) do if not deepEqual(v, b[k]) then return false end end
          for k in pairs(b) do if a[k] == nil then return false end end
          return true
        end

        -- the spec's frame: the first one up the stack that is not this prelude (nor C)
        local preludeSource = debug.getinfo(1, "S").source
        local function specLevel()
          local level = 3
          while true do
            local info = debug.getinfo(level, "S")
            if not info then return 2 end
            if info.source ~= preludeSource and info.what ~= "C" then return level - 1 end
            level = level + 1
          end
        end
        local function here()
          local info = debug.getinfo(specLevel(), "Sl")
          if not info then return "?" end
          return info.short_src .. ":" .. (info.currentline or 0)
        end
        -- raises `message` at the spec's line
        local function raise(message)
          error(message, specLevel())
        end
        E.here = here

        -- describe / it ----------------------------------------------------------------
        local tests = {}
        E.tests = tests
        local current = { name = nil, parent = nil, before = {}, after = {} }

        local function fullName(block, name)
          local parts = { name }
          while block and block.name do table.insert(parts, 1, block.name); block = block.parent end
          return table.concat(parts, " ")
        end

        function describe(name, fn)
          local block = { name = name, parent = current, before = {}, after = {} }
          local saved = current
          current = block
          fn()
          current = saved
        end
        context = describe

        function before_each(fn) table.insert(current.before, fn) end
        function after_each(fn) table.insert(current.after, fn) end

        function it(name, fn)
          tests[#tests + 1] = { name = fullName(current, name), fn = fn, block = current, pending = fn == nil, where = here() }
        end
        test = it

        function pending(name)
          tests[#tests + 1] = { name = fullName(current, name), block = current, pending = true, where = here() }
        end

        -- runs test i inside the test's coroutine; reports through esplua.report
        function E.run(i)
          local t = tests[i]
          local chain = {}
          local b = t.block
          while b do table.insert(chain, 1, b); b = b.parent end
          local function handler(e)
            if type(e) ~= "string" then e = show(e) end
            return e
          end
          local ok, err = xpcall(function()
            for _, block in ipairs(chain) do for _, f in ipairs(block.before) do f() end end
            t.fn()
          end, handler)
          for j = #chain, 1, -1 do
            for _, f in ipairs(chain[j].after) do
              local ok2, err2 = xpcall(f, handler)
              if ok and not ok2 then ok, err = false, err2 end
            end
          end
          E.report(ok, err)
        end

        -- assertions (luassert's names) -------------------------------------------------
        local checks = {}
        local function fail(message, extra)
          if extra then message = extra .. ": " .. message end
          raise(message)
        end

        checks.equal = function(positive, expected, actual, msg)
          if (expected == actual) ~= positive then
            fail(positive and ("expected " .. show(expected) .. ", got " .. show(actual)) or ("expected anything but " .. show(expected)), msg)
          end
        end
        checks.equals = checks.equal
        checks.same = function(positive, expected, actual, msg)
          if deepEqual(expected, actual) ~= positive then
            fail(positive and ("expected " .. show(expected) .. ", got " .. show(actual)) or ("expected anything but " .. show(expected)), msg)
          end
        end
        checks.truthy = function(positive, v, msg)
          if (not not v) ~= positive then fail("expected a " .. (positive and "truthy" or "falsy") .. " value, got " .. show(v), msg) end
        end
        checks.falsy = function(positive, v, msg)
          if (not v) ~= positive then fail("expected a " .. (positive and "falsy" or "truthy") .. " value, got " .. show(v), msg) end
        end
        checks["true"] = function(positive, v, msg)
          if (v == true) ~= positive then fail((positive and "expected true, got " or "expected anything but true, got ") .. show(v), msg) end
        end
        checks["false"] = function(positive, v, msg)
          if (v == false) ~= positive then fail((positive and "expected false, got " or "expected anything but false, got ") .. show(v), msg) end
        end
        checks["nil"] = function(positive, v, msg)
          if (v == nil) ~= positive then fail((positive and "expected nil, got " or "expected a value, got ") .. show(v), msg) end
        end
        checks.near = function(positive, expected, tolerance, actual, msg)
          local inside = type(actual) == "number" and math.abs(actual - expected) <= tolerance
          if inside ~= positive then fail("expected " .. show(expected) .. " ± " .. show(tolerance) .. ", got " .. show(actual), msg) end
        end
        checks.matches = function(positive, pattern, actual, msg)
          local found = type(actual) == "string" and actual:find(pattern) ~= nil
          if found ~= positive then fail((positive and "expected a match for " or "expected no match for ") .. show(pattern) .. ", got " .. show(actual), msg) end
        end
        checks.match = checks.matches
        checks.at_least = function(positive, least, actual, msg)
          local ok = type(actual) == "number" and actual >= least
          if ok ~= positive then fail((positive and "expected at least " or "expected less than ") .. show(least) .. ", got " .. show(actual), msg) end
        end
        checks.at_most = function(positive, most, actual, msg)
          local ok = type(actual) == "number" and actual <= most
          if ok ~= positive then fail((positive and "expected at most " or "expected more than ") .. show(most) .. ", got " .. show(actual), msg) end
        end
        checks.error = function(positive, fn, expected, msg)
          local ok, err = pcall(fn)
          if positive then
            if ok then fail("expected an error, got none", msg) end
            if expected ~= nil then
              local text = type(err) == "string" and err:gsub("^[^:]*:%d+: ", "") or err
              if text ~= expected and err ~= expected then fail("expected the error " .. show(expected) .. ", got " .. show(err), msg) end
            end
          elseif not ok then
            fail("expected no error, got " .. show(err), msg)
          end
        end
        checks.errors = checks.error
        checks.has_error = checks.error

        local function family(positive)
          return setmetatable({}, { __index = function(_, name)
            local check = checks[name]
            if not check then return nil end
            return function(...) return check(positive, ...) end
          end })
        end

        local yes, no = family(true), family(false)
        assert = setmetatable({}, {
          __call = function(_, v, msg, ...)
            if not v then raise(msg or "assertion failed!") end
            return v, msg, ...
          end,
          __index = function(_, name)
            if name == "is" or name == "are" or name == "has" or name == "does" then return yes end
            if name == "is_not" or name == "are_not" or name == "has_no" or name == "does_not" or name == "no" or name == "not_" then return no end
            local positive, base = true, name
            for _, prefix in ipairs({ "is_not_", "are_not_", "has_no_", "not_", "is_", "are_", "has_" }) do
              if name:sub(1, #prefix) == prefix then
                base = name:sub(#prefix + 1)
                positive = not (prefix:find("not") or prefix:find("no_"))
                break
              end
            end
            local check = checks[base]
            if not check then return nil end
            return function(...) return check(positive, ...) end
          end,
        })
        if not checks.no_error then checks.no_error = function(positive, fn, msg) checks.error(not positive, fn, nil, msg) end end

        -- the board --------------------------------------------------------------------
        local Board = {}
        Board.__index = Board
        local Client = {}
        Client.__index = Client
        local UDP = {}
        UDP.__index = UDP
        local Part = {}
        Part.__index = Part

        local function check(ok, message)
          if ok == nil then raise(message) end
          return ok
        end

        -- yields the test to the board; raises a failed wait at the spec's line
        local function await()
          coroutine.yield()
          local ok, a, b = E.waitResult()
          if not ok then raise(a) end
          return a, b
        end

        -- a Lua table as JSON (a world or wiring written inline in the spec)
        local function json(v)
          local t = type(v)
          if t == "string" then
            return '"' .. v:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
          elseif t == "number" or t == "boolean" then
            return tostring(v)
          elseif t == "table" then
            local parts = {}
            if #v > 0 or next(v) == nil then
              for _, x in ipairs(v) do parts[#parts + 1] = json(x) end
              return "[" .. table.concat(parts, ",") .. "]"
            end
            local keys = {}
            for k in pairs(v) do keys[#keys + 1] = tostring(k) end
            table.sort(keys)
            for _, k in ipairs(keys) do parts[#parts + 1] = json(k) .. ":" .. json(v[k]) end
            return "{" .. table.concat(parts, ",") .. "}"
          end
          raise("cannot write a " .. t .. " into a world or wiring")
        end

        local function inlineFile(value)
          if type(value) ~= "table" then return value end
          local path = os.tmpname()
          local f = assert(io.open(path, "w"))
          f:write(json(value))
          f:close()
          return path
        end

        function board(options)
          options = options or {}
          if type(options) == "string" then options = { sketch = options } end
          local world, wiring = options.world, options.wiring
          options.world = inlineFile(world)
          options.wiring = inlineFile(wiring)
          local id, message = E.newBoard(options, here())
          -- the board has read them
          if options.world ~= world then os.remove(options.world) end
          if options.wiring ~= wiring then os.remove(options.wiring) end
          check(id, message)
          return setmetatable({ id = id }, Board)
        end

        function Board:run(duration)
          check(E.waitFor(self.id, duration, here()))
          return await()
        end
        function Board:waitSerial(text, timeout)
          check(E.waitSerial(self.id, text, timeout or "10s", here()))
          return await()
        end
        function Board:serial() return check(E.query(self.id, "serial")) end
        function Board:sendSerial(text) return check(E.query(self.id, "sendSerial", text)) end
        function Board:freeHeap() return check(E.query(self.id, "freeHeap")) end
        function Board:maxFreeBlock() return check(E.query(self.id, "maxFreeBlock")) end
        function Board:millis() return check(E.query(self.id, "millis")) end
        function Board:pin(n) return check(E.query(self.id, "pin", n)) end
        function Board:resets() return check(E.query(self.id, "resets")) end

        local function matches(row, filter)
          for k, v in pairs(filter or {}) do
            if row[k] ~= v then return false end
          end
          return true
        end
        function Board:pcbs(filter)
          local out = {}
          for _, row in ipairs(check(E.query(self.id, "pcbs"))) do
            if matches(row, filter) then out[#out + 1] = row end
          end
          return out
        end
        function Board:frames(filter)
          local out = {}
          for _, row in ipairs(check(E.query(self.id, "frames"))) do
            if matches(row, filter) then out[#out + 1] = row end
          end
          return out
        end
        function Board:part(name) return setmetatable({ board = self, name = name }, Part) end
        function Part:set(control, value) return check(E.query(self.board.id, "setControl", self.name, control, value)) end

        function Board:connect(port)
          local id = check(E.connect(self.id, port))
          return setmetatable({ board = self, id = id, port = port }, Client)
        end
        function Client:send(data) return check(E.clientDo(self.board.id, self.id, "send", data)) end
        function Client:close() return check(E.clientDo(self.board.id, self.id, "close")) end
        function Client:reset() return check(E.clientDo(self.board.id, self.id, "reset")) end
        function Client:receive(what, timeout)
          check(E.receive(self.board.id, self.id, what, timeout or "5s", here()))
          return await()
        end
        function Client:closed(timeout)
          if timeout == nil then return check(E.clientDo(self.board.id, self.id, "closed")) end
          check(E.waitClosed(self.board.id, self.id, timeout, here()))
          return await()
        end

        function Board:udp(port)
          local id = check(E.udp(self.id, port))
          return setmetatable({ board = self, id = id, port = port }, UDP)
        end
        function UDP:send(data) return check(E.clientDo(self.board.id, self.id, "send", data)) end
        function UDP:receive(timeout)
          check(E.receive(self.board.id, self.id, nil, timeout or "1s", here()))
          return await()
        end

        function Board:tcp(script, options)
          options = options or {}
          check(E.tcpScript(self.id, script, here(), options.port, options.tolerance))
          return await()
        end
        """#
}
