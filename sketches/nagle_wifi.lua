-- nagle_wifi.lua: Nagle's algorithm and delayed ACKs on a WiFi link (lwIP as
-- the ESP8266 core builds it). Ten small writes to an echo service:
--   * Nagle on (the core's default, setNoDelay(false)): the first write leaves
--     at once, the other nine wait in lwIP until it is acknowledged one round
--     trip later, then go as one segment: 2 segments on the air.
--   * setNoDelay(true): every write is a segment; lwIP queues at most
--     TCP_SND_QUEUELEN = 8 segments (lwipopts.h:1333), so the ninth write waits
--     for the first ACK: 10 segments, and the writes themselves take a round trip.
--   * one line echoed and nothing sent back: lwIP acknowledges the echo only on
--     its next fast timer tick (TCP_TMR_INTERVAL 250 ms, tcp_priv.h:120), the
--     delayed ACK; a second segment, or data to send, would take the ACK at once.
--   esplua run sketches/nagle_wifi.lua --link wifi --pcap nagle.pcap --for 8s
-- (the echo service is in nagle_wifi.world.json)

local function echoRound(label, noDelay, pieces)
  local c = WiFiClient()
  if not c:connect("echo.world", 7) then print(label .. ": connect failed"); return end
  c:setNoDelay(noDelay)
  delay(500)
  local want = 0
  local t = micros()
  for i = 1, pieces do
    local s = "part" .. i .. ";"
    want = want + #s
    c:write(s)
  end
  local wrote = micros()
  local got = ""
  while #got < want do
    if c:available() > 0 then got = got .. c:read(c:available()) else yield() end
  end
  print(string.format("%s: %d write%s took %.1f ms, all %d bytes echoed after %.1f ms",
    label, pieces, pieces == 1 and "" or "s", (wrote - t) / 1000, want, (micros() - t) / 1000))
  delay(1000)
  c:stop()
end

function setup()
  Serial.begin(115200)
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(10) end
  print("connected, link round trips of a few ms")
  echoRound("Nagle on (default)", false, 10)
  echoRound("setNoDelay(true)", true, 10)
  echoRound("one write, then quiet", false, 1)
end

function loop() delay(1000) end
