-- http_get.lua: the core's BasicHttpClient example (libraries/ESP8266HTTPClient/
-- examples/BasicHttpClient) in Lua: a GET every 10 s from the world's web service,
-- with the free heap before, while the page is held, and after end().
--   esplua run sketches/http_get.lua --time virtual --for 35s

function setup()
  Serial.begin(115200)
  WiFi.mode(WIFI_STA)
  WiFi.begin("classroom", "esp8266rocks")
  while WiFi.status() ~= WL_CONNECTED do delay(500) end
end

function loop()
  local client = WiFiClient()
  local http = HTTPClient()
  Serial.print("[HTTP] begin...\n")
  local before = ESP.getFreeHeap()
  if http:begin(client, "http://api.world/hello.txt") then
    Serial.print("[HTTP] GET...\n")
    local httpCode = http:GET()
    if httpCode > 0 then
      Serial.printf("[HTTP] GET... code: %d\n", httpCode)
      if httpCode == HTTP_CODE_OK or httpCode == HTTP_CODE_MOVED_PERMANENTLY then
        local payload = http:getString()
        Serial.println(payload)
        Serial.printf("heap: %d before, %d with the page\n", before, ESP.getFreeHeap())
      end
    else
      Serial.printf("[HTTP] GET... failed, error: %s\n", http:errorToString(httpCode))
    end
    http:end_()
    Serial.printf("heap after end(): %d\n", ESP.getFreeHeap())
  else
    Serial.print("[HTTP] Unable to connect\n")
  end
  delay(10000)
end
