-- common.lua: the board's TCP connections (not the listeners), one line each,
-- as the connection table (lwip.pcbs()) has them.
local M = {}

function M.pcbs(who)
  local rows = {}
  for _, p in ipairs(lwip.pcbs()) do
    if p.state ~= "LISTEN" then
      local row = string.format("%s:%d - %s:%d %s", p.localIP, p.localPort, p.remoteIP, p.remotePort, p.state)
      if p.state == "TIME_WAIT" then row = row .. string.format(" (%d s left)", p.timeWaitMs // 1000) end
      rows[#rows + 1] = row
    end
  end
  if #rows == 0 then rows[1] = "none" end
  print(string.format("%6.3f s  %s pcbs: %s", millis() / 1000, who, table.concat(rows, ", ")))
end

-- waits while the connection is ESTABLISHED (the other side has not closed), without reading
function M.waitForClose(c)
  while c:status() == 4 do delay(10) end
end

function M.join()
  WiFi.begin("lab", "password123")
  while WiFi.status() ~= WL_CONNECTED do delay(100) end
end

return M
