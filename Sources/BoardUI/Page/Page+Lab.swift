extension Page {
    /// A lab's page (`esplua lab --ui`): every board's console, connection table and
    /// heap, and who talks to whom. Its script is `labJS`; the style is the board page's.
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
        </style>
        </head>
        <body>
        <header>
          <h1>esplua lab</h1>
          <span id="sketch"></span>
          <span id="realtime" title="A lab runs in real time: its boards' clocks are the host's, so they cannot be paused, stepped or sped up.">real time</span>
          <span id="status" class="down">connecting…</span>
        </header>
        <section id="talks-panel">
          <h2>Who talks to whom <small>TCP connections between the boards, and through the gateway to this host</small></h2>
          <table id="talks"><thead><tr><th>From</th><th>To</th><th>States</th></tr></thead><tbody></tbody></table>
        </section>
        <div id="boards"></div>
        <script src="/lab.js"></script>
        </body>
        </html>
        """#

    /// The lab page's script: one WebSocket brings `{"hello":{"lab":…,"boards":[…]}}`,
    /// then `{"board":NAME,"m":MESSAGE}` (a board's `UIBatch.json`); commands go back
    /// with the board's name (`{"board":NAME,"serial":…}`).
    static let labJS = #"""
        'use strict';
        const token = new URLSearchParams(location.search).get('token') || '';
        const $ = (id) => document.getElementById(id);
        const lab = { boards: {}, talks: [], ws: null };
        window.esplua = lab;  // for tests and the curious

        function send(board, obj) {
          obj.board = board;
          if (lab.ws && lab.ws.readyState === WebSocket.OPEN) lab.ws.send(JSON.stringify(obj));
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
          lab.boards[info.name] = { info, term, chart, clock, tbody: table.querySelector('tbody'), pcbs: [], t: 0, heapPoints: 0, messages: 0, text: '' };
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
            $('sketch').textContent = msg.hello.lab;
            lab.gateway = msg.hello.gateway;
            $('boards').innerHTML = '';
            lab.boards = {};
            for (const b of msg.hello.boards) addBoard(b);
            return;
          }
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
          for (const name in lab.boards) { const b = lab.boards[name]; if (b.dirty) { b.dirty = false; b.chart.update('none'); } }
          showTalks();
        }, 250);
        connect();
        """#
}
