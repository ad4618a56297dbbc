-- https_get.lua: the core's BearSSL_MaxFragmentLength example (libraries/ESP8266WiFi/
-- examples/BearSSL_MaxFragmentLength) in Lua: an HTTPS GET with the default buffers, then
-- one with 512-byte buffers after probing the server's MFLN support, each printing the heap
-- it took. The world's api.my-ip.io speaks TLS with a certificate esplua makes at start.
--   esplua run sketches/https_get.lua --time virtual --for 8s

local ssid, pass = "classroom", "esp8266rocks"

local function fetch(client)
  client:write("GET /ip HTTP/1.0\r\nHost: api.my-ip.io\r\nUser-Agent: ESP8266\r\n\r\n")
  client:flush()
  local deadline = millis() + 5000
  repeat
    local tmp = client:read(31)
    yield()
    if not tmp then break end
    if #tmp == 0 then
      delay(10)  -- Give background processes some time
    else
      Serial.print(tmp)
    end
  until millis() >= deadline
  client:stop()
  Serial.printf("\n-------\n")
end

local function fetchNoMaxFragmentLength()
  local ret = ESP.getFreeHeap()
  Serial.printf("\nConnecting to https://api.my-ip.io\n")
  Serial.printf("No MFLN attempted\n")
  local client = WiFiClientSecure()
  client:setInsecure()
  if client:connect("api.my-ip.io", 443) then
    Serial.printf("Memory used: %d\n", ret - ESP.getFreeHeap())
    ret = ret - ESP.getFreeHeap()
    fetch(client)
  else
    Serial.printf("Unable to connect\n")
  end
  return ret
end

local function fetchMaxFragmentLength()
  local ret = ESP.getFreeHeap()
  local client = WiFiClientSecure()
  client:setInsecure()
  local mfln = client:probeMaxFragmentLength("api.my-ip.io", 443, 512)
  Serial.printf("\nConnecting to https://api.my-ip.io\n")
  Serial.printf("MFLN supported: %s\n", mfln and "yes" or "no")
  if mfln then client:setBufferSizes(512, 512) end
  if client:connect("api.my-ip.io", 443) then
    Serial.printf("MFLN status: %s\n", client:getMFLNStatus() and "true" or "false")
    Serial.printf("Memory used: %d\n", ret - ESP.getFreeHeap())
    ret = ret - ESP.getFreeHeap()
    fetch(client)
  else
    Serial.printf("Unable to connect\n")
  end
  return ret
end

function setup()
  Serial.begin(115200)
  delay(1000)
  Serial.println()
  Serial.println()
  Serial.print("Connecting to ")
  Serial.print(ssid)
  WiFi.mode(WIFI_STA)
  WiFi.begin(ssid, pass)
  while WiFi.status() ~= WL_CONNECTED do
    delay(500)
    Serial.print(".")
  end
  Serial.println("")
  Serial.println("WiFi connected")
  Serial.println("IP address: ")
  Serial.println(WiFi.localIP())
end

function loop()
  Serial.printf("\n\n\n\n\n")
  yield()
  Serial.printf("free heap: %d\n", ESP.getFreeHeap())  -- esplua: the heap before ...
  local a = fetchNoMaxFragmentLength()
  yield()
  local b = fetchMaxFragmentLength()
  yield()
  Serial.printf("\n\n")
  Serial.printf("Default SSL:       %d bytes used\n", a)
  Serial.printf("512 byte MFLN SSL: %d bytes used\n", b)
  Serial.printf("free heap: %d\n", ESP.getFreeHeap())  -- ... and after (both objects gone)
  delay(10000)  -- esplua: one round per 10 s, so the transcript stays short
end
