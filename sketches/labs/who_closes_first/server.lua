-- server.lua (lab who_closes_first): answers each request; how it ends the
-- connection depends on the path the client asks for.
--   /server-closes  answer, stop() at once: the server's FIN goes first
--   /client-closes  answer, wait for the client's FIN without reading, then
--                   read what is left ("QUIT") and stop(): the server closes second
--   /reads-all      answer and keep reading: when the client's FIN comes nothing
--                   is left unread, and the core answers it with RST
local common = require("common")
local server = WiFiServer(80)

function setup()
  Serial.begin(115200)
  common.join()
  server:begin()
  print("server " .. WiFi.localIP() .. " listening on port 80")
end

function loop()
  local c = server:accept()
  if not c then
    delay(5)
    return
  end
  local request = c:readStringUntil("\n"):gsub("\r", "")
  repeat local line = c:readStringUntil("\n") until line == "\r" or line == ""
  local path = request:match("GET (%S+)") or "?"
  local body = "Hello from the server board!\n"
  c:print("HTTP/1.1 200 OK\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body)
  print(string.format("%6.3f s  server: %s", millis() / 1000, request))
  if path == "/server-closes" then
    c:stop()
    print(string.format("%6.3f s  server: stop() first", millis() / 1000))
  elseif path == "/client-closes" then
    common.waitForClose(c)
    local unread = c:read(c:available())
    print(string.format("%6.3f s  server: the client closed (status %d), %d bytes unread (%s); stop() second",
      millis() / 1000, c:status(), #unread, unread:gsub("\r\n", "")))
    c:stop()
  else
    while c:connected() do
      if c:available() > 0 then c:read(c:available()) else delay(10) end
    end
    print(string.format("%6.3f s  server: the client closed, nothing was unread: status %d", millis() / 1000, c:status()))
  end
  delay(1000)
  common.pcbs("server")
end
