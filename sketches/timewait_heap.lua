-- timewait_heap.lua: why a server that stop()s loses heap, and how to get it back.
--
-- stop() closes with FIN. The side that closes first keeps its pcb in TIME_WAIT
-- for 2*MSL = 120 s, and each one holds 192 B of the ~50 KB heap. Core 3.x keeps
-- at most 5 (run with --timewait-limit 0 to see older cores, where they pile up).
-- tcp_kill_timewait() frees the oldest, tcpCleanup() all; abort() sends RST and
-- leaves nothing behind. Visitors (timewait_heap.world.json) make the requests.
--   esplua run sketches/timewait_heap.lua --time virtual --for 170s --pcap tw.pcap

local server = WiFiServer(80)
local baseline
local served = 0
local reportAt

local function count(state)
  local n = 0
  for _, pcb in ipairs(lwip.pcbs()) do
    if pcb.state == state then n = n + 1 end
  end
  return n
end

local function report(what)
  local heap = ESP.getFreeHeap()
  print(string.format("%-28s heap %5d B (%+5d)  TIME_WAIT %d", what, heap, heap - baseline, count("TIME_WAIT")))
end

function setup()
  Serial.begin(115200)
  WiFi.mode(WIFI_STA)
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(100) end
  server:begin()
  baseline = ESP.getFreeHeap()
  print("listening on " .. WiFi.localIP() .. ":80, free heap " .. baseline .. " B")
end

local function serve(client)
  -- read the whole request (unread bytes would turn the close into a RST)
  repeat local line = client:readStringUntil("\n") until line == "\r" or line == ""
  client:print("HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nhello\r\n")
  served = served + 1
  -- visits 9-13 are closed with abort(): RST, no TIME_WAIT
  if served >= 9 and served <= 13 then client:abort() else client:stop() end
  reportAt = millis() + 500
end

local step = 0
function loop()
  local client = server:accept()
  if client then serve(client) end
  if reportAt and millis() >= reportAt then
    reportAt = nil
    report(string.format("request %2d, after %s", served, (served >= 9 and served <= 13) and "abort()" or "stop()"))
  end
  local s = millis() // 1000
  if s == 20 and step == 0 then
    step = 1
    tcp_kill_timewait()
    report("tcp_kill_timewait()")
  elseif s == 21 and step == 1 then
    step = 2
    tcpCleanup()
    delay(1000)   -- lwIP's TCP timer retires once no pcb needs it
    report("tcpCleanup()")
  elseif s == 165 and step == 2 then
    step = 3
    report("2*MSL after the last stop()")
  end
end
