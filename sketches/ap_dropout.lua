-- ap_dropout.lua: the access point goes away for 15 s and comes back.
-- The station notices when 60 beacons in a row are missing (about 6.1 s):
-- WIFI_EVENT_STAMODE_DISCONNECTED with REASON_BEACON_TIMEOUT (200,
-- user_interface.h:521), WiFi.status() WL_DISCONNECTED while the SDK looks for
-- the AP again (auto-reconnect is on by default), then REASON_NO_AP_FOUND (201)
-- and WL_NO_SSID_AVAIL after each scan that does not find it (ESP8266WiFiSTA.cpp:594-611).
-- When it is back: connected, DHCP confirms the lease, got IP. lwIP kept the TCP
-- connection all along (no route while the link was down): the lines written
-- meanwhile go out, late, and the sketch, whose reads timed out (a WiFiClient's
-- 5 s timeout, WiFiClient.cpp:80), reads their echoes three loops behind.
--   esplua run sketches/ap_dropout.lua --link wifi --fault ap-down@5s+15s --for 30s
-- (the echo service is in ap_dropout.world.json)

local client
local n = 0

function setup()
  Serial.begin(115200)
  WiFi.onStationModeDisconnected(function(e)
    print(string.format("%7.3f s  disconnected, reason %d, WiFi.status() %d", millis() / 1000, e.reason, WiFi.status()))
  end)
  WiFi.onStationModeConnected(function(e) print(string.format("%7.3f s  connected to %s", millis() / 1000, e.ssid)) end)
  WiFi.onStationModeGotIP(function(e) print(string.format("%7.3f s  got IP %s", millis() / 1000, e.ip)) end)
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(10) end
  client = WiFiClient()
  print("connect: " .. tostring(client:connect("echo.world", 7)))
end

function loop()
  n = n + 1
  client:print("line " .. n .. "\n")
  local t = millis()
  local echo = client:readStringUntil("\n")
  print(string.format("%7.3f s  line %d: echo %q after %d ms, WiFi.status() %d", t / 1000, n, echo, millis() - t, WiFi.status()))
  delay(1000)
end
