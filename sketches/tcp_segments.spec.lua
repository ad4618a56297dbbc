-- tcp_segments.spec.lua: TCP pinned segment by segment, packetdrill-style, against
-- hello_server.lua. A raw peer (10.0.2.50) injects the `<` lines at their board
-- times; the `>` lines must match what the board's lwIP sends (the fields a line
-- gives are checked; times within the tolerance). Sequence numbers are relative.
--   esplua test sketches/tcp_segments.spec.lua --pcap-dir /tmp/pcaps

describe("TCP on the board", function()
  local b

  before_each(function()
    b = board{ sketch = "hello_server.lua" }
    b:waitSerial("HTTP server on port 80", "10s")
  end)

  it("answers a SYN with its MSS 536 and a window of 4 * MSS = 2144", function()
    b:tcp[[
0     < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 2144 <mss 536>
+0.1  < . 1:1(0) ack 1 win 65535
]]
  end)

  -- ClientContext::_recv: a FIN with nothing unread is answered with abort()
  -- (lwIP 2.1's tcp_rst puts its window in twice byte-swapped: not checked here)
  it("answers the peer's FIN with an RST when nothing is unread", function()
    b:tcp[[
0     < S 0:0(0) win 65535 <mss 1460>
+0    > S. 0:0(0) ack 1 win 2144 <mss 536>
+0.1  < . 1:1(0) ack 1 win 65535
+0.1  < F. 1:1(0) ack 1 win 65535
+0    > R. 1:1(0) ack 2
]]
  end)

  -- tcp_in.c: a listener drops a SYN while accepts_pending >= backlog (5), and
  -- half-open connections count; the peer hears nothing
  it("drops SYNs beyond the listen backlog of 5 silently", function()
    b:tcp[[
0     <:40001 S 0:0(0) win 65535 <mss 1460>
+0    >:40001 S. 0:0(0) ack 1 win 2144 <mss 536>
+0    <:40002 S 0:0(0) win 65535 <mss 1460>
+0    >:40002 S. 0:0(0) ack 1 win 2144 <mss 536>
+0    <:40003 S 0:0(0) win 65535 <mss 1460>
+0    >:40003 S. 0:0(0) ack 1 win 2144 <mss 536>
+0    <:40004 S 0:0(0) win 65535 <mss 1460>
+0    >:40004 S. 0:0(0) ack 1 win 2144 <mss 536>
+0    <:40005 S 0:0(0) win 65535 <mss 1460>
+0    >:40005 S. 0:0(0) ack 1 win 2144 <mss 536>
+0    <:40006 S 0:0(0) win 65535 <mss 1460>
+1    <:40001 . 1:1(0) ack 1 win 65535
]]
  end)

  -- The request has no newline: the sketch's readStringUntil waits out two Stream
  -- timeouts (5 s each) before it answers, and nobody acknowledges the answer.
  -- lwIP's RTO starts at 3 s (tcp.c: rto = sv = 3000 / TCP_SLOW_INTERVAL = 6 ticks
  -- of 500 ms); the handshake's RTT sample (0 ticks: the ACK comes at once) makes it
  -- 5 ticks (tcp_in.c: sa = 0, sv = 6 - 6/4 = 5, rto = sa/8 + sv). It is counted in
  -- slow-timer ticks from the send, so the retransmission comes 2-2.5 s later:
  -- 2.25 ± 0.25. Each retransmission backs off (tcp.c, tcp_slowtmr: rto =
  -- (sa/8 + sv) << tcp_backoff[nrtx], tcp_backoff = {1, 2, 3, …}): 5 << 1 = 10 ticks
  -- (4.5-5 s) to the second, 5 << 2 = 20 ticks (9.5-10 s) to the third.
  -- The delayed ACK waits for the next 250 ms fast tick: 0.125 ± 0.125.
  it("retransmits an unacknowledged segment after its RTO, backing off", function()
    b:tcp([[
0      < S 0:0(0) win 65535 <mss 1460>
0      > S. 0:0(0) ack 1 win 2144 <mss 536>
0      < . 1:1(0) ack 1 win 65535
0.1    < P. 1:19(18) ack 1 win 65535
0.225  > . 1:1(0) ack 19 win 2126
10.1   > P. 1:104(103) ack 19 win 2126
10.4   > F. 104:104(0) ack 19 win 2126
12.35  > P. 1:104(103) ack 19 win 2126
+0     > F. 104:104(0) ack 19 win 2126
+4.75  > P. 1:104(103) ack 19 win 2126
+0     > F. 104:104(0) ack 19 win 2126
+9.75  > P. 1:104(103) ack 19 win 2126
+0     > F. 104:104(0) ack 19 win 2126
]], { tolerance = "250ms" })
  end)
end)
