-- lan.lua (lab softap_cell): a board on the lab's LAN (10.0.2.x), not in the
-- cell: it broadcasts on port 4210 every 2 s too; the stations of the cell never
-- hear it, and it hears nothing of the cell's.
local udp = WiFiUDP()
local function stamp() return string.format("%6.3f s ", millis() / 1000) end

function setup()
  Serial.begin(115200)
  WiFi.begin("lab", "password123")
  while WiFi.status() ~= WL_CONNECTED do delay(100) end
  udp:begin(4210)
  print(stamp() .. " on the LAN as " .. WiFi.localIP())
end

local last = -1e9
function loop()
  if millis() - last >= 2000 then
    last = millis()
    udp:beginPacket("255.255.255.255", 4210)
    udp:write("hello from " .. WiFi.localIP())
    udp:endPacket()
  end
  local n = udp:parsePacket()
  while n > 0 do
    print(stamp() .. " heard " .. udp:read(n) .. " from " .. udp:remoteIP())
    n = udp:parsePacket()
  end
  delay(100)
end
