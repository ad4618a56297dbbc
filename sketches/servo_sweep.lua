-- servo_sweep.lua: the classic sweep, in three positions. The Servo library sends
-- a pulse every 20 ms (1000 us = 0 degrees, 2000 us = 180 with the core's
-- defaults); the servo in servo_sweep.wiring.json reads the pulses and turns at
-- 600 degrees a second, so it is still on its way when the sketch reads it back.
local Servo = require("Servo")
local servo = Servo()

function setup()
  Serial.begin(115200)
  print("attach returns " .. servo:attach(D4))
  print("neutral: " .. servo:readMicroseconds() .. " us")
end

local positions = { 0, 90, 180, 45 }
local i = 0
function loop()
  i = i % #positions + 1
  servo:write(positions[i])
  print(string.format("write(%3d): %d us, read() %d", positions[i], servo:readMicroseconds(), servo:read()))
  delay(1000)
end
