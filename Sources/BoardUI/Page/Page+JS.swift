extension Page {
    /// The page's script: one WebSocket (`/ws?token=…`) brings the board's messages
    /// (`UIBatch.json`) and takes the page's commands (`UICommand`).
    static let js = #"""
        'use strict';
        const token = new URLSearchParams(location.search).get('token') || '';
        const $ = (id) => document.getElementById(id);
        const state = { led: 2, pins: [], pcbs: new Map(), segments: [], heapPoints: 0, ws: null };
        window.esplua = state;  // for tests and the curious
        $('pcap').href = '/capture.pcap?token=' + encodeURIComponent(token);

        // ---- serial console (term.js, the ancestor of xterm.js, from Debian's libjs-term.js)
        const term = new Terminal({ cols: 80, rows: 18, useStyle: true, screenKeys: false, scrollback: 2000 });
        term.open($('console'));
        term.on('data', (d) => send({ serial: d }));
        function writeConsole(item) {
          if (item.text !== undefined && item.mark === undefined) {
            term.write(item.text.replace(/\r?\n/g, '\r\n'));
          } else {
            const colour = item.mark === 'crash' ? '1;31' : '1;33';
            term.write('\r\n\x1b[' + colour + 'm── ' + item.text + ' ──\x1b[0m\r\n');
          }
        }

        // ---- commands
        function send(obj) {
          if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(obj));
        }
        $('serial-form').addEventListener('submit', (e) => {
          e.preventDefault();
          send({ serial: $('serial-input').value + '\n' });
          $('serial-input').value = '';
        });
        $('reset').addEventListener('click', () => send({ reset: true }));
        // virtual time: pause / run, step a pass or N ms, speed
        $('pause').addEventListener('click', () => send(state.paused ? { resume: true } : { pause: true }));
        $('step-pass').addEventListener('click', () => send({ step: { passes: 1 } }));
        $('step-ms').addEventListener('click', () => send({ step: { ms: Number($('step-amount').value) || 100 } }));
        $('speed').addEventListener('change', () => send({ speed: Number($('speed').value) }));
        function showTime(msg) {
          if (msg.paused === undefined) return;
          state.paused = msg.paused;
          state.speed = msg.speed;
          $('pause').textContent = msg.paused ? 'Run' : 'Pause';
          $('pause').classList.toggle('paused', msg.paused);
          if (document.activeElement !== $('speed')) $('speed').value = String(msg.speed);
        }

        // ---- parts: each part of the wiring drawn beside the board (hello.parts: its
        // wiring and its controls' kinds, units and ranges), its values from `controls`
        const gpioName = (g) => { const h = header.find(([, n]) => n === Number(g)); return 'GPIO' + g + (h ? ' (' + h[0] + ')' : ''); };
        // where a part is wired, from its settings; A0 and the UART are where these types sit
        function wiredTo(part) {
          const w = part.wiring, out = [];
          for (const k of ['pin', 'cs', 'from', 'to']) if (w[k] !== undefined) out.push((k === 'pin' ? '' : k + ' ') + gpioName(w[k]));
          if (w.address !== undefined) out.push('I2C ' + w.address);
          if (part.type === 'potentiometer' || part.type === 'ldr') out.push('A0');
          if (part.type === 'uart-echo' || part.type === 'gps') out.push('UART0 (RX/TX)');
          return out.join(', ');
        }
        // a slider's step: a power of ten near a 500th of the range
        const stepOf = (c) => Math.pow(10, Math.floor(Math.log10((c.max - c.min) / 500)));
        const toSlider = (c, v) => c.log ? 1000 * Math.log(Math.max(v, c.min) / c.min) / Math.log(c.max / c.min) : v;
        const fromSlider = (c, s) => c.log ? Number((c.min * Math.pow(c.max / c.min, s / 1000)).toPrecision(3)) : Number(s);
        const show = (v, c) => (v === null || v === undefined) ? '–' : (Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v * 10) / 10 : Number(v.toPrecision(4))) + (c && c.unit ? ' ' + c.unit : '');
        state.parts = [];
        state.values = {};
        function drawPartIcon(part) {
          const svg = el('svg', { viewBox: '0 0 120 70', class: 'part-icon', 'data-part': part.name });
          if (part.type === 'servo') {
            // a protractor from 0° (right) to 180° (left) and the horn on its shaft
            svg.appendChild(el('path', { d: 'M15 60 A45 45 0 0 1 105 60', class: 'scale' }));
            for (const a of [0, 45, 90, 135, 180]) {
              const r = a * Math.PI / 180;
              svg.appendChild(el('line', { x1: 60 + 45 * Math.cos(r), y1: 60 - 45 * Math.sin(r), x2: 60 + 50 * Math.cos(r), y2: 60 - 50 * Math.sin(r), class: 'scale' }));
            }
            svg.appendChild(el('rect', { x: 40, y: 52, width: 40, height: 16, rx: 2, class: 'body' }));
            const arm = el('g', { class: 'arm' });  // turned when the servo's angle comes
            arm.appendChild(el('rect', { x: 56, y: 56, width: 44, height: 8, rx: 4 }));
            arm.appendChild(el('circle', { cx: 60, cy: 60, r: 6 }));
            svg.appendChild(arm);
          } else if (part.type === 'button') {
            svg.appendChild(el('rect', { x: 35, y: 10, width: 50, height: 50, rx: 4, class: 'body' }));
            svg.appendChild(el('circle', { cx: 60, cy: 35, r: 16, class: 'cap' }));
          } else if (part.type === 'buzzer') {
            svg.appendChild(el('circle', { cx: 40, cy: 35, r: 22, class: 'body' }));
            svg.appendChild(el('circle', { cx: 40, cy: 35, r: 4, class: 'hole' }));
            const waves = el('g', { class: 'waves' });
            for (const r of [30, 38, 46]) waves.appendChild(el('path', { d: `M${40 + r * 0.7} ${35 - r * 0.7} A${r} ${r} 0 0 1 ${40 + r * 0.7} ${35 + r * 0.7}` }));
            svg.appendChild(waves);
          } else if (part.type === 'potentiometer') {
            svg.appendChild(el('circle', { cx: 60, cy: 35, r: 26, class: 'body' }));
            const knob = el('g', { class: 'knob', transform: 'rotate(-135 60 35)' });
            knob.appendChild(el('line', { x1: 60, y1: 35, x2: 60, y2: 13 }));
            svg.appendChild(knob);
          } else if (part.type === 'ldr') {
            svg.appendChild(el('circle', { cx: 60, cy: 35, r: 20, class: 'body' }));
            svg.appendChild(el('path', { d: 'M48 28 h6 v14 h6 v-14 h6 v14 h6', class: 'track' }));
            svg.appendChild(el('circle', { cx: 60, cy: 35, r: 30, class: 'light' }));
          } else {
            // a chip: its type on it, a leg per setting
            svg.appendChild(el('rect', { x: 25, y: 12, width: 70, height: 46, rx: 3, class: 'chip' }));
            for (let i = 0; i < 4; i++) {
              svg.appendChild(el('line', { x1: 33 + i * 18, y1: 58, x2: 33 + i * 18, y2: 66, class: 'leg' }));
              svg.appendChild(el('line', { x1: 33 + i * 18, y1: 4, x2: 33 + i * 18, y2: 12, class: 'leg' }));
            }
            svg.appendChild(el('text', { x: 60, y: 39, 'text-anchor': 'middle' }, part.type.toUpperCase().slice(0, 11)));
          }
          return svg;
        }
        function showParts(parts) {
          const box = $('parts');
          state.parts = parts || [];
          document.querySelector('main').classList.toggle('has-parts', state.parts.length > 0);
          box.innerHTML = '';
          if (!state.parts.length) { box.innerHTML = '<small>no parts (a wiring file places them)</small>'; return; }
          for (const part of state.parts) {
            const card = document.createElement('div');
            card.className = 'part part-' + part.type;
            card.dataset.part = part.name;
            card.title = part.summary;
            const head = document.createElement('div');
            head.className = 'part-head';
            head.innerHTML = '<b></b> <span class="type"></span><div class="wired"></div>';
            head.querySelector('b').textContent = part.name;
            head.querySelector('.type').textContent = part.type;
            head.querySelector('.wired').textContent = wiredTo(part);
            card.appendChild(head);
            card.appendChild(drawPartIcon(part));
            for (const c of part.controls) card.appendChild(controlRow(part, c));
            box.appendChild(card);
          }
        }
        function controlRow(part, c) {
          const name = part.name + '.' + c.name;
          const row = document.createElement('label');
          row.className = 'control ' + c.kind;
          const label = document.createElement('span');
          label.textContent = c.name;
          row.appendChild(label);
          if (c.kind === 'button') {
            // held while the mouse (or a finger) is down on it: pressed 1, then 0
            const b = document.createElement('button');
            b.type = 'button'; b.className = 'press'; b.textContent = 'press'; b.dataset.press = name;
            let down = false;
            const set = (v) => { if (down !== v) { down = v; send({ control: name, value: v ? 1 : 0 }); } };
            b.addEventListener('pointerdown', (e) => { e.preventDefault(); b.setPointerCapture(e.pointerId); set(true); });
            for (const ev of ['pointerup', 'pointercancel', 'lostpointercapture']) b.addEventListener(ev, () => set(false));
            b.addEventListener('keydown', (e) => { if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); set(true); } });
            b.addEventListener('keyup', () => set(false));
            row.appendChild(b);
          } else if (c.kind === 'output') {
            const out = document.createElement('output');
            out.dataset.output = name;
            row.appendChild(out);
          } else {
            if (c.min !== undefined) {
              const slider = document.createElement('input');
              slider.type = 'range'; slider.dataset.slider = name;
              slider.min = c.log ? 0 : c.min; slider.max = c.log ? 1000 : c.max; slider.step = c.log ? 1 : stepOf(c);
              slider.title = `${c.min} to ${c.max}${c.unit ? ' ' + c.unit : ''}` + (c.log ? ' (logarithmic)' : '');
              // dragged: each move sets the control; the board's values do not move it meanwhile
              slider.addEventListener('pointerdown', () => { slider.dataset.dragging = '1'; });
              slider.addEventListener('pointerup', () => { delete slider.dataset.dragging; });
              slider.addEventListener('input', () => {
                const v = fromSlider(c, slider.value);
                const field = row.querySelector('input[type=number]');
                if (field) field.value = v;
                send({ control: name, value: v });
              });
              row.appendChild(slider);
            }
            // the exact number: Enter (or leaving the field) sets it
            const input = document.createElement('input');
            input.type = 'number'; input.step = 'any'; input.dataset.control = name;
            if (c.min !== undefined && !c.log) { input.min = c.min; input.max = c.max; }
            input.addEventListener('change', () => send({ control: name, value: Number(input.value) }));
            row.appendChild(input);
          }
          if (c.unit && c.kind !== 'output') {
            const unit = document.createElement('span');
            unit.className = 'unit'; unit.textContent = c.unit;
            row.appendChild(unit);
          }
          return row;
        }
        // controls the hello did not describe (an older esplua's page): a field each
        function addUnknown(name) {
          const [partName, control] = name.split('.');
          let part = state.parts.find((p) => p.name === partName);
          if (!part) {
            part = { name: partName, type: '?', summary: '', wiring: {}, controls: [] };
            state.parts.push(part);
          }
          if (!part.controls.some((c) => c.name === control)) part.controls.push({ name: control, kind: 'value', unit: '', log: false });
          showParts(state.parts);
        }
        function showControls(controls) {
          const box = $('parts');
          for (const [name] of controls) {
            if (!box.querySelector(`[data-control="${name}"], [data-output="${name}"], [data-press="${name}"]`)) addUnknown(name);
          }
          for (const [name, value] of controls) {
            state.values[name] = value;
            const [partName, control] = name.split('.');
            const part = state.parts.find((p) => p.name === partName);
            const c = part && part.controls.find((k) => k.name === control);
            const input = box.querySelector(`input[data-control="${name}"]`);
            if (input && document.activeElement !== input) input.value = value;
            const slider = box.querySelector(`input[data-slider="${name}"]`);
            if (slider && !slider.dataset.dragging && value !== null) slider.value = toSlider(c, value);
            const out = box.querySelector(`output[data-output="${name}"]`);
            if (out) out.textContent = show(value, c);
            const press = box.querySelector(`button[data-press="${name}"]`);
            if (press) press.classList.toggle('down', value === 1);
          }
          drawValues();
        }
        // the drawings follow the values: the servo's arm, the button's cap, the buzzer's waves, the pot's knob
        function drawValues() {
          const v = state.values;
          for (const part of state.parts) {
            const icon = document.querySelector(`svg.part-icon[data-part="${part.name}"]`);
            if (!icon) continue;
            const at = (c) => v[part.name + '.' + c];
            if (part.type === 'servo' && at('angle') !== undefined && at('angle') !== null) {
              const a = at('angle');
              icon.querySelector('.arm').setAttribute('transform', `rotate(${-a} 60 60)`);
              icon.dataset.angle = a;
            } else if (part.type === 'button') {
              icon.classList.toggle('pressed', at('pressed') === 1);
            } else if (part.type === 'buzzer') {
              const f = at('frequency') || 0;
              icon.classList.toggle('sounding', f > 0);
              let label = icon.querySelector('text.freq');
              if (!label) { label = el('text', { x: 92, y: 39, class: 'freq' }); icon.appendChild(label); }
              label.textContent = f > 0 ? Math.round(f) + ' Hz' : 'silent';
              icon.dataset.frequency = f;
            } else if (part.type === 'potentiometer' && at('position') !== undefined) {
              icon.querySelector('.knob').setAttribute('transform', `rotate(${-135 + 270 * at('position')} 60 35)`);
            } else if (part.type === 'ldr' && at('lux') !== undefined) {
              icon.querySelector('.light').style.opacity = Math.min(1, Math.log10(Math.max(at('lux'), 0.1) + 1) / 5);
            }
          }
        }

        // ---- the board drawing: NodeMCU v2 pin order, LED_BUILTIN (GPIO2, active low)
        const header = [['D0', 16], ['D1', 5], ['D2', 4], ['D3', 0], ['D4', 2], ['D5', 14],
                        ['D6', 12], ['D7', 13], ['D8', 15], ['RX', 3], ['TX', 1]];
        const modes = ['IN', 'OUT', 'IN↑', 'OD', 'IN↓'];
        const svgNS = 'http://www.w3.org/2000/svg';
        function el(tag, attrs, text) {
          const e = document.createElementNS(svgNS, tag);
          for (const k in attrs) e.setAttribute(k, attrs[k]);
          if (text !== undefined) e.textContent = text;
          return e;
        }
        function drawBoard() {
          const b = $('board');
          b.innerHTML = '';
          b.appendChild(el('rect', { x: 40, y: 10, width: 140, height: 310, rx: 8, fill: '#1f3b5c', stroke: '#4b6a8c' }));
          b.appendChild(el('rect', { x: 65, y: 20, width: 90, height: 70, rx: 3, fill: '#9aa4ad' }));
          b.appendChild(el('text', { x: 80, y: 60 }, 'ESP8266'));
          b.appendChild(el('rect', { x: 95, y: 295, width: 30, height: 18, rx: 2, fill: '#aab' }));
          const lit = state.pins[state.led] && state.pins[state.led][0] === 1 && state.pins[state.led][1] === 0;
          b.appendChild(el('circle', { id: 'led', cx: 167, cy: 30, r: 7, fill: lit ? '#4ea8ff' : '#26303a',
                                       stroke: '#7aa', 'data-lit': lit ? '1' : '0' }));
          b.appendChild(el('text', { x: 158, y: 50 }, 'LED'));
          header.forEach(([name, gpio], i) => {
            const y = 110 + i * 17, p = state.pins[gpio] || [0, 0, -1];
            const out = p[0] === 1 || p[0] === 3, high = p[1] === 1;
            const c = el('circle', { cx: 50, cy: y, r: 5, fill: high ? (out ? '#ff6b5e' : '#e3b341') : '#101418',
                                    stroke: out ? '#ff6b5e' : '#889', class: 'pin', 'data-gpio': gpio });
            c.appendChild(el('title', {}, `GPIO${gpio} ${modes[p[0]] || '?'} ${high ? 'HIGH' : 'LOW'}` + (p[2] >= 0 ? ` PWM ${p[2]}` : '')));
            b.appendChild(c);
            b.appendChild(el('text', { x: 4, y: y + 4 }, name));
            b.appendChild(el('text', { x: 60, y: y + 4 }, (modes[p[0]] || '?') + ' ' + (high ? 'H' : 'L') + (p[2] >= 0 ? ' ~' + p[2] : '')));
            // the parts wired to this pin, named beside it
            const wired = state.parts.filter((part) => ['pin', 'cs', 'from', 'to'].some((k) => Number(part.wiring[k]) === gpio && part.wiring[k] !== undefined));
            if (wired.length) b.appendChild(el('text', { x: 112, y: y + 4, class: 'wired-part', 'data-gpio': gpio }, '← ' + wired.map((part) => part.name).join(', ').slice(0, 10)));
          });
        }
        drawBoard();

        // ---- connection table
        function showPCBs(rows) {
          const tbody = document.querySelector('#pcbs tbody');
          const seen = new Map();
          tbody.innerHTML = '';
          for (const r of rows) {
            const key = r.local + ' ' + r.remote;
            const tr = document.createElement('tr');
            tr.className = 's-' + r.state;
            if (state.pcbs.get(key) !== r.state) tr.classList.add('changed');
            seen.set(key, r.state);
            const tw = r.timeWaitMs >= 0 ? (r.timeWaitMs / 1000).toFixed(1) + ' s' : '';
            for (const [v, cls] of [[r.local], [r.remote], [r.state, 'state'], [r.unsent], [r.unacked], [r.unread], [r.heap + ' B', 'heap'], [tw, 'tw']]) {
              const td = document.createElement('td');
              td.textContent = v;
              if (cls) td.className = cls;
              tr.appendChild(td);
            }
            tbody.appendChild(tr);
          }
          state.pcbs = seen;
        }

        // ---- heap chart (Chart.js, from Debian's libjs-chart.js)
        const chart = new Chart($('heap'), {
          type: 'line',
          data: { datasets: [
            { label: 'free heap', data: [], borderColor: '#6ee07a', pointRadius: 0, borderWidth: 1.5, stepped: true },
            { label: 'largest block', data: [], borderColor: '#58a6ff', pointRadius: 0, borderWidth: 1.5, stepped: true },
            { label: 'events', type: 'scatter', data: [], borderColor: '#e3b341', backgroundColor: '#e3b341', pointStyle: 'triangle', pointRadius: 5 },
            { label: 'Lua memory', data: [], borderColor: '#d2a8ff', pointRadius: 0, borderWidth: 1.5, borderDash: [4, 3], yAxisID: 'lua' },
          ] },
          options: {
            animation: false, maintainAspectRatio: false, parsing: false, normalized: true,
            scales: { x: { type: 'linear', title: { display: true, text: 'board time (s)', color: '#8aa0b5' }, ticks: { color: '#8aa0b5' }, grid: { color: '#29313a' } },
                      y: { title: { display: true, text: 'heap bytes', color: '#8aa0b5' }, ticks: { color: '#8aa0b5' }, grid: { color: '#29313a' } },
                      lua: { position: 'right', title: { display: true, text: 'Lua VM bytes (apart from the heap)', color: '#b39ddb' }, ticks: { color: '#b39ddb' }, grid: { display: false } } },
            plugins: { legend: { labels: { color: '#c9d4df' } },
                       tooltip: { callbacks: { label: (c) => c.raw.label ? c.raw.label : `${c.dataset.label}: ${c.raw.y}` } } },
          },
        });
        const maxPoints = 1200;
        // the heap is sampled when it changes; each line is drawn on to the board's present
        function addHeap(now, samples, marks, lua) {
          const [free, block, events, luaLine] = chart.data.datasets;
          if (lua !== undefined) luaLine.data.push({ x: now / 1e6, y: lua });
          for (const d of [free, block]) if (d.data.length && d.data[d.data.length - 1].now) d.data.pop();
          for (const [t, f, m] of samples) { free.data.push({ x: t / 1e6, y: f }); block.data.push({ x: t / 1e6, y: m }); }
          for (const d of [free, block]) {
            const last = d.data[d.data.length - 1];
            if (last && last.x < now / 1e6) d.data.push({ x: now / 1e6, y: last.y, now: true });
          }
          const top = free.data.length ? free.data[free.data.length - 1].y : 0;
          for (const [t, label] of marks) events.data.push({ x: t / 1e6, y: top, label: label });
          for (const d of [free, block, events, luaLine]) if (d.data.length > maxPoints) d.data.splice(0, d.data.length - maxPoints);
          state.heapPoints = free.data.length;
          state.luaPoints = luaLine.data.length;
        }

        // ---- packet ladder
        const maxSegments = 13;
        function drawLadder() {
          drawLadderInto($('ladder'), state.segments, { title: 'board', rowH: 17, rightMargin: 100, maxSegments, peerName: () => '' });
        }

        // ---- messages
        function handle(msg) {
          if (msg.hello) {
            $('sketch').textContent = msg.hello.sketch + ' (' + msg.hello.time + ' time)';
            state.time = msg.hello.time;
            $('timectl').hidden = msg.hello.time !== 'virtual';
            $('realtime').hidden = msg.hello.time === 'virtual';
            state.led = msg.hello.led;
            showParts(msg.hello.parts);
            drawBoard();
            // a (re)connection replays the past: start from a clean page
            term.reset();
            for (const d of chart.data.datasets) d.data = [];
            state.segments = [];
            return;
          }
          $('clock').textContent = (msg.t / 1e6).toFixed(3) + ' s';
          state.t = msg.t;
          showTime(msg);
          for (const item of msg.console) writeConsole(item);
          addHeap(msg.t, msg.heap, msg.marks, msg.lua);
          if (msg.segments.length) {
            state.segments = state.segments.concat(msg.segments).slice(-maxSegments);
          }
          showPCBs(msg.pcbs);
          if (msg.pins) { state.pins = msg.pins; drawBoard(); }
          if (msg.controls) showControls(msg.controls);
        }
        let dirty = false;
        function connect() {
          if (!token) { $('status').textContent = 'no token: open the URL esplua printed'; return; }
          const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
          state.ws = ws;
          ws.onopen = () => { $('status').textContent = 'connected'; $('status').className = 'up'; };
          ws.onclose = () => {
            $('status').textContent = 'disconnected (the run ended?)'; $('status').className = 'down';
            setTimeout(connect, 2000);
          };
          ws.onmessage = (e) => { handle(JSON.parse(e.data)); dirty = true; };
        }
        // draw the chart and the ladder at most four times a second: a projector needs no
        // more, and the browser's drawing then leaves the CPU to the board
        setInterval(() => { if (dirty) { dirty = false; chart.update('none'); drawLadder(); } }, 250);
        connect();
        """#
}
