-- udp_echo.lua: the UDP echo of Espressif's RTOS SDK guide, on port 1200.
-- Every datagram is sent back to where it came from. The core's UdpContext
-- keeps unread datagrams in one chain of at most 8 pbufs: the first datagram,
-- then a helper pbuf with the addresses and the data for each next one, so 5
-- wait; a burst of 6 while the sketch is busy loses 1.
--   esplua run sketches/udp_echo.lua --forward udp:5000:1200
--   echo hello | nc -u -w1 127.0.0.1 5000

local udp = WiFiUDP()
local echoed = 0

function setup()
  Serial.begin(115200)
  WiFi.mode(WIFI_STA)
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(100) end
  udp:begin(1200)
  print("UDP echo on " .. WiFi.localIP() .. ":1200, free heap " .. ESP.getFreeHeap())
end

function loop()
  local size = udp:parsePacket()
  if size > 0 then
    local data = udp:read(size)
    udp:beginPacket(udp:remoteIP(), udp:remotePort())
    udp:write(data)
    udp:endPacket()
    echoed = echoed + 1
    print(string.format("#%d: %d bytes from %s: %q", echoed, size, udp:remoteIP(), data))
  end
  if millis() >= 8000 and millis() < 8010 then
    print("busy for a second (a burst of 6 arrives meanwhile)")
    delayMicroseconds(1000000)   -- a busy wait: nothing is read, the queue fills
  end
end
