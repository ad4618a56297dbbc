/// The page's files, compiled into esplua (no files to install beside it).
enum Page {}

extension Page {
    /// The page: the board, the serial console, the connection table, the heap
    /// chart and the packet ladder. Its script is `Page.js`.
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>esplua</title>
        <link rel="stylesheet" href="/page.css">
        <script src="/lib/term.js"></script>
        <script src="/lib/chart.js"></script>
        </head>
        <body>
        <header>
          <h1>esplua</h1>
          <span id="sketch"></span>
          <span id="clock" title="board time">0.000 s</span>
          <span id="timectl" hidden>
            <button id="pause" title="Board time stands still (the page keeps working)">Pause</button>
            <button id="step-pass" title="Run one loop() pass, then pause">Step pass</button>
            <button id="step-ms" title="Run this much board time, then pause">Step</button>
            <input id="step-amount" type="number" value="100" min="1" step="any" title="milliseconds of board time"> ms
            <select id="speed" title="Board time per host time">
              <option value="1">1×</option><option value="10">10×</option><option value="0" selected>as fast as possible</option>
            </select>
          </span>
          <span id="realtime" hidden title="This run is in real time (--time real): board time is the host's clock, so it cannot be paused, stepped or sped up. Run with --time virtual for pause, step and speed.">real time: no pause</span>
          <span id="status" class="down">connecting…</span>
          <button id="reset" title="Press the board's RST button">Reset</button>
        </header>
        <main>
          <section id="board-panel">
            <h2>Board <small>and the wiring's parts</small></h2>
            <div id="bench">
              <svg id="board" viewBox="0 0 220 330" role="img" aria-label="ESP8266 board"></svg>
              <div id="parts"><small>no parts (a wiring file places them)</small></div>
            </div>
          </section>
          <section id="console-panel">
            <h2>Serial <small>115200 baud</small></h2>
            <div id="console"></div>
            <form id="serial-form">
              <input id="serial-input" placeholder="Send a line to Serial (Enter)" autocomplete="off">
              <button>Send</button>
            </form>
          </section>
          <section id="pcb-panel">
            <h2>Connections <small>lwIP pcbs</small></h2>
            <table id="pcbs">
              <thead><tr><th>Local</th><th>Remote</th><th>State</th><th title="bytes not yet sent">Unsent</th><th title="bytes sent, not acknowledged">Unacked</th><th title="bytes received, not read by the sketch">Unread</th><th title="bytes of the 50 KB heap this connection holds: the pcb, its queued segments and pbufs, the sketch's ClientContext and what it keeps unread">Heap</th><th title="time left in TIME_WAIT (2 MSL)">TIME_WAIT</th></tr></thead>
              <tbody></tbody>
            </table>
          </section>
          <section id="heap-panel">
            <h2>Heap <small>over board time</small></h2>
            <div class="chart-box"><canvas id="heap"></canvas></div>
          </section>
          <section id="ladder-panel">
            <h2>Packets <small>latest TCP segments · <a id="pcap" href="/capture.pcap" download title="every frame of the run so far, stamped with board time (Wireshark)">download the pcap</a></small></h2>
            <svg id="ladder" width="100%" height="100%"></svg>
          </section>
        </main>
        <script src="/ladder.js"></script>
        <script src="/page.js"></script>
        </body>
        </html>
        """#
}
