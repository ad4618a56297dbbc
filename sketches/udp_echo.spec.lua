-- udp_echo.spec.lua: udp_echo.lua echoes each datagram to its sender, and keeps at
-- most 5 unread datagrams while it is busy (the core's UdpContext: a chain of at
-- most rxBufMaxDepth * 2 = 8 pbufs, the first datagram without an address pbuf).
--   esplua test sketches/udp_echo.spec.lua

describe("udp_echo", function()
  local b

  before_each(function()
    -- the classroom network without the lesson's visitors: this spec is the only peer
    b = board{ sketch = "udp_echo.lua", world = {
      accessPoints = { { ssid = "classroom", password = "esp8266rocks", channel = 6, rssi = -52 } },
    } }
    b:waitSerial("UDP echo on", "10s")
  end)

  it("sends every datagram back", function()
    local u = b:udp(1200)
    u:send("hello")
    assert.are.equal("hello", u:receive("1s"))
    u:send("again")
    assert.are.equal("again", u:receive("1s"))
  end)

  it("keeps at most 5 datagrams while the sketch is busy", function()
    local u = b:udp(1200)
    -- the spec goes on when the board looks at its network again: after the busy second
    b:waitSerial("busy for a second", "10s")
    for i = 1, 6 do u:send("burst " .. i) end
    local echoed = {}
    while true do
      local d = u:receive("2s")
      if not d then break end
      echoed[#echoed + 1] = d
    end
    assert.are.same({ "burst 1", "burst 2", "burst 3", "burst 4", "burst 5" }, echoed)
  end)
end)
