-- ticker_blink.lua: the core's Ticker example (libraries/Ticker/examples/TickerBasic)
-- in Lua: the LED blinks from a Ticker every 0.3 s; after 20 blinks it blinks faster
-- (0.1 s); after 120 it stops. The callbacks run when loop() yields, as the SDK's timers.
--   esplua run sketches/ticker_blink.lua --time virtual --for 22s

local flipper = Ticker()
local count = 0

local function flip()
  local state = digitalRead(LED_BUILTIN)
  digitalWrite(LED_BUILTIN, state == HIGH and LOW or HIGH)
  count = count + 1
  if count == 20 then
    flipper:attach(0.1, flip)
    Serial.printf("%6d ms: 20 flips, now every 0.1 s\n", millis())
  elseif count == 120 then
    flipper:detach()
    Serial.printf("%6d ms: 120 flips, detached\n", millis())
  end
end

function setup()
  Serial.begin(115200)
  pinMode(LED_BUILTIN, OUTPUT)
  digitalWrite(LED_BUILTIN, LOW)
  flipper:attach(0.3, flip)
  Serial.printf("%6d ms: flipping every 0.3 s\n", millis())
end

function loop()
  delay(5000)
  Serial.printf("%6d ms: %d flips, ticker active: %s\n", millis(), count, tostring(flipper:active()))
end
