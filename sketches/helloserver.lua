-- helloserver.lua: the core's HelloServer, line for line
-- (libraries/ESP8266WebServer/examples/HelloServer/HelloServer.ino, core 3.1.2).
-- Its three server.addHook examples (l.99-157) are left out: esplua's
-- ESP8266WebServer has no hooks.
--   esplua run sketches/helloserver.lua --forward 8080:80
--   curl http://127.0.0.1:8080/   /inline   /gif   /chunks   /nowhere?x=1

local ssid = "your-ssid"
local password = "your-password"

local server = ESP8266WebServer(80)

local bigChunk

local led = 13

local function handleRoot()
  digitalWrite(led, 1)
  server:send(200, "text/plain", "hello from esp8266!\r\n")
  digitalWrite(led, 0)
end

local function handleNotFound()
  digitalWrite(led, 1)
  local message = "File Not Found\n\n"
  message = message .. "URI: "
  message = message .. server:uri()
  message = message .. "\nMethod: "
  message = message .. ((server:method() == HTTP_GET) and "GET" or "POST")
  message = message .. "\nArguments: "
  message = message .. server:args()
  message = message .. "\n"
  for i = 0, server:args() - 1 do message = message .. " " .. server:argName(i) .. ": " .. server:arg(i) .. "\n" end
  server:send(404, "text/plain", message)
  digitalWrite(led, 0)
end

local function handleChunked()
  server:chunkedResponseModeStart(200, "text/html")

  server:sendContent(bigChunk)
  server:sendContent("chunk 2")
  server:sendContent(bigChunk)

  server:chunkedResponseFinalize()
end

function setup()
  pinMode(led, OUTPUT)
  digitalWrite(led, 0)
  Serial.begin(115200)
  WiFi.mode(WIFI_STA)
  WiFi.begin(ssid, password)
  Serial.println("")

  -- Wait for connection
  while WiFi.status() ~= WL_CONNECTED do
    delay(500)
    Serial.print(".")
  end
  Serial.println("")
  Serial.print("Connected to ")
  Serial.println(ssid)
  Serial.print("IP address: ")
  Serial.println(WiFi.localIP())

  if MDNS.begin("esp8266") then Serial.println("MDNS responder started") end

  server:on("/", handleRoot)

  server:on("/inline", function()
    server:send(200, "text/plain", "this works as well")
  end)

  server:on("/gif", function()
    local gif = {
      0x47, 0x49, 0x46, 0x38, 0x37, 0x61, 0x10, 0x00, 0x10, 0x00, 0x80, 0x01,
      0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x2c, 0x00, 0x00, 0x00, 0x00,
      0x10, 0x00, 0x10, 0x00, 0x00, 0x02, 0x19, 0x8c, 0x8f, 0xa9, 0xcb, 0x9d,
      0x00, 0x5f, 0x74, 0xb4, 0x56, 0xb0, 0xb0, 0xd2, 0xf2, 0x35, 0x1e, 0x4c,
      0x0c, 0x24, 0x5a, 0xe6, 0x89, 0xa6, 0x4d, 0x01, 0x00, 0x3b
    }
    local gif_colored = gif
    -- Set the background to a random set of colors (C's gif_colored[16..18]: Lua counts from 1)
    gif_colored[17] = millis() % 256
    gif_colored[18] = millis() % 256
    gif_colored[19] = millis() % 256
    server:send(200, "image/gif", string.char(table.unpack(gif_colored)))
  end)

  server:on("/chunks", handleChunked)

  server:onNotFound(handleNotFound)

  -- prepare chunk in ram for sending
  local chunkLen = 4000  -- ~4KB chunk
  bigChunk = "chunk of len "
  bigChunk = bigChunk .. chunkLen
  local piece = "-blah"
  while #bigChunk < chunkLen - #piece do
    bigChunk = bigChunk .. piece
  end

  server:begin()
  Serial.println("HTTP server started")
end

function loop()
  server:handleClient()
  MDNS.update()
end
