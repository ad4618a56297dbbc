-- lossy_link.lua: TCP on a link that loses frames, then loses all of them for
-- a while. The board sends a line to an echo service every second and waits
-- for the echo (a WiFiClient's 5 s timeout, WiFiClient.cpp:80). A lost segment is sent again when lwIP's
-- retransmission timer runs out: 3 s before any round trip was measured (lwIP's
-- initial RTO), then from the measured round trip (at least one 500 ms slow-timer
-- tick), doubled with each retry of the same segment (tcp.c:1289:
-- rto << tcp_backoff[nrtx]), so during the outage the pcap shows the same segment
-- again after 1.5, 3, 6, 12 s. TCP_MAXRTX = 12 retries (the core's lwipopts.h:1257)
-- are far away: when the link is back the next retry gets through. Meanwhile
-- reads timed out, so the sketch is behind: each read now takes the oldest echo
-- waiting.
--   esplua run sketches/lossy_link.lua --link '{"like":"wifi","loss":0.05}' \
--     --fault link-down@8s+20s --pcap lossy.pcap --for 40s
-- (the echo service is in lossy_link.world.json)

local client
local n = 0

function setup()
  Serial.begin(115200)
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(10) end
  client = WiFiClient()
  print("connect: " .. tostring(client:connect("echo.world", 7)))
end

function loop()
  if n >= 30 then delay(1000); return end
  n = n + 1
  client:print("line " .. n .. "\n")
  local t = millis()
  local echo = client:readStringUntil("\n")
  if echo == "" then
    print(string.format("%6.3f s  line %2d: no echo within 5 s", t / 1000, n))
  else
    print(string.format("%6.3f s  line %2d: echo %q after %d ms", t / 1000, n, echo, millis() - t))
  end
  delay(1000)
end
