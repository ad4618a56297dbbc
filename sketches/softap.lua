-- softap.lua: the board as an access point (WIFI_AP_STA): its own network at
-- 192.168.4.1 next to the station's, a server listening on both.
-- (Alone, no station joins the access point: softAPgetStationNum() stays 0; in a
-- lab in virtual time other boards can: sketches/labs/softap_cell.)

local server = WiFiServer(80)

function setup()
  Serial.begin(115200)
  WiFi.onWiFiModeChange(function(e) print("  event: mode " .. e.oldMode .. " -> " .. e.newMode) end)
  print("at boot the mode is " .. WiFi.getMode() .. " (WIFI_OFF)")
  print("softAP with a short password: " .. tostring(WiFi.softAP("esplua-ap", "short")))
  print("softAP: " .. tostring(WiFi.softAP("esplua-ap", "password123", 6)))
  print("AP " .. WiFi.softAPSSID() .. " at " .. WiFi.softAPIP() .. ", MAC " .. WiFi.softAPmacAddress())
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(100) end
  print("mode " .. WiFi.getMode() .. " (WIFI_AP_STA), station " .. WiFi.localIP() .. ", MAC " .. WiFi.macAddress())
  server:begin()
  print("stations on the AP: " .. WiFi.softAPgetStationNum() .. ", free heap " .. ESP.getFreeHeap())
  WiFi.softAPdisconnect(true)
  print("after softAPdisconnect(true): mode " .. WiFi.getMode() .. ", AP IP " .. WiFi.softAPIP())
end

function loop() delay(1000) end
