-- blink.lua: the built-in LED (GPIO2, active LOW on a NodeMCU) toggles every
-- 500 ms and the board prints the time it did so.

local on = false

function setup()
  Serial.begin(115200)
  pinMode(LED_BUILTIN, OUTPUT)
  Serial.println("blink: reset reason " .. ESP.getResetReason())
end

function loop()
  on = not on
  digitalWrite(LED_BUILTIN, on and LOW or HIGH)
  Serial.println(string.format("%6d ms  LED %s", millis(), on and "on" or "off"))
  delay(500)
end
