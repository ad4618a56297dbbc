-- client.lua (lab who_closes_first): fetches from the server board three ways,
-- then shows its connection table a second after each.
local common = require("common")

local function fetch(path)
  local c = WiFiClient()
  if not c:connect("server", 80) then
    print("no connection to server")
    return nil
  end
  c:print("GET " .. path .. " HTTP/1.1\r\nHost: server\r\n\r\n")
  return c
end

local function round(path)
  local c = fetch(path)
  if not c then return end
  print(string.format("%6.3f s  client: GET %s from port %d", millis() / 1000, path, c:localPort()))
  if path == "/server-closes" then
    -- the server closes first: wait for its FIN, then read the page and stop()
    common.waitForClose(c)
    local page = c:read(c:available())
    print(string.format("%6.3f s  client: the server closed (status %d), %d bytes unread; stop() second",
      millis() / 1000, c:status(), #page))
    c:stop()
  else
    -- read the page (its Content-Length), say QUIT and stop() first
    local page = ""
    while not page:find("\r\n\r\n.*\n$") do
      if c:available() > 0 then page = page .. c:read(c:available()) else delay(1) end
    end
    c:print("QUIT\r\n")
    c:stop()
    print(string.format("%6.3f s  client: read %d bytes, QUIT, stop() first", millis() / 1000, #page))
  end
  delay(1000)
  common.pcbs("client")
end

function setup()
  Serial.begin(115200)
  common.join()
  print("client " .. WiFi.localIP() .. ", server is " .. WiFi.hostByName("server"))
  delay(1000)
  round("/server-closes")
  delay(1000)
  round("/client-closes")
  delay(1000)
  round("/reads-all")
end

function loop() delay(1000) end
