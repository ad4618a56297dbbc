-- hello_server.lua: joins WiFi, then answers every HTTP request with a fixed
-- page and closes the connection with client:stop() (FIN; the board's side
-- ends in TIME_WAIT, at most 5 of them in core 3.x).
--   esplua run sketches/hello_server.lua --forward 8080:80
--   curl http://127.0.0.1:8080/

local server = WiFiServer(80)
local served = 0

function setup()
  Serial.begin(115200)
  WiFi.begin("esplua-net", "password123")
  Serial.print("connecting")
  while WiFi.status() ~= WL_CONNECTED do
    delay(250)
    Serial.print(".")
  end
  Serial.println()
  Serial.println("connected, IP " .. WiFi.localIP())
  server:begin()
  Serial.println("HTTP server on port 80, free heap " .. ESP.getFreeHeap())
end

function loop()
  local client = server:accept()
  if not client then return end
  -- read the request up to the blank line that ends its headers
  local requestLine = client:readStringUntil("\n")
  while client:connected() do
    local line = client:readStringUntil("\n")
    if line == "\r" or line == "" then break end
  end
  local body = "Hello from esplua!\n"
  client:print("HTTP/1.1 200 OK\r\n" ..
               "Content-Type: text/plain\r\n" ..
               "Content-Length: " .. #body .. "\r\n" ..
               "Connection: close\r\n\r\n" .. body)
  client:stop()
  served = served + 1
  Serial.println(string.format("#%d %s -> 200, free heap %d", served,
                               requestLine:gsub("\r", ""), ESP.getFreeHeap()))
end
