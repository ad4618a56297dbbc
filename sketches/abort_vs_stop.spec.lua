-- abort_vs_stop.spec.lua: the four endings of abort_vs_stop.lua, on the wire and in
-- the connection table (its visitors come from abort_vs_stop.world.json).
--   esplua test sketches/abort_vs_stop.spec.lua

-- what the board sent from `port`: "FIN", "RST", both or neither
local function endings(b, port)
  local fin, rst = false, false
  for _, s in ipairs(b:frames{ dir = ">", sport = port }) do
    if s.flags:find("F") then fin = true end
    if s.flags:find("R") then rst = true end
  end
  return (fin and "FIN" or "") .. (rst and "RST" or "")
end

describe("abort_vs_stop", function()
  local b

  before_each(function()
    b = board{ sketch = "abort_vs_stop.lua" }
    b:waitSerial("ready at", "10s")
    b:waitSerial("port 83:", "10s")
    b:run("1s")
  end)

  it("stop() ends with a FIN and a TIME_WAIT pcb on the board", function()
    assert.are.equal("FIN", endings(b, 80))
    assert.are.equal(1, #b:pcbs{ localPort = 80, state = "TIME_WAIT" })
  end)

  it("abort() ends with an RST and leaves no pcb", function()
    assert.are.equal("RST", endings(b, 81))
    assert.are.equal(0, #b:pcbs{ localPort = 81, state = "TIME_WAIT" })
  end)

  it("a peer FIN with nothing unread is answered with an RST", function()
    assert.are.equal("RST", endings(b, 82))
  end)

  it("a peer FIN with bytes unread leaves CLOSE_WAIT, then stop() sends a FIN", function()
    assert.matches("after its FIN, status 0, available 5 pcb: CLOSE_WAIT", b:serial())
    assert.matches("connected%(%) false, available%(%) 5", b:serial())
    assert.are.equal("FIN", endings(b, 83))
  end)
end)
