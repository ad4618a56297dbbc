-- node.lua (lab discovery): finds the other boards of the LAN by UDP broadcast.
-- Each board announces "HELLO <name>" to 255.255.255.255:4210 when it joins and
-- every 5 s; a board that hears a name it does not know adds it and answers
-- "HERE <name>" to the sender alone (unicast), so one that joins late learns the
-- others at once instead of at their next announcement. Each board's sketch
-- names it: require("node").start("alice", 0) (the name, then how many ms to wait
-- before joining).
local M = {}
local NAME, JOIN_AFTER = "?", 0
local PORT = 4210
local udp = WiFiUDP()
local peers, order = {}, {}
local lastAnnounce = -1e9

local function stamp() return string.format("%6.3f s  %s", millis() / 1000, NAME) end

local function send(ip, text)
  udp:beginPacket(ip, PORT)
  udp:write(text)
  udp:endPacket()
end

local function list()
  local t = {}
  for _, name in ipairs(order) do t[#t + 1] = name .. "=" .. peers[name] end
  return #t > 0 and table.concat(t, " ") or "nobody"
end

function M.start(name, joinAfter)
  NAME, JOIN_AFTER = name, joinAfter
end

function setup()
  Serial.begin(115200)
  delay(JOIN_AFTER)
  WiFi.begin("lab", "password123")
  while WiFi.status() ~= WL_CONNECTED do delay(100) end
  udp:begin(PORT)
  print(string.format("%s: joined as %s", stamp(), WiFi.localIP()))
end

function loop()
  if millis() - lastAnnounce >= 5000 then
    lastAnnounce = millis()
    send("255.255.255.255", "HELLO " .. NAME)
    print(string.format("%s: HELLO to everyone; I know %s", stamp(), list()))
  end
  local n = udp:parsePacket()
  while n > 0 do
    local kind, name = udp:read(n):match("^(%u+) (%S+)$")
    local ip = udp:remoteIP()
    if name and name ~= NAME and not peers[name] then
      peers[name] = ip
      order[#order + 1] = name
      print(string.format("%s: heard %s %s from %s (to %s)", stamp(), kind, name, ip, udp:destinationIP()))
      if kind == "HELLO" then send(ip, "HERE " .. NAME) end
    end
    n = udp:parsePacket()
  end
  delay(20)
end

return M
