-- littlefs_log.lua: a data logger that survives reboots. Each boot appends a
-- line to /log/boots.txt in the board's flash (littlefs, as on a real board),
-- lists the file system, and restarts after 2 s; the third boot prints the log.
--   esplua run sketches/littlefs_log.lua --flash board.bin --time virtual --for 8s
-- With --flash the image survives the run too: run it again and the log goes on.
local LittleFS = require("LittleFS")

function setup()
  Serial.begin(115200)
  if not LittleFS.begin() then print("LittleFS mount failed"); return end
  local f = LittleFS.open("/log/boots.txt", "a")
  f:println(string.format("boot at %d ms, reason %s, heap %d", millis(), ESP.getResetReason(), ESP.getFreeHeap()))
  f:close()
  local info = LittleFS.info()
  print(string.format("LittleFS: %d of %d bytes used, blocks of %d", info.usedBytes, info.totalBytes, info.blockSize))
  local d = LittleFS.openDir("/log")
  while d:next() do print("  /log/" .. d:fileName() .. "  " .. d:fileSize() .. " bytes") end
end

local restarted = false
function loop()
  delay(2000)
  local r = LittleFS.open("/log/boots.txt", "r")
  local lines = 0
  while r:available() > 0 do r:readStringUntil("\n"); lines = lines + 1 end
  r:close()
  if lines < 3 then
    print("restarting")
    ESP.restart()
  else
    print("the log after " .. lines .. " boots:")
    print(LittleFS.open("/log/boots.txt", "r"):readString())
    delay(60000)
  end
end
