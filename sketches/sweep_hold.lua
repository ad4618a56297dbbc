-- sweep_hold.lua: the Servo library's Sweep (0 to 180 degrees and back, a degree
-- every 15 ms) with a button that holds the arm where it is while it is pressed, and
-- a buzzer that sounds while it is held. sweep_hold.wiring.json: the servo on D4
-- (GPIO2), the button on D3 (GPIO0: pressed, it pulls the pin LOW, so INPUT_PULLUP),
-- the buzzer on D5 (GPIO14). With `--ui` the page draws the arm as it turns; hold
-- the page's button and it stops.
local Servo = require("Servo")
local SERVO, BUTTON, BUZZER = D4, D3, D5
local servo = Servo()
local pos, step, held = 0, 1, false

function setup()
  Serial.begin(115200)
  pinMode(BUTTON, INPUT_PULLUP)
  servo:attach(SERVO)
  print("sweeping; hold the button to stop the arm")
end

function loop()
  local pressed = digitalRead(BUTTON) == LOW
  if pressed ~= held then
    held = pressed
    if held then
      tone(BUZZER, 440)
      print(string.format("%5d ms: held at %d degrees", millis(), servo:read()))
    else
      noTone(BUZZER)
      print(string.format("%5d ms: let go, sweeping on", millis()))
    end
  end
  if not held then
    servo:write(pos)
    if pos + step > 180 or pos + step < 0 then step = -step end
    pos = pos + step
  end
  delay(15)
end
