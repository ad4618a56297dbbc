-- tcp_client.lua: the board as a TCP client. It looks up a name through DNS,
-- connects to an echo service, sends a line and reads it back, then stop()s:
-- the board closed first, so its pcb waits in TIME_WAIT. Then two failures the
-- core reports as false: a refused port (an RST at once) and an address no one
-- has (ARP gets no answer, so the SYN never leaves; connect gives up at its 5 s timeout).
-- The echo service and its name come from tcp_client.world.json.

local round = 0

function setup()
  Serial.begin(115200)
  WiFi.mode(WIFI_STA)
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(100) end
  print("connected as " .. WiFi.localIP() .. ", DNS server " .. WiFi.dnsIP())
  print("echo.world is at " .. tostring(WiFi.hostByName("echo.world")))
  print("no.such.host.invalid is at " .. tostring(WiFi.hostByName("no.such.host.invalid")))
end

function loop()
  round = round + 1
  if round <= 3 then
    local client = WiFiClient()
    if client:connect("echo.world", 7) then
      client:println("hello #" .. round)
      local echo = client:readStringUntil("\n"):gsub("\r$", "")
      print(string.format("round %d: echo %q, status %d, free heap %d", round, echo, client:status(), ESP.getFreeHeap()))
      client:stop()
    else
      print("round " .. round .. ": connect failed")
    end
  elseif round == 4 then
    local client = WiFiClient()
    local t = millis()
    local ok = client:connect("10.0.2.2", 1)
    print(string.format("port 1 on the host: %s after %d ms", tostring(ok), millis() - t))
    t = millis()
    ok = client:connect("10.0.2.99", 80)
    print(string.format("10.0.2.99:80: %s after %d ms", tostring(ok), millis() - t))
    local tw = 0
    for _, pcb in ipairs(lwip.pcbs()) do if pcb.state == "TIME_WAIT" then tw = tw + 1 end end
    print("TIME_WAIT pcbs left by the three stop()s: " .. tw)
  end
  delay(1000)
end
