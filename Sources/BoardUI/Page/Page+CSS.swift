extension Page {
    /// The page's style: a dark dashboard that reads on a projector.
    static let css = #"""
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.35 system-ui, sans-serif; background: #14171c; color: #dde3ea; }
        header { display: flex; align-items: center; gap: 18px; padding: 8px 16px; background: #1d232b; border-bottom: 1px solid #2c3540; }
        h1 { font-size: 18px; margin: 0; color: #7fd1ff; }
        h2 { font-size: 14px; margin: 0 0 6px; color: #9fb3c8; text-transform: uppercase; letter-spacing: .05em; }
        h2 small { text-transform: none; color: #66788a; letter-spacing: 0; }
        #clock { font-family: monospace; }
        a { color: #7fd1ff; }
        #timectl { display: inline-flex; align-items: center; gap: 6px; }
        #timectl[hidden], #realtime[hidden] { display: none; }
        #step-amount { width: 70px; }
        #pause.paused { background: #3fb950; }
        #realtime { color: #66788a; cursor: help; border-bottom: 1px dotted #66788a; }
        select { background: #0e1115; color: #dde3ea; border: 1px solid #34404d; border-radius: 4px; padding: 3px; }
        #status.up { color: #6ee07a; } #status.down { color: #ff7b72; }
        button { background: #2d6cdf; color: #fff; border: 0; border-radius: 4px; padding: 4px 12px; cursor: pointer; }
        #reset { background: #c2410c; margin-left: auto; }
        input { background: #0e1115; color: #dde3ea; border: 1px solid #34404d; border-radius: 4px; padding: 4px 6px; }
        main { display: grid; grid-template-columns: 240px minmax(420px, 1fr) minmax(460px, 1fr);
               grid-template-rows: 380px 300px; gap: 10px; padding: 10px; }
        section { background: #1a1f26; border: 1px solid #2a323c; border-radius: 6px; padding: 8px; overflow: hidden; }
        #board-panel { grid-row: 1 / span 2; }
        #console { background: #000; height: 300px; overflow: hidden; }
        #console .terminal { font: 13px/1.2 monospace; }
        #serial-form { display: flex; gap: 6px; margin-top: 6px; }
        /* with parts the board's column widens for them; the table keeps its width and scrolls */
        main.has-parts { grid-template-columns: 420px minmax(360px, 1fr) minmax(520px, 1.1fr); }
        #bench { display: flex; gap: 8px; height: calc(100% - 22px); }
        main:not(.has-parts) #bench { flex-direction: column; }
        #board { width: 190px; flex: none; align-self: flex-start; }
        #parts { flex: 1; overflow-y: auto; min-width: 0; }
        .part { background: #212932; border: 1px solid #2f3a46; border-radius: 6px; padding: 5px 6px; margin-bottom: 6px; }
        .part-head { font: 12px monospace; } .part-head .type { color: #8aa0b5; } .part-head .wired { color: #e3b341; font-size: 11px; }
        .part-icon { width: 100%; height: 58px; display: block; }
        .part-icon .body { fill: #2b3d52; stroke: #58708a; } .part-icon .scale { stroke: #56636f; fill: none; }
        .part-icon .arm rect { fill: #f0f3f6; } .part-icon .arm circle { fill: #9aa4ad; }
        .part-icon .cap { fill: #c23b22; stroke: #7a2415; } .part-icon.pressed .cap { fill: #ff7b5e; transform: translate(0, 2px); }
        .part-icon .hole { fill: #0e1115; } .part-icon .waves path { stroke: #e3b341; fill: none; stroke-width: 2; opacity: 0; }
        .part-icon.sounding .waves path { opacity: 1; } .part-icon text.freq { font: 11px monospace; fill: #e3b341; }
        .part-icon .knob line { stroke: #f0f3f6; stroke-width: 4; stroke-linecap: round; }
        .part-icon .track { stroke: #e3b341; fill: none; } .part-icon .light { fill: #ffe58a; opacity: .2; }
        .part-icon .chip { fill: #2a2f36; stroke: #56636f; } .part-icon .leg { stroke: #aab; stroke-width: 3; }
        .part-icon text { font: 10px monospace; fill: #dde3ea; }
        .control { display: flex; flex-wrap: wrap; align-items: center; gap: 2px 4px; margin: 3px 0; font: 11px monospace; }
        .control > span:first-child { flex: 1; color: #c9d4df; }
        .control input[type=range] { order: 5; flex: 1 0 100%; margin: 0; padding: 0; }
        .control input[type=number] { width: 80px; padding: 2px 4px; }
        .control.value .unit { min-width: 24px; }
        .control output { color: #6ee07a; } .control .unit { color: #8aa0b5; }
        .control button.press { padding: 3px 14px; background: #c23b22; user-select: none; touch-action: none; }
        .control button.press.down { background: #ff7b5e; }
        #serial-input { flex: 1; }
        table { width: 100%; border-collapse: collapse; font: 12px monospace; }
        th, td { text-align: left; padding: 3px 4px; border-bottom: 1px solid #29313a; white-space: nowrap; }
        th { color: #8aa0b5; font-weight: normal; }
        tr.changed { animation: flash 1s; }
        @keyframes flash { from { background: #4a4a10; } to { background: transparent; } }
        td.state { font-weight: bold; }
        .s-LISTEN td.state { color: #8aa0b5; } .s-ESTABLISHED td.state { color: #6ee07a; }
        .s-SYN_RCVD td.state, .s-SYN_SENT td.state { color: #3fb950; }
        .s-FIN_WAIT_1 td.state, .s-FIN_WAIT_2 td.state, .s-CLOSE_WAIT td.state, .s-LAST_ACK td.state, .s-CLOSING td.state { color: #58a6ff; }
        .s-TIME_WAIT td.state { color: #e3b341; }
        #pcb-panel { overflow: auto; }
        #heap-panel { grid-column: 2; }
        .chart-box { position: relative; height: 255px; }
        #ladder-panel { grid-column: 3; overflow-y: auto; }
        #ladder text { font: 11px monospace; fill: #c9d4df; }
        #ladder .life { stroke: #56636f; stroke-width: 2; }
        #ladder .seg { stroke: #8b98a5; stroke-width: 1.5; }
        #ladder .SYN { stroke: #3fb950; fill: #3fb950; } #ladder .FIN { stroke: #58a6ff; fill: #58a6ff; } #ladder .RST { stroke: #ff5c57; fill: #ff5c57; }
        #ladder text.SYN, #ladder text.FIN, #ladder text.RST { font-weight: bold; stroke: none; }
        #board text { font: 10px monospace; fill: #dde3ea; } #board text.wired-part { fill: #e3b341; }
        """#
}
