-- abort_vs_stop.lua: four ways a TCP connection ends on an ESP8266, watched in
-- the connection table right after the call (visitors: abort_vs_stop.world.json).
--
--   port 80  the board answers, then stop():  FIN, the pcb walks FIN_WAIT_1 ->
--            FIN_WAIT_2 -> TIME_WAIT and holds 192 B for 2 minutes
--   port 81  the board answers, then abort(): RST, the pcb is gone at once
--   port 82  the visitor closes first, nothing unread: the core answers its FIN
--            with abort(), an RST ("closing in the legacy way")
--   port 83  the visitor closes first with bytes still unread: CLOSE_WAIT, which
--            status() reports as 0 (CLOSED); stop() then goes LAST_ACK
--   esplua run sketches/abort_vs_stop.lua --time virtual --for 12s --pcap avs.pcap

local servers = {}
local pending = {}

local function states(port)
  local t = {}
  for _, pcb in ipairs(lwip.pcbs()) do
    if pcb.localPort == port and pcb.state ~= "LISTEN" then t[#t + 1] = pcb.state end
  end
  return #t > 0 and table.concat(t, ",") or "none"
end

local function show(port, what)
  print(string.format("  %-34s pcb: %-11s heap %d", what, states(port), ESP.getFreeHeap()))
end

local function drain(client)
  repeat local line = client:readStringUntil("\n") until line == "\r" or line == ""
end

function setup()
  Serial.begin(115200)
  WiFi.mode(WIFI_STA)
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(100) end
  for port = 80, 83 do
    servers[port] = WiFiServer(port)
    servers[port]:begin()
  end
  print("ready at " .. WiFi.localIP() .. ", free heap " .. ESP.getFreeHeap())
end

local handlers = {
  [80] = function(c)
    print("port 80: stop()")
    drain(c)
    c:print("HTTP/1.0 200 OK\r\n\r\nbye\r\n")
    c:stop()
    show(80, "right after stop(), status " .. c:status())
    delay(200); show(80, "200 ms later")
  end,
  [81] = function(c)
    print("port 81: abort()")
    drain(c)
    c:print("HTTP/1.0 200 OK\r\n\r\nbye\r\n")
    c:abort()
    show(81, "right after abort(), status " .. c:status())
  end,
  [82] = function(c)
    print("port 82: the visitor closes first, nothing unread")
    drain(c)
    c:print("HTTP/1.0 200 OK\r\n\r\nbye\r\n")
    delay(200)   -- the visitor's FIN arrives; the core aborts the connection
    show(82, "after its FIN, status " .. c:status())
    c:stop()
  end,
  [83] = function(c)
    print("port 83: the visitor closes first, 'extra' unread")
    c:readStringUntil("\n")          -- the request line only
    c:print("HTTP/1.0 200 OK\r\n\r\nbye\r\n")
    delay(200)
    show(83, string.format("after its FIN, status %d, available %d", c:status(), c:available()))
    -- connected() is false in CLOSE_WAIT even with data left: read while available()
    print(string.format("  connected() %s, available() %d", tostring(c:connected()), c:available()))
    c:read(c:available())
    c:stop()
    show(83, "after reading and stop()")
    delay(200); show(83, "200 ms later")
  end,
}

function loop()
  for port = 80, 83 do
    local client = servers[port]:accept()
    if client then handlers[port](client) end
  end
end
