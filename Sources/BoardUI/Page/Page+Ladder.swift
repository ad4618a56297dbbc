extension Page {
    /// The packet ladder both pages draw (`/ladder.js`): a board's latest TCP segments
    /// between the board (left) and its peers (right), SYN, FIN and RST coloured,
    /// seq/ack/win/len on hover. The board's page calls it for its one board, the lab's
    /// page for each board, naming the peers by board name.
    static let ladderJS = #"""
        // drawLadderInto(svg, segments, { title, rowH, rightMargin, maxSegments, peerName })
        function drawLadderInto(svg, segments, o) {
          const ns = 'http://www.w3.org/2000/svg';
          const el = (tag, attrs, value) => {
            const e = document.createElementNS(ns, tag);
            for (const k in attrs) e.setAttribute(k, attrs[k]);
            if (value !== undefined) e.textContent = value;
            return e;
          };
          const w = Math.max(svg.clientWidth, 360), rowH = o.rowH, bottom = 30 + o.maxSegments * rowH;
          svg.innerHTML = '';
          svg.setAttribute('height', bottom);
          const left = 120, right = w - o.rightMargin;
          svg.appendChild(el('text', { x: left - 20, y: 14 }, o.title));
          svg.appendChild(el('text', { x: right - 20, y: 14 }, 'peers'));
          for (const x of [left, right]) svg.appendChild(el('line', { x1: x, y1: 20, x2: x, y2: bottom, class: 'life' }));
          segments.forEach((s, i) => {
            const y = 34 + i * rowH;
            const key = s.flags.includes('RST') ? 'RST' : s.flags.includes('SYN') ? 'SYN' : s.flags.includes('FIN') ? 'FIN' : '';
            const [x1, x2] = s.out ? [left, right] : [right, left];
            const g = el('g', { class: 'segment ' + key });
            g.appendChild(el('title', {}, `${s.src} → ${s.dst}  [${s.flags}] seq=${s.seq} ack=${s.ack} win=${s.win} len=${s.len}`));
            g.appendChild(el('text', { x: 2, y: y + 4 }, (s.t / 1e6).toFixed(3) + ' s'));
            g.appendChild(el('line', { x1: x1, y1: y, x2: x2, y2: y, class: 'seg ' + key }));
            g.appendChild(el('path', { d: `M${x2} ${y} l${s.out ? -7 : 7} -4 l0 8 z`, class: 'seg ' + key }));
            g.appendChild(el('text', { x: (left + right) / 2 - 70, y: y - 3, class: key }, `${s.flags}${s.len ? ' len=' + s.len : ''}`));
            const peer = (s.out ? s.dst : s.src).split(':'), port = (s.out ? s.src : s.dst).split(':')[1];
            g.appendChild(el('text', { x: right + 10, y: y + 4 }, o.peerName(peer[0]) + ':' + peer[1] + ' ⇄ :' + port));
            svg.appendChild(g);
          });
        }
        """#
}
