-- timewait_heap.spec.lua: what timewait_heap.lua teaches, checked against the board's
-- own heap and connection table (its visitors come from timewait_heap.world.json).
--   esplua test sketches/timewait_heap.spec.lua

describe("timewait_heap", function()
  local b, baseline

  before_each(function()
    b = board{ sketch = "timewait_heap.lua" }
    local line = b:waitSerial("listening on", "10s")
    baseline = tonumber(line:match("free heap (%d+)"))
  end)

  -- 192 B per TIME_WAIT pcb, and 24 B for lwIP's TCP timer while any pcb needs it
  it("each stop() costs a 192 B TIME_WAIT pcb, at most 5 of them", function()
    b:waitSerial("request  1, after stop()", "20s")
    assert.are.equal(baseline - 192 - 24, b:freeHeap())
    b:waitSerial("request  5, after stop()", "20s")
    assert.are.equal(5, #b:pcbs{ state = "TIME_WAIT" })
    assert.are.equal(baseline - 5 * 192 - 24, b:freeHeap())
    b:waitSerial("request  8, after stop()", "10s")
    assert.are.equal(5, #b:pcbs{ state = "TIME_WAIT" })
    assert.are.equal(baseline - 5 * 192 - 24, b:freeHeap())
  end)

  it("tcp_kill_timewait() frees one, tcpCleanup() all", function()
    b:waitSerial("tcp_kill_timewait()", "30s")
    assert.are.equal(4, #b:pcbs{ state = "TIME_WAIT" })
    b:waitSerial("tcpCleanup()", "5s")
    assert.are.equal(0, #b:pcbs{ state = "TIME_WAIT" })
    assert.are.equal(baseline, b:freeHeap())
  end)

  it("abort() leaves nothing behind", function()
    b:waitSerial("request 13, after abort()", "60s")
    assert.are.equal(0, #b:pcbs{ state = "TIME_WAIT" })
    assert.are.equal(baseline, b:freeHeap())
  end)

  it("TIME_WAIT ends after 2*MSL = 120 s", function()
    b:waitSerial("request 16, after stop()", "60s")
    assert.are.equal(3, #b:pcbs{ state = "TIME_WAIT" })
    b:run("121s")
    assert.are.equal(0, #b:pcbs{ state = "TIME_WAIT" })
    assert.are.equal(baseline, b:freeHeap())
  end)
end)
