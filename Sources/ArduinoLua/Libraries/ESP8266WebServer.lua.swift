extension LuaLibraries {
    /// The core's ESP8266WebServer (libraries/ESP8266WebServer/src, core 3.1.2+:
    /// ESP8266WebServer-impl.h, Parsing-impl.h, detail/RequestHandlersImpl.h,
    /// detail/mimetable.cpp) in Lua, call for call over the WiFiServer/WiFiClient
    /// bindings, so a request makes the same ClientContext calls (and the same
    /// segments) as the C++ library. Line numbers below are of those files.
    static let webServer = #"""

        -- ESP8266WebServer.h:47-51, 61-68
        HTTP_ANY, HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS = 0, 1, 2, 3, 4, 5, 6, 7
        BASIC_AUTH, DIGEST_AUTH = 0, 1
        CONTENT_LENGTH_UNKNOWN, CONTENT_LENGTH_NOT_SET = -1, -2
        local HC_NONE, HC_WAIT_READ, HC_WAIT_CLOSE = 0, 1, 2
        local HTTP_MAX_DATA_WAIT, HTTP_MAX_DATA_AVAILABLE_WAIT, HTTP_MAX_POST_WAIT = 5000, 30, 5000
        local HTTP_MAX_SEND_WAIT, HTTP_MAX_CLOSE_WAIT = 5000, 2000
        local CAN_CONTINUE, IS_HANDLED, MUST_STOP = 0, 1, 2

        -- Heap charges of the C++ objects (ESP8266 sizes; estimates from their fields):
        -- a String keeps up to 10 characters inline (WString.h:316), longer ones in a
        -- heap buffer of (len + 16) & ~15 bytes (WString.cpp:229).
        local function stringBytes(s) local n = #s; if n < 11 then return 0 end return (n + 16) & ~15 end
        local HANDLER_BYTES = 56        -- FunctionRequestHandler: vtable, next, pathArgs, 3 std::function, Uri*, method
        local URI_BYTES = 16            -- Uri: vtable + String
        local ARG_BYTES = 24            -- RequestArgument: two Strings
        local function argsBytes(n) return 4 + ARG_BYTES * n end   -- new[] keeps its count



        local function elapsed(since) return (millis() - since) & 0xFFFFFFFF end

        -- detail/mimetable.cpp:63-88, getContentType
        local mimeTable = {
          { ".html", "text/html" }, { ".htm", "text/html" }, { ".txt", "text/plain" }, { ".css", "text/css" },
          { ".js", "application/javascript" }, { ".json", "application/json" }, { ".png", "image/png" },
          { ".gif", "image/gif" }, { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" }, { ".ico", "image/x-icon" },
          { ".svg", "image/svg+xml" }, { ".ttf", "application/x-font-ttf" }, { ".otf", "application/x-font-opentype" },
          { ".woff", "application/font-woff" }, { ".woff2", "application/font-woff2" },
          { ".eot", "application/vnd.ms-fontobject" }, { ".sfnt", "application/font-sfnt" }, { ".xml", "text/xml" },
          { ".pdf", "application/pdf" }, { ".zip", "application/zip" }, { ".appcache", "text/cache-manifest" },
          { ".gz", "application/x-gzip" },
        }
        local function endsWith(s, suffix) return #s >= #suffix and ssub(s, -#suffix) == suffix end
        local function getContentType(path)
          for _, m in ipairs(mimeTable) do if endsWith(path, m[1]) then return m[2] end end
          return "application/octet-stream"
        end

        -- ESP8266WebServer-impl.h:817-949
        local reasons = {
          [100] = "Continue", [101] = "Switching Protocols", [200] = "OK", [201] = "Created", [202] = "Accepted",
          [203] = "Non-Authoritative Information", [204] = "No Content", [205] = "Reset Content",
          [206] = "Partial Content", [300] = "Multiple Choices", [301] = "Moved Permanently", [302] = "Found",
          [303] = "See Other", [304] = "Not Modified", [305] = "Use Proxy", [307] = "Temporary Redirect",
          [400] = "Bad Request", [401] = "Unauthorized", [402] = "Payment Required", [403] = "Forbidden",
          [404] = "Not Found", [405] = "Method Not Allowed", [406] = "Not Acceptable",
          [407] = "Proxy Authentication Required", [408] = "Request Timeout", [409] = "Conflict", [410] = "Gone",
          [411] = "Length Required", [412] = "Precondition Failed", [413] = "Request Entity Too Large",
          [414] = "URI Too Long", [415] = "Unsupported Media Type", [416] = "Range not satisfiable",
          [417] = "Expectation Failed", [500] = "Internal Server Error", [501] = "Not Implemented",
          [502] = "Bad Gateway", [503] = "Service Unavailable", [504] = "Gateway Timeout",
          [505] = "HTTP Version not supported",
        }

        -- Parsing-impl.h:511-540
        local function hexValue(s)
          local v = tonumber(s, 16)
          if v then return v end
          return tonumber(ssub(s, 1, 1), 16) or 0   -- strtol stops at the first non-hex digit
        end
        local function urlDecode(text)
          if not sfind(text, "[%%+]") then return text end
          local out, i, len = {}, 1, #text
          while i <= len do
            local c = ssub(text, i, i); i = i + 1
            if c == "%" and i < len then
              out[#out + 1] = schar(hexValue(ssub(text, i, i + 1))); i = i + 2
            elseif c == "+" then out[#out + 1] = " "
            else out[#out + 1] = c end
          end
          return table.concat(out)
        end

        -- String::indexOf(ch, from), 0-based; -1 when absent
        local function indexOf(s, ch, from)
          local i = sfind(s, ch, from + 1, true)
          return i and i - 1 or -1
        end

        -- Parsing-impl.h:266-322 (_parseArguments / _parseArgumentsPrivate). As in the core,
        -- a query such as "=x&y" never advances: the board spins until its watchdog bites.
        local function parseArguments(data)
          local args, pos, len = {}, 0, #data
          while true do
            while true do
              local b = sbyte(data, pos + 1)
              if b ~= 38 and b ~= 59 then break end     -- '&' ';'
              pos = pos + 1
              if pos >= len then break end
            end
            local equal = indexOf(data, "=", pos)
            local keyEnd = equal
            local nxt, nxt2 = indexOf(data, "&", pos), indexOf(data, ";", pos)
            if nxt == -1 or (nxt2 ~= -1 and nxt2 < nxt) then nxt = nxt2 end
            if keyEnd == -1 or (keyEnd > nxt and nxt ~= -1) then keyEnd = nxt end
            if keyEnd == -1 then keyEnd = len end
            if pos < keyEnd then
              local key, value = urlDecode(ssub(data, pos + 1, keyEnd)), ""
              if equal ~= -1 and (equal < nxt - 1 or nxt == -1) then
                value = urlDecode(ssub(data, equal + 2, nxt == -1 and len or nxt))
              end
              args[#args + 1] = { key = key, value = value }
              pos = nxt + 1
            end
            if nxt == -1 then break end
          end
          return args
        end


        local WebServer = {}
        WebServer.__index = WebServer
        WebServer.__name = "ESP8266WebServer"
        WebServer.__tostring = function() return "ESP8266WebServer" end

        local function checkSelf(s, fname)
          if getmetatable(s) ~= WebServer then
            badArg(1, fname, "ESP8266WebServer expected (use server:" .. fname .. "(...))")
          end
          return s
        end

        -- ESP8266WebServer-impl.h:48-52
        local function new(_, port)
          port = port or 80
          if math.type(port) ~= "integer" then badArg(1, "ESP8266WebServer", "number expected, got " .. type(port)) end
          return setmetatable({
            _server = WiFiServer(port), _currentClient = nil, _currentMethod = HTTP_ANY, _currentUri = "",
            _currentVersion = 0, _currentStatus = HC_NONE, _statusChange = 0, _currentHandler = nil,
            _handlers = {}, _notFoundHandler = nil, _currentArgs = {}, _currentArgsHavePlain = false,
            _argsCharge = nil, _uriCharge = nil, _headerKeys = {}, _headerValues = {}, _headersCharge = nil,
            _contentLength = 0, _responseHeaders = "", _hostHeader = "", _chunked = false,
            _corsEnabled = false, _keepAlive = false,
          }, WebServer)
        end
        ESP8266WebServer = setmetatable({}, { __call = new, __index = WebServer })

        -- :79-88
        function WebServer:begin(port)
          checkSelf(self, "begin")
          self:close()
          if port == nil then self._server:begin() else self._server:begin(port) end
        end

        -- :484-494
        function WebServer:close()
          checkSelf(self, "close")
          self._server:close()
          self._currentStatus = HC_NONE
          if #self._headerKeys == 0 then self:collectHeaders() end
        end
        function WebServer:stop() checkSelf(self, "stop"); self:close() end

        -- :233-247: on(uri, fn), on(uri, method, fn), on(uri, method, fn, uploadFn)
        function WebServer:on(uri, method, fn)
          checkSelf(self, "on")
          uri = checkString(uri, 1, "on")
          if type(method) == "function" then method, fn = HTTP_ANY, method end
          if math.type(method) ~= "integer" then badArg(2, "on", "HTTP_GET, HTTP_POST … expected") end
          if type(fn) ~= "function" then badArg(3, "on", "function expected, got " .. type(fn)) end
          local h = { uri = uri, method = method, fn = fn }
          h.charge = heap.alloc(HANDLER_BYTES + URI_BYTES + stringBytes(uri), "FunctionRequestHandler")
          local hs = self._handlers
          hs[#hs + 1] = h
          return self
        end

        -- :340-354; the handlers: detail/RequestHandlersImpl.h:117-291
        function WebServer:serveStatic(uri, fs, path, cacheHeader)
          checkSelf(self, "serveStatic")
          uri = checkString(uri, 1, "serveStatic")
          if type(fs) ~= "table" or type(fs.open) ~= "function" then badArg(2, "serveStatic", "a file system (LittleFS) expected") end
          path = checkString(path, 3, "serveStatic")
          local isFile = false
          if fs.exists(path) then
            local f = fs.open(path, "r")
            isFile = f and f:isFile() or false
            if f then f:close() end
          end
          local h = { uri = uri, fs = fs, path = path, cache = cacheHeader or "", static = isFile and "file" or "dir" }
          h.charge = heap.alloc(HANDLER_BYTES + 3 * 12 + stringBytes(uri) + stringBytes(path), "StaticRequestHandler")
          self._handlers[#self._handlers + 1] = h
          return self
        end

        function WebServer:onNotFound(fn)
          checkSelf(self, "onNotFound")
          if type(fn) ~= "function" then badArg(1, "onNotFound", "function expected, got " .. type(fn)) end
          self._notFoundHandler = fn
        end

        -- FunctionRequestHandler::canHandle (RequestHandlersImpl.h:44-49, Uri.h:22),
        -- StaticDirectory/FileRequestHandler::canHandle (:134-136, :241-243)
        local function canHandle(h, method, uri)
          if h.static then
            if method ~= HTTP_GET and method ~= HTTP_HEAD then return false end
            if h.static == "file" then return uri == h.uri end
            return ssub(uri, 1, #h.uri) == h.uri
          end
          if h.method ~= HTTP_ANY and h.method ~= method then return false end
          return h.uri == uri
        end

        local function handleStatic(server, h, method, uri)
          local fs, path = h.fs, h.path
          if h.static == "dir" then
            -- RequestHandlersImpl.h:144-174
            path = path .. ssub(uri, #h.uri + 1)
            if endsWith(path, "/") then path = path .. "index.htm" end
            if not fs.exists(path) and not fs.exists(path .. ".gz") and endsWith(path, ".htm") then path = path .. "l" end
          end
          local contentType = getContentType(path)
          if h.static == "dir" and not endsWith(path, ".gz") and not fs.exists(path) and fs.exists(path .. ".gz") then
            path = path .. ".gz"
          end
          local f = fs.open(path, "r")
          if not f then return false end
          if not f:isFile() then f:close(); return false end
          if #h.cache ~= 0 then server:sendHeader("Cache-Control", h.cache) end
          server:streamFile(f, contentType, method)
          f:close()
          return true
        end

        local methods = { HEAD = HTTP_HEAD, POST = HTTP_POST, DELETE = HTTP_DELETE, OPTIONS = HTTP_OPTIONS, PUT = HTTP_PUT, PATCH = HTTP_PATCH }

        local function freeRequest(self)
          if self._argsCharge then heap.free(self._argsCharge); self._argsCharge = nil end
          if self._uriCharge then heap.free(self._uriCharge); self._uriCharge = nil end
        end

        -- Parsing-impl.h:274: one more argument than found, for {"plain": body}
        local function setArguments(self, data)
          local args = parseArguments(data)
          local bytes = argsBytes(#args + 1)
          for _, a in ipairs(args) do bytes = bytes + stringBytes(a.key) + stringBytes(a.value) end
          if self._argsCharge then heap.free(self._argsCharge) end
          self._argsCharge = heap.alloc(bytes, "RequestArgument[]")
          self._currentArgs = args
        end

        -- Parsing-impl.h:237-245
        local function collectHeader(self, name, value)
          local lname = slower(name)
          for i, k in ipairs(self._headerKeys) do
            if slower(k) == lname then self._headerValues[i] = value; return true end
          end
          return false
        end

        -- Stream::sendSize into a String with a timeout (Parsing-impl.h:38-42): up to n bytes
        local function readBytesWithTimeout(client, n, timeout)
          local parts, got, start = {}, 0, millis()
          while got < n do
            local s = client:read(n - got)
            if #s > 0 then
              parts[#parts + 1] = s; got = got + #s; start = millis()
            else
              if not client:connected() or elapsed(start) > timeout then break end
              yield()
            end
          end
          return table.concat(parts), got == n
        end

        -- Parsing-impl.h:45-234
        local function parseRequest(self, client)
          local req = client:readStringUntil("\r")
          client:readStringUntil("\n")
          for i = 1, #self._headerKeys do self._headerValues[i] = "" end
          local addrStart = indexOf(req, " ", 0)
          local addrEnd = indexOf(req, " ", addrStart + 1)
          if addrStart == -1 or addrEnd == -1 then return MUST_STOP end
          local methodStr = ssub(req, 1, addrStart)
          local url = ssub(req, addrStart + 2, addrEnd)
          self._currentVersion = tonumber(string.match(ssub(req, addrEnd + 9), "^%s*(%d+)")) or 0   -- atoi
          local searchStr = ""
          local hasSearch = indexOf(url, "?", 0)
          if hasSearch ~= -1 then
            searchStr = ssub(url, hasSearch + 2)
            url = ssub(url, 1, hasSearch)
          end
          self._currentUri = url
          self._uriCharge = stringBytes(url) > 0 and heap.alloc(stringBytes(url), "String") or nil
          self._chunked = false
          local method = methods[methodStr] or HTTP_GET
          self._currentMethod = method
          self._keepAlive = self._currentVersion > 0   -- :100
          self._currentHandler = nil
          for _, h in ipairs(self._handlers) do
            if canHandle(h, method, url) then self._currentHandler = h; break end
          end
          if method == HTTP_POST or method == HTTP_PUT or method == HTTP_PATCH or method == HTTP_DELETE then
            local isForm, isEncoded, contentLength = false, false, 0
            while true do
              req = client:readStringUntil("\r")
              client:readStringUntil("\n")
              if req == "" then break end
              local div = indexOf(req, ":", 0)
              if div == -1 then break end
              local name = ssub(req, 1, div)
              local value = string.match(ssub(req, div + 2), "^%s*(.-)%s*$")   -- trim()
              collectHeader(self, name, value)
              local lname = slower(name)
              if lname == "content-type" then
                if ssub(value, 1, 10) == "text/plain" then isForm = false
                elseif ssub(value, 1, 33) == "application/x-www-form-urlencoded" then isForm, isEncoded = false, true
                elseif ssub(value, 1, 10) == "multipart/" then isForm = true end
              elseif lname == "content-length" then contentLength = tonumber(string.match(value, "^[+-]?%d+")) or 0
              elseif lname == "host" then self._hostHeader = value
              elseif lname == "connection" then self._keepAlive = slower(value) == "keep-alive" end
            end
            -- multipart/form-data (file uploads, _parseForm) is not emulated: the client is stopped
            if isForm then return MUST_STOP end
            local plainBuf, complete = readBytesWithTimeout(client, contentLength, HTTP_MAX_POST_WAIT)
            if not complete then return MUST_STOP end
            if isEncoded then
              if #searchStr > 0 then searchStr = searchStr .. "&" end
              searchStr = searchStr .. plainBuf
            end
            setArguments(self, searchStr)
            if contentLength > 0 then
              self._plain = plainBuf
              self._currentArgsHavePlain = true   -- never reset, as in the core (Parsing-impl.h:188)
            else
              self._plain = ""
            end
          else
            while true do
              req = client:readStringUntil("\r")
              client:readStringUntil("\n")
              if req == "" then break end
              local div = indexOf(req, ":", 0)
              if div == -1 then break end
              local name, value = ssub(req, 1, div), ssub(req, div + 3)
              collectHeader(self, name, value)
              local lname = slower(name)
              if lname == "host" then self._hostHeader = value
              elseif lname == "connection" then self._keepAlive = slower(value) == "keep-alive" end
            end
            setArguments(self, searchStr)
            self._plain = ""
          end
          client:flush()
          return CAN_CONTINUE
        end

        -- ESP8266WebServer-impl.h:780-807
        local function handleRequest(self)
          local handled = false
          local h = self._currentHandler
          if h then
            if h.static then handled = handleStatic(self, h, self._currentMethod, self._currentUri)
            elseif canHandle(h, self._currentMethod, self._currentUri) then h.fn(); handled = true end
          end
          if not handled and self._notFoundHandler then self._notFoundHandler(); handled = true end
          if not handled then
            self:send(404, "text/html", "Not found: " .. self._currentUri)
            handled = true
          end
          if self._chunked then self:sendContent("") end   -- _finalizeResponse
          self._currentUri = ""
          self._currentArgs = {}
          freeRequest(self)
        end

        -- :356-481
        function WebServer:handleClient()
          if self._currentStatus == HC_NONE then
            local c = self._server:accept()
            if not c then return end
            self._currentClient = c
            self._currentStatus = HC_WAIT_READ
            self._statusChange = millis()
          end
          local client = self._currentClient
          local keepCurrentClient, callYield = false, false
          if client:connected() or client:available() > 0 then
            if client:available() > 0 and self._keepAlive then self._currentStatus = HC_WAIT_READ end
            local status = self._currentStatus
            if status == HC_WAIT_READ then
              if client:available() > 0 then
                local r = parseRequest(self, client)
                if r == CAN_CONTINUE then
                  client:setTimeout(HTTP_MAX_SEND_WAIT)
                  self._contentLength = CONTENT_LENGTH_NOT_SET
                  handleRequest(self)
                else
                  freeRequest(self)
                end
                if r == CAN_CONTINUE or r == IS_HANDLED then
                  if client:connected() or client:available() > 0 then
                    self._currentStatus = HC_WAIT_CLOSE
                    self._statusChange = millis()
                    keepCurrentClient = true
                  end
                elseif r == MUST_STOP then
                  client:stop()
                end
              else
                local since = elapsed(self._statusChange)
                if (self._server:hasClientData() > 0 or self._server:hasMaxPendingClients())
                    and since > HTTP_MAX_DATA_AVAILABLE_WAIT then
                  -- closing: another connection has data to read
                elseif since <= HTTP_MAX_DATA_WAIT then
                  keepCurrentClient = true
                end
                callYield = true
              end
            elseif status == HC_WAIT_CLOSE then
              if not self._server:hasClient() and elapsed(self._statusChange) <= HTTP_MAX_CLOSE_WAIT then
                keepCurrentClient = true
                callYield = true
                if client:available() > 0 then self._currentStatus = HC_WAIT_READ end
              end
            end
          end
          if not keepCurrentClient then
            self._currentClient = nil
            self._currentStatus = HC_NONE
            release(client)   -- _currentClient = ClientType(): the WiFiClient destructor
          end
          if callYield then yield() end
        end

        -- :497-509
        function WebServer:sendHeader(name, value, first)
          checkSelf(self, "sendHeader")
          local line = checkString(name, 1, "sendHeader") .. ": " .. checkString(value, 2, "sendHeader") .. "\r\n"
          if first then self._responseHeaders = line .. self._responseHeaders
          else self._responseHeaders = self._responseHeaders .. line end
        end

        function WebServer:setContentLength(n)
          checkSelf(self, "setContentLength")
          if math.type(n) ~= "integer" then badArg(1, "setContentLength", "number expected, got " .. type(n)) end
          self._contentLength = n
        end

        -- :517-555
        local function prepareHeader(self, code, contentType, contentLength)
          local response = "HTTP/1." .. self._currentVersion .. " " .. code .. " " .. (reasons[code] or "") .. "\r\n"
          self:sendHeader("Content-Type", contentType or "text/html", true)
          if self._contentLength == CONTENT_LENGTH_NOT_SET then
            self:sendHeader("Content-Length", tostring(contentLength))
          elseif self._contentLength ~= CONTENT_LENGTH_UNKNOWN then
            self:sendHeader("Content-Length", tostring(self._contentLength))
          elseif self._currentVersion > 0 then
            self._chunked = true
            self:sendHeader("Accept-Ranges", "none")
            self:sendHeader("Transfer-Encoding", "chunked")
          end
          if self._corsEnabled then self:sendHeader("Access-Control-Allow-Origin", "*") end
          if self._keepAlive and self._server:hasClient() then self._keepAlive = false end
          self:sendHeader("Connection", self._keepAlive and "keep-alive" or "close")
          if self._keepAlive then self:sendHeader("Keep-Alive", "timeout=" .. HTTP_MAX_CLOSE_WAIT) end
          response = response .. self._responseHeaders .. "\r\n"
          self._responseHeaders = ""
          return response
        end

        -- :558-589 and :603-623: the header, then the content (a separate write)
        function WebServer:send(code, contentType, content)
          checkSelf(self, "send")
          if math.type(code) ~= "integer" then badArg(1, "send", "number expected, got " .. type(code)) end
          if contentType ~= nil then contentType = checkString(contentType, 2, "send") end
          content = content == nil and "" or checkString(content, 3, "send")
          local client = self._currentClient
          if not client then return end
          client:write(prepareHeader(self, code, contentType, #content))
          if #content > 0 then self:sendContent(content) end
        end

        function WebServer:sendContent(content)
          checkSelf(self, "sendContent")
          content = checkString(content, 1, "sendContent")
          local client = self._currentClient
          if not client or self._currentMethod == HTTP_HEAD then return end
          if self._chunked then client:write(sformat("%x\r\n", #content)) end
          if #content > 0 then client:write(content) end
          if self._chunked then
            client:write("\r\n")
            if #content == 0 then self._chunked = false end
          end
        end

        -- ESP8266WebServer.h:198-214
        function WebServer:chunkedResponseModeStart(code, contentType)
          checkSelf(self, "chunkedResponseModeStart")
          if self._currentVersion == 0 then return false end
          self:setContentLength(CONTENT_LENGTH_UNKNOWN)
          self:send(code, contentType, "")
          return true
        end
        function WebServer:chunkedResponseFinalize() self:sendContent("") end

        -- ESP8266WebServer.h:228-238
        function WebServer:redirect(url, content)
          checkSelf(self, "redirect")
          content = content or ""
          self:sendHeader("Location", url, true)
          self:sendHeader("Cache-Control", "no-cache, no-store, must-revalidate")
          self:sendHeader("Pragma", "no-cache")
          self:sendHeader("Expires", "-1")
          self:send(302, "text/html", content)
          if content == "" and self._currentClient then self._currentClient:stop() end
        end

        -- ESP8266WebServer.h:253-268, ESP8266WebServer-impl.h:647-657: file is a LittleFS File
        function WebServer:streamFile(file, contentType, method)
          checkSelf(self, "streamFile")
          if file == nil or type(file.size) ~= "function" then badArg(1, "streamFile", "File expected") end
          contentType = checkString(contentType, 2, "streamFile")
          method = method or HTTP_GET
          local size, name = file:size(), file:name()
          self:setContentLength(size)
          if endsWith(name, ".gz") and contentType ~= "application/x-gzip" and contentType ~= "application/octet-stream" then
            self:sendHeader("Content-Encoding", "gzip")
          end
          self:send(200, contentType, "")
          local sent = 0
          if method == HTTP_GET and self._currentClient then
            -- Stream::sendAll: read and write until the file ends or a write stalls
            while true do
              local chunk = file:read(1460)      -- HTTP_DOWNLOAD_UNIT_SIZE
              if chunk == nil or #chunk == 0 then break end
              local n = self._currentClient:write(chunk)
              sent = sent + n
              if n < #chunk then break end
            end
          end
          return sent
        end

        -- :666-701: arg(name) / arg(i) (0-based), argName(i), args(), hasArg(name)
        function WebServer:arg(k)
          checkSelf(self, "arg")
          local a = self._currentArgs
          if math.type(k) == "integer" then
            if k >= 0 and k < #a then return a[k + 1].value end
            if k == #a and self._currentArgsHavePlain then return self._plain or "" end
            return ""
          end
          k = checkString(k, 1, "arg")
          for _, x in ipairs(a) do if x.key == k then return x.value end end
          if self._currentArgsHavePlain and k == (self._plain ~= "" and "plain" or "") then return self._plain end
          return ""
        end
        function WebServer:argName(i)
          checkSelf(self, "argName")
          local a = self._currentArgs
          if math.type(i) == "integer" and i >= 0 and i < #a then return a[i + 1].key end
          if i == #a and self._currentArgsHavePlain and self._plain ~= "" then return "plain" end
          return ""
        end
        function WebServer:args() checkSelf(self, "args"); return #self._currentArgs end
        function WebServer:hasArg(k)
          checkSelf(self, "hasArg")
          k = checkString(k, 1, "hasArg")
          for _, x in ipairs(self._currentArgs) do if x.key == k then return true end end
          if self._currentArgsHavePlain then return k == (self._plain ~= "" and "plain" or "") end
          return false
        end

        -- :704-762: header(name) / header(i), headerName(i), headers(), hasHeader(name), collectHeaders(...)
        function WebServer:collectHeaders(...)
          checkSelf(self, "collectHeaders")
          local keys = { "Authorization", "If-None-Match" }
          local list = ...
          if type(list) ~= "table" then list = { ... } end
          for i, k in ipairs(list) do keys[#keys + 1] = checkString(k, i, "collectHeaders") end
          if self._headersCharge then heap.free(self._headersCharge) end
          local bytes = argsBytes(#keys)
          for _, k in ipairs(keys) do bytes = bytes + stringBytes(k) end
          self._headersCharge = heap.alloc(bytes, "RequestArgument[]")
          self._headerKeys, self._headerValues = keys, {}
          for i = 1, #keys do self._headerValues[i] = "" end
        end
        function WebServer:header(k)
          checkSelf(self, "header")
          if math.type(k) == "integer" then return self._headerValues[k + 1] or "" end
          local lk = slower(checkString(k, 1, "header"))
          for i, key in ipairs(self._headerKeys) do if slower(key) == lk then return self._headerValues[i] end end
          return ""
        end
        function WebServer:headerName(i) checkSelf(self, "headerName"); return self._headerKeys[i + 1] or "" end
        function WebServer:headers() checkSelf(self, "headers"); return #self._headerKeys end
        function WebServer:hasHeader(k)
          checkSelf(self, "hasHeader")
          local lk = slower(checkString(k, 1, "hasHeader"))
          for i, key in ipairs(self._headerKeys) do
            if slower(key) == lk and #self._headerValues[i] > 0 then return true end
          end
          return false
        end
        function WebServer:hostHeader() checkSelf(self, "hostHeader"); return self._hostHeader end

        function WebServer:uri() checkSelf(self, "uri"); return self._currentUri end
        function WebServer:method() checkSelf(self, "method"); return self._currentMethod end
        function WebServer:client() checkSelf(self, "client"); return self._currentClient end
        function WebServer:enableCORS(on) checkSelf(self, "enableCORS"); self._corsEnabled = on ~= false end
        function WebServer:keepAlive(on)
          checkSelf(self, "keepAlive")
          if on == nil then return self._keepAlive end
          self._keepAlive = on and true or false
        end
        function WebServer:getServer() checkSelf(self, "getServer"); return self._server end
        function WebServer.urlDecode(s) return urlDecode(checkString(s, 1, "urlDecode")) end
        function WebServer.responseCodeToString(code) return reasons[code] or "" end

        -- :98-132 (Basic only: Digest needs MD5, not emulated yet)
        function WebServer:authenticate(user, pass)
          checkSelf(self, "authenticate")
          user, pass = checkString(user, 1, "authenticate"), checkString(pass, 2, "authenticate")
          if not self:hasHeader("Authorization") then return false end
          local authReq = self:header("Authorization")
          if ssub(authReq, 1, 5) ~= "Basic" then return false end
          authReq = string.match(ssub(authReq, 7), "^%s*(.-)%s*$")
          local raw = user .. ":" .. pass
          return authReq == base64(raw)
        end

        -- :215-230
        function WebServer:requestAuthentication(mode, realm, failMsg)
          checkSelf(self, "requestAuthentication")
          mode = mode or BASIC_AUTH
          if mode ~= BASIC_AUTH then badArg(1, "requestAuthentication", "only BASIC_AUTH is emulated") end
          self._srealm = realm and checkString(realm, 2, "requestAuthentication") or "Login Required"
          self:sendHeader("WWW-Authenticate", 'Basic realm="' .. self._srealm .. '"')
          self:send(401, "text/html", failMsg or "")
        end
        """#
}
