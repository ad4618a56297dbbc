-- blink.spec.lua: blink.lua toggles the built-in LED (GPIO2, active LOW) every 500 ms.
--   esplua test sketches/blink.spec.lua

describe("blink", function()
  it("toggles GPIO2 every 500 ms", function()
    local b = board{ sketch = "blink.lua" }
    b:waitSerial("LED on", "1s")
    b:run("250ms")                         -- look between two toggles
    assert.are.equal(0, b:pin(2))          -- on: LOW on a NodeMCU
    local levels = {}
    for i = 1, 4 do
      b:run("500ms")
      levels[i] = b:pin(2)
    end
    assert.are.same({ 1, 0, 1, 0 }, levels)
  end)

  it("prints the time of each toggle, 500 ms apart", function()
    local b = board{ sketch = "blink.lua" }
    b:run("2.5s")
    local times = {}
    for ms in b:serial():gmatch("(%d+) ms") do times[#times + 1] = tonumber(ms) end
    assert.are.equal(5, #times)
    for i = 2, #times do assert.are.equal(500, times[i] - times[i - 1]) end
    assert.are.equal(0, #b:resets())
  end)
end)
