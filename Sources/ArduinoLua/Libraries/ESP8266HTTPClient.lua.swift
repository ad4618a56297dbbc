extension LuaLibraries {
    /// The core's HTTPClient (libraries/ESP8266HTTPClient/src, core 3.1.2+:
    /// ESP8266HTTPClient.cpp and .h) in Lua, call for call over the WiFiClient
    /// binding. Line numbers below are of those files.
    static let httpClient = #"""

        -- ESP8266HTTPClient.h:45-58, 66-125, 143-147
        local HTTPCLIENT_DEFAULT_TCP_TIMEOUT = 5000
        HTTPC_ERROR_CONNECTION_FAILED, HTTPC_ERROR_SEND_HEADER_FAILED, HTTPC_ERROR_SEND_PAYLOAD_FAILED = -1, -2, -3
        HTTPC_ERROR_NOT_CONNECTED, HTTPC_ERROR_CONNECTION_LOST, HTTPC_ERROR_NO_STREAM = -4, -5, -6
        HTTPC_ERROR_NO_HTTP_SERVER, HTTPC_ERROR_TOO_LESS_RAM, HTTPC_ERROR_ENCODING = -7, -8, -9
        HTTPC_ERROR_STREAM_WRITE, HTTPC_ERROR_READ_TIMEOUT = -10, -11
        HTTPC_DISABLE_FOLLOW_REDIRECTS, HTTPC_STRICT_FOLLOW_REDIRECTS, HTTPC_FORCE_FOLLOW_REDIRECTS = 0, 1, 2
        for k, v in pairs({
          HTTP_CODE_CONTINUE=100, HTTP_CODE_SWITCHING_PROTOCOLS=101, HTTP_CODE_PROCESSING=102, HTTP_CODE_OK=200,
          HTTP_CODE_CREATED=201, HTTP_CODE_ACCEPTED=202, HTTP_CODE_NON_AUTHORITATIVE_INFORMATION=203, HTTP_CODE_NO_CONTENT=204,
          HTTP_CODE_RESET_CONTENT=205, HTTP_CODE_PARTIAL_CONTENT=206, HTTP_CODE_MULTI_STATUS=207, HTTP_CODE_ALREADY_REPORTED=208,
          HTTP_CODE_IM_USED=226, HTTP_CODE_MULTIPLE_CHOICES=300, HTTP_CODE_MOVED_PERMANENTLY=301, HTTP_CODE_FOUND=302,
          HTTP_CODE_SEE_OTHER=303, HTTP_CODE_NOT_MODIFIED=304, HTTP_CODE_USE_PROXY=305, HTTP_CODE_TEMPORARY_REDIRECT=307,
          HTTP_CODE_PERMANENT_REDIRECT=308, HTTP_CODE_BAD_REQUEST=400, HTTP_CODE_UNAUTHORIZED=401, HTTP_CODE_PAYMENT_REQUIRED=402,
          HTTP_CODE_FORBIDDEN=403, HTTP_CODE_NOT_FOUND=404, HTTP_CODE_METHOD_NOT_ALLOWED=405, HTTP_CODE_NOT_ACCEPTABLE=406,
          HTTP_CODE_PROXY_AUTHENTICATION_REQUIRED=407, HTTP_CODE_REQUEST_TIMEOUT=408, HTTP_CODE_CONFLICT=409, HTTP_CODE_GONE=410,
          HTTP_CODE_LENGTH_REQUIRED=411, HTTP_CODE_PRECONDITION_FAILED=412, HTTP_CODE_PAYLOAD_TOO_LARGE=413, HTTP_CODE_URI_TOO_LONG=414,
          HTTP_CODE_UNSUPPORTED_MEDIA_TYPE=415, HTTP_CODE_RANGE_NOT_SATISFIABLE=416, HTTP_CODE_EXPECTATION_FAILED=417, HTTP_CODE_MISDIRECTED_REQUEST=421,
          HTTP_CODE_UNPROCESSABLE_ENTITY=422, HTTP_CODE_LOCKED=423, HTTP_CODE_FAILED_DEPENDENCY=424, HTTP_CODE_UPGRADE_REQUIRED=426,
          HTTP_CODE_PRECONDITION_REQUIRED=428, HTTP_CODE_TOO_MANY_REQUESTS=429, HTTP_CODE_REQUEST_HEADER_FIELDS_TOO_LARGE=431, HTTP_CODE_INTERNAL_SERVER_ERROR=500,
          HTTP_CODE_NOT_IMPLEMENTED=501, HTTP_CODE_BAD_GATEWAY=502, HTTP_CODE_SERVICE_UNAVAILABLE=503, HTTP_CODE_GATEWAY_TIMEOUT=504,
          HTTP_CODE_HTTP_VERSION_NOT_SUPPORTED=505, HTTP_CODE_VARIANT_ALSO_NEGOTIATES=506, HTTP_CODE_INSUFFICIENT_STORAGE=507, HTTP_CODE_LOOP_DETECTED=508,
          HTTP_CODE_NOT_EXTENDED=510, HTTP_CODE_NETWORK_AUTHENTICATION_REQUIRED=511,
        }) do _G[k] = v end
        local TE_IDENTITY, TE_CHUNKED = 0, 1

        local function stringBytes(n) if n < 11 then return 0 end return (n + 16) & ~15 end


        local HTTP = {}
        HTTP.__index = HTTP
        HTTP.__name = "HTTPClient"
        HTTP.__tostring = function() return "HTTPClient" end

        local function checkSelf(s, fname)
          if getmetatable(s) ~= HTTP then badArg(1, fname, "HTTPClient expected (use http:" .. fname .. "(...))") end
          return s
        end

        -- the payload String (StreamString, reserved to the Content-Length) lives on the heap until clear()
        local function freePayload(self)
          if self._payloadCharge then heap.free(self._payloadCharge); self._payloadCharge = nil end
        end
        HTTP.__gc = freePayload

        local function new()
          return setmetatable({
            _client = nil, _host = "", _port = 0, _uri = "", _protocol = "", _headers = "", _base64Authorization = "",
            _reuse = true, _canReuse = false, _tcpTimeout = HTTPCLIENT_DEFAULT_TCP_TIMEOUT, _useHTTP10 = false,
            _userAgent = "ESP8266HTTPClient", _headerKeys = {}, _headerValues = {}, _returnCode = 0, _size = -1,
            _location = "", _transferEncoding = TE_IDENTITY, _payload = nil, _followRedirects = HTTPC_DISABLE_FOLLOW_REDIRECTS,
            _redirectLimit = 10,
          }, HTTP)
        end
        HTTPClient = setmetatable({}, { __call = new, __index = HTTP })

        -- :55-62
        local function clear(self)
          self._returnCode = 0
          self._size = -1
          self._headers = ""
          self._location = ""
          self._payload = nil
          freePayload(self)
        end

        -- :242-248
        function HTTP:connected()
          checkSelf(self, "connected")
          local c = self._client
          if c then return c:connected() or c:available() > 0 end
          return false
        end

        -- :208-236
        -- _client = nullptr destroys the clone (the WiFiClient destructor: ClientContext::unref)
        local function dropClient(self)
          local c = self._client
          self._client = nil
          if c and self._ownClient then release(c) end
        end

        local function disconnect(self, preserveClient)
          local c = self._client
          if self:connected() then
            while c:available() > 0 do c:read() end
            if not (self._reuse and self._canReuse) then
              c:stop()
              if not preserveClient then dropClient(self) end
            end
          elseif not preserveClient and c then
            dropClient(self)
          end
        end

        -- :123-191
        local function beginInternal(self, url, expectedProtocol)
          clear(self)
          local index = sfind(url, ":", 1, true)
          if not index then return false end
          self._protocol = slower(ssub(url, 1, index - 1))
          url = ssub(url, index + 3)
          if self._protocol == "http" then self._port = 80
          elseif self._protocol == "https" then self._port = 443
          else return false end
          local slash = sfind(url, "/", 1, true)
          local host = slash and ssub(url, 1, slash - 1) or url
          url = slash and ssub(url, slash) or ""
          local at = sfind(host, "@", 1, true)
          if at then
            self._base64Authorization = base64(ssub(host, 1, at - 1))
            host = ssub(host, at + 1)
          end
          local oldHost = self._host
          local colon = sfind(host, ":", 1, true)
          if colon then
            self._host = ssub(host, 1, colon - 1)
            self._port = tonumber(string.match(ssub(host, colon + 1), "^%d+")) or 0
          else
            self._host = host
          end
          if oldHost ~= "" and self._host ~= oldHost then
            self._canReuse = false
            disconnect(self, true)
          end
          self._uri = url
          if expectedProtocol and self._protocol ~= expectedProtocol then return false end
          return true
        end

        -- WiFiClient::clone(): the HTTPClient works on its own WiFiClient sharing the given
        -- one's connection (an unconnected client's clone is a new WiFiClient). A
        -- WiFiClientSecure's clone shares its context (WiFiClientSecureBearSSL.h:263, the
        -- shared_ptr _ctx): its settings and its connection, so the client itself serves
        local function clone(client)
          if type(client) ~= "userdata" or type(client.connect) ~= "function" then
            badArg(1, "begin", "WiFiClient expected, got " .. type(client))
          end
          local mt = getmetatable(client)
          if client:connected() or (mt and mt.__name == "WiFiClientSecure") then return client, false end
          return WiFiClient(), true
        end

        -- :72-91 begin(client, url); :103-120 begin(client, host, port [, uri [, https]])
        function HTTP:begin(client, a, port, uri, https)
          checkSelf(self, "begin")
          local c, own = clone(client)
          if port == nil then
            local url = checkString(a, 2, "begin")
            local index = sfind(url, ":", 1, true)
            if not index then return false end
            local protocol = slower(ssub(url, 1, index - 1))
            if protocol ~= "http" and protocol ~= "https" then return false end
            self._port = protocol == "https" and 443 or 80
            if self._client ~= c then dropClient(self) end
            self._client, self._ownClient = c, own
            return beginInternal(self, url, protocol)
          end
          local host = checkString(a, 2, "begin")
          if math.type(port) ~= "integer" then badArg(3, "begin", "number expected, got " .. type(port)) end
          if self._host ~= "" and self._host ~= host then
            self._canReuse = false
            disconnect(self, true)
          end
          if self._client ~= c then dropClient(self) end
          self._client, self._ownClient = c, own
          clear(self)
          self._host, self._port, self._uri = host, port, uri and checkString(uri, 4, "begin") or "/"
          self._protocol = https and "https" or "http"
          return true
        end

        -- :198-202
        function HTTP:end_()
          checkSelf(self, "end")
          disconnect(self, false)
          clear(self)
        end
        HTTP["end"] = HTTP.end_

        function HTTP:setReuse(reuse) checkSelf(self, "setReuse"); self._reuse = reuse and true or false end
        function HTTP:setUserAgent(ua) checkSelf(self, "setUserAgent"); self._userAgent = checkString(ua, 1, "setUserAgent") end
        -- :274-303
        function HTTP:setAuthorization(user, password)
          checkSelf(self, "setAuthorization")
          if password ~= nil then
            self._base64Authorization = base64(checkString(user, 1, "setAuthorization") .. ":" .. checkString(password, 2, "setAuthorization"))
          else
            self._base64Authorization = (string.gsub(checkString(user, 1, "setAuthorization"), "\n", ""))
          end
        end
        -- :309-315
        function HTTP:setTimeout(ms)
          checkSelf(self, "setTimeout")
          if math.type(ms) ~= "integer" then badArg(1, "setTimeout", "number expected, got " .. type(ms)) end
          self._tcpTimeout = ms & 0xFFFF   -- uint16_t
          if self:connected() then self._client:setTimeout(self._tcpTimeout) end
        end
        -- :321-338
        function HTTP:setURL(url)
          checkSelf(self, "setURL")
          url = checkString(url, 1, "setURL")
          if ssub(url, 1, 1) == "/" then self._uri = url; clear(self); return true end
          if ssub(url, 1, #self._protocol + 1) ~= self._protocol .. ":" then return false end
          self._canReuse = false
          disconnect(self, true)
          return beginInternal(self, url, nil)
        end
        function HTTP:setFollowRedirects(f) checkSelf(self, "setFollowRedirects"); self._followRedirects = f end
        function HTTP:setRedirectLimit(n) checkSelf(self, "setRedirectLimit"); self._redirectLimit = n end
        -- :358-362
        function HTTP:useHTTP10(on)
          checkSelf(self, "useHTTP10")
          self._useHTTP10 = on ~= false
          self._reuse = not self._useHTTP10
        end

        -- :695-724
        function HTTP:addHeader(name, value, first, replace)
          checkSelf(self, "addHeader")
          name, value = checkString(name, 1, "addHeader"), checkString(value, 2, "addHeader")
          if replace == nil then replace = true end
          local l = slower(name)
          if l == "connection" or l == "user-agent" or l == "host" or (l == "authorization" and #self._base64Authorization > 0) then
            return
          end
          local line = name .. ": "
          if replace then
            local s = sfind(self._headers, line, 1, true)
            if s then
              local e = sfind(self._headers, "\n", s, true)
              self._headers = ssub(self._headers, 1, s - 1) .. ssub(self._headers, e + 1)
            end
          end
          line = line .. value .. "\r\n"
          if first then self._headers = line .. self._headers else self._headers = self._headers .. line end
        end

        -- :726-774
        function HTTP:collectHeaders(...)
          checkSelf(self, "collectHeaders")
          local list = ...
          if type(list) ~= "table" then list = { ... } end
          self._headerKeys, self._headerValues = {}, {}
          for i, k in ipairs(list) do self._headerKeys[i] = checkString(k, i, "collectHeaders"); self._headerValues[i] = "" end
        end
        function HTTP:header(k)
          checkSelf(self, "header")
          if math.type(k) == "integer" then return self._headerValues[k + 1] or "" end
          for i, key in ipairs(self._headerKeys) do if key == k then return self._headerValues[i] end end
          return ""
        end
        function HTTP:headerName(i) checkSelf(self, "headerName"); return self._headerKeys[i + 1] or "" end
        function HTTP:headers() checkSelf(self, "headers"); return #self._headerKeys end
        function HTTP:hasHeader(k)
          checkSelf(self, "hasHeader")
          for i, key in ipairs(self._headerKeys) do if key == k and #self._headerValues[i] > 0 then return true end end
          return false
        end

        -- :996-1006
        local function returnError(self, err)
          if err < 0 and self:connected() then self._client:stop() end
          return err
        end

        -- :780-810
        local function connect(self)
          if self._reuse and self._canReuse and self:connected() then
            while self._client:available() > 0 do self._client:read(self._client:available()) end
            return true
          end
          if not self._client then return false end
          self._client:setTimeout(self._tcpTimeout)
          if not self._client:connect(self._host, self._port) then return false end
          self._client:setNoDelay(true)
          return self:connected()
        end

        -- :817-874: one write of the whole header, from a String reserved on the heap
        local function sendHeader(self, method)
          if not self:connected() then return false end
          local h = { method, " ", #self._uri > 0 and self._uri or "/", " HTTP/1.", self._useHTTP10 and "0" or "1",
            "\r\nHost: ", self._host }
          if self._port ~= 80 and self._port ~= 443 then h[#h + 1] = ":" .. self._port end
          if #self._userAgent > 0 then h[#h + 1] = "\r\nUser-Agent: " .. self._userAgent end
          if not self._useHTTP10 then h[#h + 1] = "\r\nAccept-Encoding: identity;q=1,chunked;q=0.1,*;q=0" end
          if #self._base64Authorization > 0 then h[#h + 1] = "\r\nAuthorization: Basic " .. self._base64Authorization end
          h[#h + 1] = "\r\nConnection: " .. (self._reuse and "keep-alive" or "close") .. "\r\n"
          h[#h + 1] = self._headers
          h[#h + 1] = "\r\n"
          local header = table.concat(h)
          local reserved = #self._headers + #self._uri + #self._base64Authorization + #self._host + #self._userAgent + 128
          local charge = heap.alloc((reserved + 16) & ~15, "String")
          local sent = self._client:write(header)
          heap.free(charge)
          return sent == #header
        end

        -- :880-989
        local function handleHeaderResponse(self)
          if not self:connected() then return HTTPC_ERROR_NOT_CONNECTED end
          clear(self)
          self._canReuse = self._reuse
          local transferEncoding = ""
          self._transferEncoding = TE_IDENTITY
          local lastDataTime = millis()
          local c = self._client
          for i = 1, #self._headerValues do self._headerValues[i] = "" end
          while self:connected() do
            if c:available() > 0 then
              local line = c:readStringUntil("\n")
              lastDataTime = millis()
              local sep = sfind(line, ":", 1, true)
              if ssub(line, 1, 7) == "HTTP/1." then
                self._canReuse = self._canReuse and ssub(line, 8, 8) ~= "0"
                local sp = sfind(line, " ", 10, true)
                self._returnCode = tonumber(string.match(ssub(line, 10, sp and sp - 1 or #line), "^%s*([+-]?%d+)")) or 0
                self._canReuse = self._canReuse and self._returnCode > 0 and self._returnCode < 500
              elseif sep and sep > 1 then
                local name, value = ssub(line, 1, sep - 1), trim(ssub(line, sep + 1))
                local l = slower(name)
                if l == "content-length" then self._size = tonumber(string.match(value, "^[+-]?%d+")) or 0 end
                if self._canReuse and l == "connection" then
                  if sfind(value, "close", 1, true) and not sfind(value, "keep-alive", 1, true) then self._canReuse = false end
                end
                if l == "transfer-encoding" then transferEncoding = value end
                if l == "location" then self._location = value end
                for i, k in ipairs(self._headerKeys) do
                  if slower(k) == l then
                    if self._headerValues[i] ~= "" then self._headerValues[i] = self._headerValues[i] .. "," .. value
                    else self._headerValues[i] = value end
                    break
                  end
                end
                goto continue
              end
              if trim(line) == "" then
                if #transferEncoding > 0 then
                  if slower(transferEncoding) == "chunked" then self._transferEncoding = TE_CHUNKED
                  else self._returnCode = HTTPC_ERROR_ENCODING; return self._returnCode end
                else
                  self._transferEncoding = TE_IDENTITY
                end
                if self._returnCode <= 0 then self._returnCode = HTTPC_ERROR_NO_HTTP_SERVER end
                return self._returnCode
              end
            else
              if (millis() - lastDataTime) & 0xFFFFFFFF > self._tcpTimeout then return HTTPC_ERROR_READ_TIMEOUT end
              yield()
            end
            ::continue::
          end
          return HTTPC_ERROR_CONNECTION_LOST
        end

        -- :443-541
        function HTTP:sendRequest(method, payload)
          checkSelf(self, "sendRequest")
          method = checkString(method, 1, "sendRequest")
          payload = payload == nil and "" or checkString(payload, 2, "sendRequest")
          local code
          local redirectCount = 0
          repeat
            for i = 1, #self._headerValues do self._headerValues[i] = "" end
            if not connect(self) then return returnError(self, HTTPC_ERROR_CONNECTION_FAILED) end
            self:addHeader("Content-Length", tostring(#payload))
            if not sendHeader(self, method) then return returnError(self, HTTPC_ERROR_SEND_HEADER_FAILED) end
            if #payload > 0 and self._client:write(payload) ~= #payload then
              return returnError(self, HTTPC_ERROR_SEND_PAYLOAD_FAILED)
            end
            code = handleHeaderResponse(self)
            local redirect = false
            if self._followRedirects ~= HTTPC_DISABLE_FOLLOW_REDIRECTS and redirectCount < self._redirectLimit and #self._location > 0 then
              if code == 301 or code == 307 then
                if self._followRedirects == HTTPC_FORCE_FOLLOW_REDIRECTS or method == "GET" or method == "HEAD" then
                  redirectCount = redirectCount + 1
                  redirect = self:setURL(self._location)
                end
              elseif code == 302 or code == 303 then
                redirectCount = redirectCount + 1
                if self:setURL(self._location) then method, payload, redirect = "GET", "", true end
              end
            end
          until not redirect
          return returnError(self, code)
        end

        function HTTP:GET() return self:sendRequest("GET") end
        function HTTP:DELETE() return self:sendRequest("DELETE") end
        function HTTP:POST(payload) return self:sendRequest("POST", payload) end
        function HTTP:PUT(payload) return self:sendRequest("PUT", payload) end
        function HTTP:PATCH(payload) return self:sendRequest("PATCH", payload) end

        function HTTP:getSize() checkSelf(self, "getSize"); return self._size end
        function HTTP:getLocation() checkSelf(self, "getLocation"); return self._location end
        -- :605-628
        function HTTP:getStream() checkSelf(self, "getStream"); if self:connected() then return self._client end return nil end
        HTTP.getStreamPtr = HTTP.getStream

        -- Stream::sendSize: up to n bytes (n < 0: until the peer closes), waiting up to the
        -- client's timeout for each piece; ok is false on a timeout
        local function readBody(client, n, timeout)
          local parts, got, last = {}, 0, millis()
          while n < 0 or got < n do
            local want = n < 0 and 1460 or math.min(n - got, 1460)
            local s = client:read(want)
            if #s > 0 then
              parts[#parts + 1] = s; got = got + #s; last = millis()
            elseif not client:connected() and client:available() == 0 then
              return table.concat(parts), n < 0
            elseif (millis() - last) & 0xFFFFFFFF > timeout then
              return table.concat(parts), false
            else
              yield()
            end
          end
          return table.concat(parts), true
        end

        -- ESP8266HTTPClient.h:289-371 (writeToStream into a String)
        local function writeToString(self)
          if not self:connected() and self._transferEncoding ~= TE_IDENTITY and self._size > 0 then
            return nil, returnError(self, HTTPC_ERROR_NOT_CONNECTED)
          end
          local c = self._client
          if not c then return "", 0 end
          local timeout = self._tcpTimeout
          local body
          if self._transferEncoding == TE_IDENTITY then
            local ok
            body, ok = readBody(c, self._size, timeout)
            if not ok then return body, returnError(self, HTTPC_ERROR_READ_TIMEOUT) end
          else
            local parts, size, ret = {}, 0, 0
            while true do
              if not self:connected() then return table.concat(parts), returnError(self, HTTPC_ERROR_CONNECTION_LOST) end
              local chunkHeader = c:readStringUntil("\n")
              if #chunkHeader <= 0 then return table.concat(parts), returnError(self, HTTPC_ERROR_READ_TIMEOUT) end
              local len = tonumber(string.match(trim(chunkHeader), "^%x+") or "0", 16)
              size = size + len
              if len > 0 then
                local s, ok = readBody(c, len, timeout)
                parts[#parts + 1] = s
                if not ok then return table.concat(parts), returnError(self, HTTPC_ERROR_READ_TIMEOUT) end
                ret = ret + #s
              else
                if self._size <= 0 then self._size = size end
                if ret ~= self._size then return table.concat(parts), returnError(self, HTTPC_ERROR_STREAM_WRITE) end
                break
              end
              local crlf = readBody(c, 2, timeout)
              if crlf ~= "\r\n" then return table.concat(parts), returnError(self, HTTPC_ERROR_READ_TIMEOUT) end
              yield()
            end
            body = table.concat(parts)
          end
          disconnect(self, true)
          return body, #body
        end

        -- :634-652: read once, kept until the next request or end()
        function HTTP:getString()
          checkSelf(self, "getString")
          if self._payload then return self._payload end
          local reserve = self._size > 0 and self._size or 0
          freePayload(self)
          self._payloadCharge = heap.alloc(24 + ((reserve + 16) & ~15), "StreamString")
          local body = writeToString(self)
          self._payload = body or ""
          if #self._payload > reserve then
            heap.free(self._payloadCharge)
            self._payloadCharge = heap.alloc(24 + stringBytes(#self._payload), "StreamString")
          end
          return self._payload
        end

        -- :659-687 (also callable as HTTPClient.errorToString(code))
        local errors = {
          [-1] = "connection failed", [-2] = "send header failed", [-3] = "send payload failed", [-4] = "not connected",
          [-5] = "connection lost", [-6] = "no stream", [-7] = "no HTTP server", [-8] = "not enough ram",
          [-9] = "Transfer-Encoding not supported", [-10] = "Stream write error", [-11] = "read Timeout",
        }
        function HTTP.errorToString(a, b)
          local code = getmetatable(a) == HTTP and b or a
          return errors[code] or ""
        end
        """#
}
