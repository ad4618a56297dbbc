-- deep_sleep_counter.lua: a counter that survives deep sleep in the RTC's user memory
-- (ESP.rtcUserMemoryRead/Write, offsets in 4-byte blocks, Esp.cpp:140-192). Each boot
-- counts, prints why it started, and sleeps 10 s; GPIO16 wakes the chip through its
-- reset pin, so each wake is a new boot ("Deep-Sleep Wake", the ROM's boot lines).
-- At power-on the RTC memory holds garbage: the magic word tells a real count from it.
--   esplua run sketches/deep_sleep_counter.lua --time virtual --for 60s

local MAGIC = 0x45535031 -- "ESP1"
local WAKES = 5

function setup()
  Serial.begin(115200)
  Serial.println()
  local reason = ESP.getResetReason()
  local magic, count = string.unpack("<I4I4", ESP.rtcUserMemoryRead(0, 8))
  if magic ~= MAGIC then
    Serial.printf("RTC memory holds no count (magic %08X): starting at 0\n", magic)
    count = 0
  end
  count = count + 1
  ESP.rtcUserMemoryWrite(0, string.pack("<I4I4", MAGIC, count))
  Serial.printf("boot %d at %d ms, reset reason: %s\n", count, millis(), reason)
  if count < WAKES then
    Serial.println("going to deep sleep for 10 s")
    ESP.deepSleep(10 * 1000000)
  end
  Serial.printf("%d boots counted; staying awake\n", count)
end

function loop()
  delay(1000)
end
