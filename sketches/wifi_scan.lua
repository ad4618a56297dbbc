-- wifi_scan.lua: scans the access points of wifi_scan.world.json, then tries to
-- join with an unknown SSID, a wrong password, and the right one, printing the
-- station events as they come.

local function statusName(s)
  local names = { [0] = "WL_IDLE_STATUS", "WL_NO_SSID_AVAIL", "WL_SCAN_COMPLETED", "WL_CONNECTED",
                  "WL_CONNECT_FAILED", "WL_CONNECTION_LOST", "WL_WRONG_PASSWORD", "WL_DISCONNECTED" }
  return names[s] or tostring(s)
end

local function try(ssid, pass)
  WiFi.begin(ssid, pass)
  print(string.format("join %-10s -> %s", ssid, statusName(WiFi.waitForConnectResult(10000))))
end

function setup()
  Serial.begin(115200)
  WiFi.onStationModeConnected(function(e) print("  event: connected to " .. e.ssid .. " on channel " .. e.channel) end)
  WiFi.onStationModeGotIP(function(e) print("  event: got IP " .. e.ip .. " gateway " .. e.gw) end)
  WiFi.onStationModeDisconnected(function(e) print("  event: disconnected from " .. e.ssid .. ", reason " .. e.reason) end)
  WiFi.mode(WIFI_STA)
  local n = WiFi.scanNetworks()
  print(n .. " networks found")
  for i = 0, n - 1 do
    print(string.format("%d: %-10s %4d dBm  channel %2d  %s", i + 1, WiFi.SSID(i), WiFi.RSSI(i), WiFi.channel(i),
                        WiFi.encryptionType(i) == ENC_TYPE_NONE and "open" or "encrypted"))
  end
  try("nowhere", "whatever1")
  try("classroom", "not-the-password")
  try("classroom", "esp8266rocks")
  print("IP " .. WiFi.localIP() .. ", RSSI " .. WiFi.RSSI() .. " dBm, BSSID " .. WiFi.BSSIDstr())
  WiFi.disconnect()
  print("after disconnect: " .. statusName(WiFi.status()))
end

function loop() delay(1000) end
