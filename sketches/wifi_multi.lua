-- wifi_multi.lua: the core's WiFiMulti example (libraries/ESP8266WiFi/examples/WiFiMulti)
-- in Lua, line for line: three known networks; wifiMulti:run() scans and joins the one
-- with the strongest signal (wifi_multi.world.json: AP_2 at -48 dBm beats AP_1 at -67;
-- AP_3 is not on the air), then keeps the connection.
--   esplua run sketches/wifi_multi.lua --time virtual --for 12s

local wifiMulti = ESP8266WiFiMulti()

-- WiFi connect timeout per AP. Increase when connecting takes longer.
local connectTimeoutMs = 5000

function setup()
  -- Don't save WiFi configuration in flash - optional
  WiFi.persistent(false)

  Serial.begin(115200)
  Serial.println("\nESP8266 Multi WiFi example")

  -- Set WiFi to station mode
  WiFi.mode(WIFI_STA)

  -- Register multi WiFi networks
  wifiMulti:addAP("ssid_from_AP_1", "your_password_for_AP_1")
  wifiMulti:addAP("ssid_from_AP_2", "your_password_for_AP_2")
  wifiMulti:addAP("ssid_from_AP_3", "your_password_for_AP_3")
  -- More is possible
end

function loop()
  -- Maintain WiFi connection
  if wifiMulti:run(connectTimeoutMs) == WL_CONNECTED then
    Serial.print("WiFi connected: ")
    Serial.print(WiFi.SSID())
    Serial.print(" ")
    Serial.println(WiFi.localIP())
  else
    Serial.println("WiFi not connected!")
  end

  delay(1000)
end
