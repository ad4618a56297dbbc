extension Page {
    /// A lab's page (`esplua lab --ui`): every board's console, connection table,
    /// heap, packet ladder and pcap, and who talks to whom; in virtual time the lab's
    /// pause, step and speed. Its script is `labJS`; the style is the board page's.
    static let labHTML = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>esplua lab</title>
        <link rel="stylesheet" href="/page.css">
        <script src="/lib/term.js"></script>
        <script src="/lib/chart.js"></script>
        <style>
          #boards { display: grid; grid-template-columns: repeat(auto-fill, minmax(640px, 1fr)); gap: 10px; padding: 10px; }
          .board h2 { display: flex; gap: 10px; align-items: center; }
          .board h2 button { margin-left: auto; text-transform: none; letter-spacing: 0; }
          .board .term { background: #000; height: 190px; overflow: hidden; }
          .board .term .terminal { font: 12px/1.2 monospace; }
          .board form { display: flex; gap: 6px; margin: 6px 0; } .board form input { flex: 1; }
          .board .row { display: grid; grid-template-columns: minmax(0, 1fr) 230px; gap: 8px; align-items: start; }
          .board .row table { display: block; overflow-x: auto; }
          .board .chart-box { position: relative; height: 150px; width: 230px; }
          #talks-panel { margin: 10px 10px 0; }
          .board .ladder { width: 100%; }
          .board .ladder text { font: 11px monospace; fill: #c9d4df; }
          .board .ladder .life { stroke: #56636f; stroke-width: 2; }
          .board .ladder .seg { stroke: #8b98a5; stroke-width: 1.5; }
          .board .ladder .SYN { stroke: #3fb950; fill: #3fb950; } .board .ladder .FIN { stroke: #58a6ff; fill: #58a6ff; } .board .ladder .RST { stroke: #ff5c57; fill: #ff5c57; }
          .board .ladder text.SYN, .board .ladder text.FIN, .board .ladder text.RST { font-weight: bold; stroke: none; }
          .board h2 a { text-transform: none; letter-spacing: 0; }
          #labclock[hidden] { display: none; }
        </style>
        </head>
        <body>
        <header>
          <h1>esplua lab</h1>
          <span id="sketch"></span>
          <span id="labclock" title="the lab's board time: the end of the latest window the conductor granted" hidden>0.000 s</span>
          <span id="timectl" hidden>
            <button id="pause" title="No board gets a new window: every board's time stands still (the page keeps working; a board's commands wait for the lab to run)">Pause</button>
            <button id="step-window" title="Run the conductor's next window (every board with something to do in it), then pause">Step window</button>
            <button id="step-ms" title="Run this much board time for every board, then pause">Step</button>
            <input id="step-amount" type="number" value="100" min="1" step="any" title="milliseconds of board time"> ms
            <select id="speed" title="Board time per host time, for the whole lab">
              <option value="1">1×</option><option value="10">10×</option><option value="0" selected>as fast as possible</option>
            </select>
            <small id="waiting"></small>
          </span>
          <span id="realtime" hidden title="This lab runs in real time (--time real): its boards' clocks are the host's, so they cannot be paused, stepped or sped up. Run it with --time virtual for pause, step and speed.">real time: no pause</span>
          <span id="status" class="down">connecting…</span>
        </header>
        <section id="talks-panel">
          <h2>Who talks to whom <small>TCP connections between the boards, and through the gateway to this host</small></h2>
          <table id="talks"><thead><tr><th>From</th><th>To</th><th>States</th></tr></thead><tbody></tbody></table>
        </section>
        <div id="boards"></div>
        <script src="/ladder.js"></script>
        <script src="/lab.js"></script>
        </body>
        </html>
        """#

    /// The lab page's script: one WebSocket brings `{"hello":{"lab":…,"time":…,"boards":[…]}}`,
    /// then `{"board":NAME,"m":MESSAGE}` (a board's `UIBatch.json`) and in virtual time
    /// `{"lab":{"t":…,"paused":…,"speed":…,"waiting":…}}` (the conductor); commands go
    /// back with the board's name (`{"board":NAME,"serial":…}`), the lab's time
    /// controls without one (`{"pause":true}`, `{"step":{"windows":1}}`).
    static let labJS = #"""
        'use strict';
        const token = new URLSearchParams(location.search).get('token') || '';
        const $ = (id) => document.getElementById(id);
        const lab = { boards: {}, talks: [], ws: null };
        window.esplua = lab;  // for tests and the curious

        function sendLab(obj) {
          if (lab.ws && lab.ws.readyState === WebSocket.OPEN) lab.ws.send(JSON.stringify(obj));
        }
        function send(board, obj) {
          obj.board = board;
          sendLab(obj);
        }
        // virtual time: the conductor's pause, step and speed act on the whole lab
        $('pause').addEventListener('click', () => sendLab(lab.paused ? { resume: true } : { pause: true }));
        $('step-window').addEventListener('click', () => sendLab({ step: { windows: 1 } }));
        $('step-ms').addEventListener('click', () => sendLab({ step: { ms: Number($('step-amount').value) || 100 } }));
        $('speed').addEventListener('change', () => sendLab({ speed: Number($('speed').value) }));
        function showLab(s) {
          lab.t = s.t;
          lab.paused = s.paused;
          lab.speed = s.speed;
          lab.waiting = s.waiting;
          $('labclock').textContent = 'lab ' + (s.t / 1e6).toFixed(3) + ' s';
          $('pause').textContent = s.paused ? 'Run' : 'Pause';
          $('pause').classList.toggle('paused', s.paused);
          if (document.activeElement !== $('speed')) $('speed').value = String(s.speed);
          $('waiting').textContent = s.waiting ? s.waiting + ' command' + (s.waiting > 1 ? 's' : '') + ' wait for the lab to run' : '';
        }
        function text(tag, value, cls) {
          const e = document.createElement(tag);
          e.textContent = value;
          if (cls) e.className = cls;
          return e;
        }

        function addBoard(info) {
          const sec = document.createElement('section');
          sec.className = 'board';
          sec.id = 'board-' + info.name;
          const h = document.createElement('h2');
          h.appendChild(text('span', info.name));
          h.appendChild(text('small', info.address + ' · ' + info.sketch));
          const clock = text('small', '0.000 s', 'clock');
          h.appendChild(clock);
          const pcap = text('a', 'pcap');
          pcap.className = 'pcap';
          pcap.href = '/capture.pcap?token=' + encodeURIComponent(token) + '&board=' + encodeURIComponent(info.name);
          pcap.download = info.name + '.pcap';
          pcap.title = "every frame of " + info.name + " so far, stamped with its board time (Wireshark)";
          pcap.hidden = !lab.pcap;
          h.appendChild(pcap);
          const reset = text('button', 'Reset');
          reset.addEventListener('click', () => send(info.name, { reset: true }));
          h.appendChild(reset);
          sec.appendChild(h);
          const box = document.createElement('div');
          box.className = 'term';
          sec.appendChild(box);
          const form = document.createElement('form');
          const input = document.createElement('input');
          input.placeholder = 'Send a line to ' + info.name + "'s Serial (Enter)";
          form.appendChild(input);
          form.addEventListener('submit', (e) => { e.preventDefault(); send(info.name, { serial: input.value + '\n' }); input.value = ''; });
          sec.appendChild(form);
          const row = document.createElement('div');
          row.className = 'row';
          const table = document.createElement('table');
          table.innerHTML = '<thead><tr><th>Local</th><th>Remote</th><th>State</th><th>Unacked</th><th>Unread</th><th>Heap</th><th>TIME_WAIT</th></tr></thead><tbody></tbody>';
          row.appendChild(table);
          const chartBox = document.createElement('div');
          chartBox.className = 'chart-box';
          const canvas = document.createElement('canvas');
          chartBox.appendChild(canvas);
          row.appendChild(chartBox);
          sec.appendChild(row);
          const ladder = document.createElementNS(svgNS, 'svg');
          ladder.setAttribute('class', 'ladder');
          sec.appendChild(ladder);
          $('boards').appendChild(sec);
          const term = new Terminal({ cols: 80, rows: 11, useStyle: true, screenKeys: false, scrollback: 1000 });
          term.open(box);
          const chart = new Chart(canvas, {
            type: 'line',
            data: { datasets: [{ label: 'free heap', data: [], borderColor: '#6ee07a', pointRadius: 0, borderWidth: 1.5, stepped: true }] },
            options: { animation: false, maintainAspectRatio: false, parsing: false,
                       scales: { x: { type: 'linear', ticks: { color: '#8aa0b5' }, grid: { color: '#29313a' } },
                                 y: { ticks: { color: '#8aa0b5' }, grid: { color: '#29313a' } } },
                       plugins: { legend: { labels: { color: '#c9d4df' } } } },
          });
          lab.boards[info.name] = { info, term, chart, clock, ladder, tbody: table.querySelector('tbody'), pcbs: [], segments: [], t: 0, heapPoints: 0, messages: 0, text: '' };
        }

        function showBoard(b, m) {
          b.messages += 1;
          b.t = m.t;
          b.clock.textContent = (m.t / 1e6).toFixed(3) + ' s';
          for (const item of m.console) {
            if (item.mark === undefined) {
              b.term.write(item.text.replace(/\r?\n/g, '\r\n'));
              b.text += item.text;
              if (b.text.length > 20000) b.text = b.text.slice(-10000);
            } else {
              b.term.write('\r\n\x1b[' + (item.mark === 'crash' ? '1;31' : '1;33') + 'm── ' + item.text + ' ──\x1b[0m\r\n');
            }
          }
          const line = b.chart.data.datasets[0];
          for (const [t, f] of m.heap) line.data.push({ x: t / 1e6, y: f });
          if (line.data.length > 600) line.data.splice(0, line.data.length - 600);
          b.heapPoints = line.data.length;
          if (m.segments.length) b.segments = b.segments.concat(m.segments).slice(-maxSegments);
          b.pcbs = m.pcbs;
          b.tbody.innerHTML = '';
          for (const r of m.pcbs) {
            const tr = document.createElement('tr');
            tr.className = 's-' + r.state;
            const tw = r.timeWaitMs >= 0 ? (r.timeWaitMs / 1000).toFixed(1) + ' s' : '';
            for (const [v, cls] of [[r.local], [r.remote], [r.state, 'state'], [r.unacked], [r.unread], [r.heap + ' B', 'heap'], [tw, 'tw']]) tr.appendChild(text('td', v, cls));
            b.tbody.appendChild(tr);
          }
          b.dirty = true;
        }

        // each board's packet ladder: its latest TCP segments, as the board's own page draws them
        const maxSegments = 8, svgNS = 'http://www.w3.org/2000/svg';
        function drawLadder(b) {
          drawLadderInto(b.ladder, b.segments, { title: b.info.name, rowH: 16, rightMargin: 150, maxSegments, peerName: nameOf });
        }

        // who talks to whom: every connection in the boards' tables, once, with both ends named
        function nameOf(address) {
          for (const name in lab.boards) if (lab.boards[name].info.address === address) return name;
          if (address === lab.gateway) return 'this host (through the gateway)';
          return address;
        }
        function showTalks() {
          const seen = new Map();
          for (const name in lab.boards) {
            for (const r of lab.boards[name].pcbs) {
              if (r.state === 'LISTEN' || r.state === 'CLOSED') continue;
              const [la, lp] = r.local.split(':'), [ra, rp] = r.remote.split(':');
              const a = name + ':' + lp, z = nameOf(ra) + ':' + rp;
              const key = [a, z].sort().join(' ');
              const talk = seen.get(key) || { from: a, to: z, states: {} };
              talk.states[name] = r.state;
              seen.set(key, talk);
            }
          }
          lab.talks = [...seen.values()];
          const tbody = document.querySelector('#talks tbody');
          tbody.innerHTML = '';
          for (const t of lab.talks) {
            const tr = document.createElement('tr');
            tr.appendChild(text('td', t.from));
            tr.appendChild(text('td', t.to));
            tr.appendChild(text('td', Object.entries(t.states).map(([n, s]) => n + ': ' + s).join(', ')));
            tbody.appendChild(tr);
          }
        }

        function handle(msg) {
          if (msg.hello) {
            $('sketch').textContent = msg.hello.lab + ' (' + msg.hello.time + ' time)';
            lab.time = msg.hello.time;
            lab.pcap = msg.hello.pcap;
            $('timectl').hidden = msg.hello.time !== 'virtual';
            $('labclock').hidden = msg.hello.time !== 'virtual';
            $('realtime').hidden = msg.hello.time === 'virtual';
            lab.gateway = msg.hello.gateway;
            $('boards').innerHTML = '';
            lab.boards = {};
            for (const b of msg.hello.boards) addBoard(b);
            return;
          }
          if (msg.lab) { showLab(msg.lab); return; }
          const b = lab.boards[msg.board];
          if (b) showBoard(b, msg.m);
        }
        function connect() {
          if (!token) { $('status').textContent = 'no token: open the URL esplua printed'; return; }
          const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
          lab.ws = ws;
          ws.onopen = () => { $('status').textContent = 'connected'; $('status').className = 'up'; };
          ws.onclose = () => { $('status').textContent = 'disconnected (the lab ended?)'; $('status').className = 'down'; setTimeout(connect, 2000); };
          ws.onmessage = (e) => handle(JSON.parse(e.data));
        }
        setInterval(() => {
          for (const name in lab.boards) { const b = lab.boards[name]; if (b.dirty) { b.dirty = false; b.chart.update('none'); drawLadder(b); } }
          showTalks();
        }, 250);
        connect();
        """#
}
