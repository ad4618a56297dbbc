-- mdns_webserver.lua: the core's mDNS_Web_Server, line for line
-- (libraries/ESP8266mDNS/examples/mDNS_Web_Server/mDNS_Web_Server.ino, core 3.1.2):
-- an HTTP server on a WiFiServer, reachable as http://esp8266.local thanks to the
-- mDNS responder (MDNS answers "esp8266.local" and "_http._tcp.local" on the board's
-- link; a VDE lab's other boards or a TAP peer see it, slirp's NAT does not route mDNS).
--   esplua run sketches/mdns_webserver.lua --forward 8080:80
--   curl http://127.0.0.1:8080/

local ssid = "your-ssid"
local password = "your-password"

-- TCP server at port 80 will respond to HTTP requests
local server = WiFiServer(80)

function setup()
  Serial.begin(115200)

  -- Connect to WiFi network
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

  -- Set up mDNS responder:
  -- - first argument is the domain name, in this example
  --   the fully-qualified domain name is "esp8266.local"
  -- - second argument is the IP address to advertise
  --   we send our IP address on the WiFi network
  if not MDNS.begin("esp8266") then
    Serial.println("Error setting up MDNS responder!")
    while true do delay(1000) end
  end
  Serial.println("mDNS responder started")

  -- Start TCP (HTTP) server
  server:begin()
  Serial.println("TCP server started")

  -- Add service to MDNS-SD
  MDNS.addService("http", "tcp", 80)
end

function loop()

  MDNS.update()

  -- Check if a client has connected
  local client = server:accept()
  if not client then return end
  Serial.println("")
  Serial.println("New client")

  -- Wait for data from client to become available
  while client:connected() and client:available() == 0 do delay(1) end

  -- Read the first line of HTTP request
  local req = client:readStringUntil("\r")

  -- First line of HTTP request looks like "GET /path HTTP/1.1"
  -- Retrieve the "/path" part by finding the spaces
  local addr_start = req:find(" ", 1, true)
  local addr_end = addr_start and req:find(" ", addr_start + 1, true)
  if not addr_start or not addr_end then
    Serial.print("Invalid request: ")
    Serial.println(req)
    return
  end
  req = req:sub(addr_start + 1, addr_end - 1)
  Serial.print("Request: ")
  Serial.println(req)
  client:flush()

  local s
  if req == "/" then
    local ipStr = WiFi.localIP()
    s = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<!DOCTYPE HTML>\r\n<html>Hello from ESP8266 at "
    s = s .. ipStr
    s = s .. "</html>\r\n\r\n"
    Serial.println("Sending 200")
  else
    s = "HTTP/1.1 404 Not Found\r\n\r\n"
    Serial.println("Sending 404")
  end
  client:print(s)

  Serial.println("Done with client")
end
