-- ap.lua (lab softap_cell): a board that opens its own network (WiFi.softAP) and
-- serves HTTP on it; with each request and every 2 s it says how many stations
-- joined. At 8 s it closes its network (softAPdisconnect) for 8 s, then opens it again.
local server = WiFiServer(80)
local last = 0
local closed = false

function setup()
  Serial.begin(115200)
  print("softAP: " .. tostring(WiFi.softAP("esplua-cell", "cellpass123", 6)))
  print("AP " .. WiFi.softAPSSID() .. " at " .. WiFi.softAPIP() .. ", BSSID " .. WiFi.softAPmacAddress())
  server:begin()
end

function loop()
  local c = server:accept()
  if c then
    local request = c:readStringUntil("\n"):gsub("\r", "")
    repeat local line = c:readStringUntil("\n") until line == "\r" or line == ""
    local from = c:remoteIP()
    local body = "Hello from the soft-AP, you are " .. from .. "\n"
    c:print("HTTP/1.0 200 OK\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body)
    c:stop()
    print(string.format("%6.3f s  %s from %s, stations: %d", millis() / 1000, request, from, WiFi.softAPgetStationNum()))
  end
  if not closed and millis() >= 8000 and millis() < 16000 then
    closed = true
    WiFi.softAPdisconnect()
    print(string.format("%6.3f s  softAPdisconnect(): the cell is gone", millis() / 1000))
  elseif closed and millis() >= 16000 then
    closed = false
    print(string.format("%6.3f s  softAP again: %s", millis() / 1000, tostring(WiFi.softAP("esplua-cell", "cellpass123", 6))))
  end
  if millis() - last >= 2000 then
    last = millis()
    print(string.format("%6.3f s  stations: %d", millis() / 1000, WiFi.softAPgetStationNum()))
  end
  delay(5)
end
