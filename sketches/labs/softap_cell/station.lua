-- station.lua (lab softap_cell): scans, tries a wrong password, then joins the
-- soft-AP of the board "ap" and fetches its page, then broadcasts in the cell;
-- when the soft-AP goes away it looks for it again, and joins it when it is back.
local udp = WiFiUDP()
local function stamp() return string.format("%6.3f s ", millis() / 1000) end

function setup()
  Serial.begin(115200)
  WiFi.onStationModeDisconnected(function(e) print(stamp() .. " disconnected from " .. e.ssid .. ", reason " .. e.reason .. ", WiFi.status() " .. WiFi.status()) end)
  WiFi.onStationModeConnected(function(e) print(stamp() .. " connected to " .. e.ssid .. ", WiFi.status() " .. WiFi.status()) end)
  WiFi.onStationModeGotIP(function(e) print(stamp() .. " got IP " .. e.ip .. " mask " .. e.mask .. " gateway " .. e.gw) end)
  local n = WiFi.scanNetworks()
  for i = 0, n - 1 do
    print(string.format("%s scan: %s channel %d RSSI %d encryption %d BSSID %s", stamp(), WiFi.SSID(i), WiFi.channel(i),
      WiFi.RSSI(i), WiFi.encryptionType(i), WiFi.BSSIDstr(i)))
  end
  WiFi.begin("esplua-cell", "not-the-password")
  local status = WiFi.waitForConnectResult(10000)
  print(stamp() .. " wrong password: status " .. status)
  WiFi.begin("esplua-cell", "cellpass123")
  status = WiFi.waitForConnectResult(10000)
  print(stamp() .. " right password: status " .. status .. ", IP " .. WiFi.localIP() .. ", BSSID " .. WiFi.BSSIDstr())
  local c = WiFiClient()
  if c:connect(WiFi.gatewayIP(), 80) then
    c:print("GET /from-" .. WiFi.localIP() .. " HTTP/1.0\r\n\r\n")
    local page = ""
    while c:connected() or c:available() > 0 do
      if c:available() > 0 then page = page .. c:read(c:available()) else delay(1) end
    end
    print(stamp() .. " " .. (page:match("Hello[^\n]*") or "nothing"))
    c:stop()
  else
    print(stamp() .. " no connection to " .. WiFi.gatewayIP())
  end
  -- a broadcast in the cell: the soft-AP relays it to its stations, never to the lab's LAN
  udp:begin(4210)
  udp:beginPacket("255.255.255.255", 4210)
  udp:write("hello from " .. WiFi.localIP())
  udp:endPacket()
end

function loop()
  local n = udp:parsePacket()
  while n > 0 do
    print(stamp() .. " heard " .. udp:read(n) .. " from " .. udp:remoteIP())
    n = udp:parsePacket()
  end
  delay(100)
end
