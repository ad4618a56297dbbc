-- webserver.lua: the core's HelloServer example (libraries/ESP8266WebServer/
-- examples/HelloServer) in Lua, with a form, a chunked page and a password.
--   esplua run sketches/webserver.lua --forward 8080:80
--   curl http://127.0.0.1:8080/               curl 'http://127.0.0.1:8080/hello?name=Ada'
--   curl -d 'name=Bob' http://127.0.0.1:8080/hello   curl http://127.0.0.1:8080/nowhere
--   curl -u admin:esp8266 http://127.0.0.1:8080/secret   curl http://127.0.0.1:8080/count

local server = ESP8266WebServer(80)

local function handleRoot()
  digitalWrite(LED_BUILTIN, LOW)
  server:send(200, "text/plain", "hello from esp8266!\r\n")
  digitalWrite(LED_BUILTIN, HIGH)
end

local function handleHello()
  local name = server:hasArg("name") and server:arg("name") or "stranger"
  server:send(200, "text/html",
    "<form method='POST' action='/hello'><input name='name'><input type='submit'></form>" ..
    "<p>Hello, " .. name .. "!</p>\n")
end

-- HelloServer.ino's handleNotFound: the URI, the method and every argument
local function handleNotFound()
  digitalWrite(LED_BUILTIN, LOW)
  local message = "File Not Found\n\n"
  message = message .. "URI: " .. server:uri()
  message = message .. "\nMethod: " .. (server:method() == HTTP_GET and "GET" or "POST")
  message = message .. "\nArguments: " .. server:args() .. "\n"
  for i = 0, server:args() - 1 do
    message = message .. " " .. server:argName(i) .. ": " .. server:arg(i) .. "\n"
  end
  server:send(404, "text/plain", message)
  digitalWrite(LED_BUILTIN, HIGH)
end

function setup()
  pinMode(LED_BUILTIN, OUTPUT)
  digitalWrite(LED_BUILTIN, HIGH)
  Serial.begin(115200)
  WiFi.mode(WIFI_STA)
  WiFi.begin("esplua-net", "password123")
  while WiFi.status() ~= WL_CONNECTED do delay(500) end
  Serial.println("Connected, IP address: " .. WiFi.localIP())

  server:on("/", handleRoot)
  server:on("/hello", handleHello)
  server:on("/inline", function() server:send(200, "text/plain", "this works as well") end)
  -- a page of unknown length: HTTP/1.1 gets it chunked
  server:on("/count", HTTP_GET, function()
    server:setContentLength(CONTENT_LENGTH_UNKNOWN)
    server:send(200, "text/plain", "")
    for i = 1, 5 do server:sendContent("line " .. i .. "\n") end
  end)
  server:on("/secret", function()
    if not server:authenticate("admin", "esp8266") then return server:requestAuthentication() end
    server:send(200, "text/plain", "the secret is 42\n")
  end)
  server:onNotFound(handleNotFound)
  server:begin()
  Serial.println("HTTP server started, free heap " .. ESP.getFreeHeap())
end

local served = 0
function loop()
  server:handleClient()
end
