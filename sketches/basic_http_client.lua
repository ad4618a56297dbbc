-- basic_http_client.lua: the core's BasicHttpClient, line for line
-- (libraries/ESP8266HTTPClient/examples/BasicHttpClient/BasicHttpClient.ino, core 3.1.2),
-- against the world's web service instead of jigsaw.w3.org.
--   esplua run sketches/basic_http_client.lua --time virtual --for 30s

local WiFiMulti = ESP8266WiFiMulti()

function setup()

  Serial.begin(115200)
  -- Serial.setDebugOutput(true)

  Serial.println()
  Serial.println()
  Serial.println()

  for t = 4, 1, -1 do
    Serial.printf("[SETUP] WAIT %d...\n", t)
    Serial.flush()
    delay(1000)
  end

  WiFi.mode(WIFI_STA)
  WiFiMulti:addAP("SSID", "PASSWORD")
end

function loop()
  -- wait for WiFi connection
  if WiFiMulti:run() == WL_CONNECTED then

    local client = WiFiClient()

    local http = HTTPClient()

    Serial.print("[HTTP] begin...\n")
    if http:begin(client, "http://jigsaw.world/HTTP/connection.html") then  -- HTTP


      Serial.print("[HTTP] GET...\n")
      -- start connection and send HTTP header
      local httpCode = http:GET()

      -- httpCode will be negative on error
      if httpCode > 0 then
        -- HTTP header has been send and Server response header has been handled
        Serial.printf("[HTTP] GET... code: %d\n", httpCode)

        -- file found at server
        if httpCode == HTTP_CODE_OK or httpCode == HTTP_CODE_MOVED_PERMANENTLY then
          local payload = http:getString()
          Serial.println(payload)
        end
      else
        Serial.printf("[HTTP] GET... failed, error: %s\n", http:errorToString(httpCode))
      end

      http:end_()
    else
      Serial.println("[HTTP] Unable to connect")
    end
  end

  delay(10000)
end
