-- hello_server.spec.lua: what hello_server.lua claims, checked in board time.
--   esplua test sketches/hello_server.spec.lua
--   esplua test sketches/hello_server.spec.lua --sketch 'class/*.lua' -j 2 --junit grades.xml

local GET = "GET / HTTP/1.1\r\nHost: esp\r\n\r\n"

describe("hello_server", function()
  local b

  before_each(function()
    b = board{ sketch = "hello_server.lua" }
    b:waitSerial("HTTP server on port 80", "10s")
  end)

  it("answers a GET with 200 and its page", function()
    local c = b:connect(80)
    c:send(GET)
    local reply = c:receive()             -- until the board closes
    assert.matches("^HTTP/1.1 200 OK\r\n", reply)
    assert.matches("Hello from esplua!\n$", reply)
    assert.are.equal("FIN", c:closed())   -- stop(): a FIN, not a reset
  end)

  it("logs each request on Serial", function()
    local c = b:connect(80)
    c:send(GET)
    c:receive()
    local line = b:waitSerial("#1 GET / HTTP/1.1 -> 200", "1s")
    assert.matches("free heap %d+", line)
  end)

  it("closes every connection: 30 s after 20 requests the heap is back", function()
    local before = b:freeHeap()
    local clients = {}
    for i = 1, 20 do                      -- clients that keep their side open (keep-alive)
      clients[i] = b:connect(80)
      clients[i]:send(GET)
      clients[i]:receive("Hello from esplua!\n")
    end
    -- the board closed each one (FIN_WAIT_2 ends 20 s later, lwIP's TCP_FIN_WAIT_TIMEOUT)
    b:run("30s")
    assert.at_least(before, b:freeHeap(), "free heap 30 s after 20 requests")
  end)

  it("keeps at most 5 TIME_WAIT pcbs, for 2*MSL", function()
    for _ = 1, 8 do
      local c = b:connect(80)
      c:send(GET)
      c:receive()                         -- the page, then the board's FIN (it closed first)
      c:close()
      b:run("100ms")
    end
    assert.are.equal(5, #b:pcbs{ state = "TIME_WAIT" })
    b:run("121s")                         -- 2*MSL (120 s) later they are gone
    assert.are.equal(0, #b:pcbs{ state = "TIME_WAIT" })
  end)
end)
