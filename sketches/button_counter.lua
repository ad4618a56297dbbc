-- button_counter.lua: an interrupt counts a button's presses while loop() is busy
-- computing, and a buzzer beeps once for each new count (tone).
-- button_counter.wiring.json puts a button on D3 (GPIO0: pressed pulls it LOW, so
-- INPUT_PULLUP) that a schedule presses, with a bouncing contact, and a buzzer on D5.
local BUTTON, BUZZER = D3, D5
local presses, lastChange = 0, 0

-- The handler runs between two Lua instructions, as an ISR interrupts code: keep it
-- short, no delay() or yield() (yield panics, as on the board). A fall after 20 ms of
-- quiet is a press; the contact's bounce (edges within microseconds) is not.
local function onChange()
  local now = millis()
  if digitalRead(BUTTON) == LOW and now - lastChange > 20 then presses = presses + 1 end
  lastChange = now
end

function setup()
  Serial.begin(115200)
  pinMode(BUTTON, INPUT_PULLUP)
  attachInterrupt(digitalPinToInterrupt(BUTTON), onChange, CHANGE)
  print("counting presses on D3")
end

local reported = 0
function loop()
  -- busy for about 0.2 s of board time: no delay, no yield; the interrupt still counts
  local primes = 0
  for n = 2, 50000 do
    local prime = true
    for d = 2, math.floor(math.sqrt(n)) do
      if n % d == 0 then prime = false; break end
    end
    if prime then primes = primes + 1 end
  end
  noInterrupts(); local count = presses; interrupts()   -- read what the handler shares
  if count ~= reported then
    print(string.format("%5d ms: %d presses (%d primes below 50000)", millis(), count, primes))
    tone(BUZZER, 880, 100)                               -- a 100 ms beep at 880 Hz
    reported = count
  end
  delay(100)
end
