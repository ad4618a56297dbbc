import Glibc

/// Something the board's loop services on every background pass: the network
/// stack, the world, stdin, observers.
public protocol EventSource: AnyObject {
    /// Does pending work without blocking.
    func service(now: UInt64)
    /// The board time (µs) at which this source next needs service, if any.
    func nextDeadline(now: UInt64) -> UInt64?
}

/// Something with host file descriptors (sockets, stdin) that the loop watches
/// while the board sleeps, and polls without waiting while it runs.
public protocol HostIO: AnyObject {
    /// Appends the descriptors to watch.
    func addDescriptors(to fds: inout [pollfd])
    /// Appends the descriptors to watch; `mayWait`: the poll may block (the board
    /// sleeps), else it only looks. A source may hand over a list that lags for a look
    /// (slirp's, a refill of which walks every socket it keeps); never for a wait.
    func addDescriptors(to fds: inout [pollfd], mayWait: Bool)
    /// Handles the poll's results for the descriptors it added (in the same order);
    /// called after every poll that included them, `failed` when the poll itself
    /// failed (a signal). Returns whether any of them was ready.
    func handle(_ fds: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool
}

extension HostIO {
    public func addDescriptors(to fds: inout [pollfd], mayWait: Bool) { addDescriptors(to: &fds) }
}

/// The board's one run loop: the ESP8266 core's `esp_delay` / `yield` /
/// `optimistic_yield` / `loop_wrapper`, and how an idle board sleeps
/// (DESIGN.md 5; cores/esp8266/core_esp8266_main.cpp, coredecls.h).
///
/// Every blocking call of every model goes through `espDelay`, which feeds the
/// watchdog, runs background passes until its condition clears, its timeout or
/// the end of the run, and feeds the watchdog again, as the core's does: the SDK
/// feeds the dog whenever the sketch's continuation is suspended.
///
/// **One background pass** services, in this order:
/// 1. the command inbox (serial input, part controls, injected frames, stop), then in
///    virtual time the time authority (`TimeControl`: a paused board holds here, a
///    board ahead of its set speed waits for the host's time);
/// 2. host descriptors that are ready now (slirp's sockets, the world's peers,
///    stdin), without waiting: every 20 µs of board time in real time, every
///    1 ms in virtual time (which also settles host input before the clock jumps);
/// 3. the sources in the order they were added: the network (one inbound frame
///    into lwIP — frames reach lwIP one at a time with the sketch able to run
///    between two, as WiFi airtime spaces them on a board — then lwIP's timers,
///    the WiFi state machine, the world's visitors and services), then observers;
///    but after the sketch kept the CPU for more than `busyMicros` without
///    yielding (in real time: the board thread's CPU time, so a host too busy
///    to schedule the board is not a busy sketch), the world first catches up (`catchingUp`): host input and the
///    world's peers are serviced until quiet and every frame that queued meanwhile
///    reaches lwIP before the sketch runs again, as a board's SDK task drains the
///    radio's queue at the next yield (a burst during a busy wait overflows a
///    UDP queue there too);
/// 4. board timers that are due (plugins, the wiring's schedule);
/// 5. the heap sample for the event stream (when someone watches);
/// then, as the core runs its scheduled functions after each resume, the queued
/// Lua callbacks (`scheduled`).
///
/// **An idle board sleeps.** Bindings mark what a stretch of the sketch did in
/// `activity` (see `Activity`): a call that acts (writes, prints, connects…) marks
/// it active; polls (`accept`, `available`, `parsePacket`, `Serial.available`,
/// `digitalRead`, `WiFi.status`…) mark it only when they find something; `millis()`
/// and `micros()` mark that the clock was read; a stretch in which the Lua VM
/// allocated memory worked (`sketchWorked`: filling a table, building strings),
/// so it is not idle either; one that only counted or polled is. At each yield point (the end of `loop()`, `yield()`, `delay(0)`, an `optimistic_yield` that yields) the stretch
/// since the previous one is judged: after two idle ones in a row the board waits
/// for its next event (a frame, a host socket, a timer, lwIP's next timeout, a
/// command) — at most until the next millisecond if the stretch read `millis()`,
/// at most a second otherwise; reading `micros()` never counts as idle. In real
/// time it blocks in `ppoll()`; in virtual time the clock jumps (never past a lab
/// conductor's horizon, `grant`; no faster than the wall clock while an exchange
/// with a program on the host is outstanding, `heldToHostPace`). A blocking call
/// right after activity (`espDelay`: a flush after a write) keeps going without
/// sleeping for `spinMicros` (real time), so the answer it waits for does not pay
/// a wake-up. `pacing` turns all of this off: every pass
/// costs its board time (10 µs plus 50 ns per Lua instruction), as on a board.
///
/// Single-threaded: the board's thread only (the inbox is the way in from others).
public final class BoardLoop {
    /// Bits of `activity`.
    public enum Activity {
        public static let active: UInt32 = 1
        public static let readMillis: UInt32 = 2
        public static let readMicros: UInt32 = 4
    }

    // the board owns them and the loop: no reference counting on every pass
    private unowned(unsafe) let clock: BoardClock
    private unowned(unsafe) let timers: Timers
    private unowned(unsafe) let watchdog: Watchdog
    private unowned(unsafe) let heap: Heap
    private unowned(unsafe) let events: BoardEvents
    public let inbox: BoardInbox
    /// Pause, step and speed of virtual time (`TimeControl`).
    public let time = TimeControl()
    /// Serviced on the board's thread while it is paused: at once, then every 100 ms of
    /// host time, and when it runs on (the web page's feed sends its messages from here).
    private var heldWatchers: [EventSource] = []
    /// What the sketch did since the last yield point (bits of `Activity`);
    /// bindings and C fast paths OR into it.
    public let activity: UnsafeMutablePointer<UInt32>
    private var sources: [EventSource] = []
    private var hostIO: [HostIO] = []

    /// Board time at which the run ends (`--for`); blocking calls return by then.
    public var endAt: UInt64 = .max
    /// Set when the owner stops the run (crash, restart, `stop` command).
    public private(set) var stopRequested = false
    /// Board time of the last yield (the core's `s_cycles_at_resume`).
    public private(set) var lastYield: UInt64 = 0
    /// The core's scheduled functions: queued Lua callbacks (WiFi events, Ticker).
    /// `pending` is asked on every pass; `run` runs them on the blocked thread.
    public var scheduled: (pending: () -> Bool, run: () -> Void)?
    /// Runs the latched GPIO interrupts' handlers (`Board.interrupts`), set by the
    /// sketch's runner; called after every background pass (an edge a timer or a
    /// command made while the sketch waits) and between Lua instructions.
    public var interruptService: (() -> Void)?
    /// Asked at a yield point whose stretch made no active call: did the sketch
    /// still work (the Lua VM allocated memory)? Then it is not idle.
    public var sketchWorked: (() -> Bool)?
    /// Commands the board itself does not know (controls, frames): owners handle them.
    public var commandHandlers: [(BoardCommand) -> Bool] = []
    /// Board time a `loop()` pass costs (the core's loop_wrapper and task switch).
    public var loopOverheadMicros: UInt64 = 10
    /// A blocking call right after activity (real time) runs passes without
    /// sleeping this long before it waits in `ppoll()`.
    public var spinMicros: UInt64 = 1000
    /// Every pass costs its board time; idle passes are not skipped (`--pace-loop`).
    public var pacing = false
    /// How often host descriptors are polled while the board runs (µs of board time).
    public var hostPollInterval: UInt64
    /// Sketch time without a yield after which the world catches up at once.
    public var busyMicros: UInt64 = 1000
    /// True while the world catches up after a busy stretch: sources hand over
    /// everything that queued (the network: every waiting frame).
    public private(set) var catchingUp = false
    /// Board time when the last background pass or wait ended.
    private var lastPassEnd: UInt64 = 0
    /// Virtual time: whether an exchange with a program on the host is
    /// outstanding (the network's `HostFlows`: a connection through slirp's NAT,
    /// a DNS query forwarded to the host's resolver). While it is, board time
    /// runs no faster than the wall clock (`waitForEvent`), so the host's answer
    /// arrives at the board time it would on a board, not after its timeouts.
    public var heldToHostPace: (() -> Bool)?
    /// The board time and wall clock (ns) when the hold began.
    private var holdOrigin: (board: UInt64, wall: UInt64)?
    /// Virtual time in a lab: the conductor that grants board time (`TimeGrant`).
    /// The board never runs past its horizon without reporting and waiting.
    public var grant: TimeGrant?

    private var idleStretches = 0
    /// Things that happened in background passes (frames into lwIP, timers, commands,
    /// callbacks): what the sketch may not have seen yet.
    public private(set) var eventCount = 0
    /// The sketch is polling and finding nothing (two idle stretches in a row, no
    /// activity since): optimistic yields need not spin out their interval first.
    private var pollingIdly = false
    private var spinUntil: UInt64 = 0
    private var lastHostPoll: UInt64 = 0
    private var settleRounds = 0
    private var fds: [pollfd] = []
    /// Which of `fds` each host I/O added (kept from one poll to the next: no allocation per poll).
    private var ranges: [Range<Int>] = []
    private var lastHeap = (free: -1, maxBlock: -1)
    private var lastHeapChanges = -1
    /// Real-time pacing: board time the passes have cost beyond the wall clock.
    private var paceDebt: UInt64 = 0
    /// Passes and waits, for tests and `--netstat` (how much the board slept).
    public private(set) var passes = 0
    public private(set) var idleWaits = 0

    init(clock: BoardClock, timers: Timers, watchdog: Watchdog, heap: Heap, events: BoardEvents) {
        self.clock = clock
        self.timers = timers
        self.watchdog = watchdog
        self.heap = heap
        self.events = events
        inbox = BoardInbox()
        activity = .allocate(capacity: 1)
        activity.initialize(to: 0)
        hostPollInterval = clock.mode == .real ? 20 : 1000
    }

    deinit { activity.deallocate() }

    public func addSource(_ source: EventSource) { sources.append(source) }
    public func removeSource(_ source: EventSource) { sources.removeAll { $0 === source } }
    public func addHostIO(_ io: HostIO) { hostIO.append(io) }
    /// `watcher` is serviced while the board is paused (`TimeControl`), when no pass runs.
    public func addHeldWatcher(_ watcher: EventSource) { heldWatchers.append(watcher) }
    public func removeHeldWatcher(_ watcher: EventSource) { heldWatchers.removeAll { $0 === watcher } }
    /// Services the held watchers now: while the board's thread waits outside a pass
    /// (a lab's conductor has not granted the next window yet).
    public func serviceHeldWatchers() { for w in heldWatchers { w.service(now: clock.micros) } }
    public func removeHostIO(_ io: HostIO) { hostIO.removeAll { $0 === io } }

    // MARK: stopping

    /// True once the run is over (`endAt` reached) or the owner stopped it:
    /// blocking calls return at once and the sketch unwinds.
    public var isStopping: Bool { stopRequested || clock.micros >= endAt }

    public func requestStop() { stopRequested = true }

    /// A new boot: nothing stops, nothing is owed.
    public func reset() {
        stopRequested = false
        idleStretches = 0
        pollingIdly = false
        spinUntil = 0
        paceDebt = 0
        activity.pointee = 0
        lastYield = clock.micros
        lastPassEnd = clock.micros
    }

    // MARK: the core's esp_delay family

    /// `esp_delay(timeout, blocked)`: feeds the watchdog, runs background passes
    /// (sleeping between them until the next event) while `blocked()` holds, for
    /// at most `timeout` µs and never past the end of the run; feeds it again.
    /// The condition is checked after every pass, so a sketch waiting for an
    /// acknowledgement sees it before the next frame (a FIN) reaches lwIP.
    public func espDelay(_ timeout: UInt64, while blocked: () -> Bool = { true }) {
        let start = clock.refresh()
        let deadline = min(start > UInt64.max - timeout ? UInt64.max : start + timeout, endAt)
        if !canSuspend { return spin(until: deadline, while: blocked) }
        watchdog.feed(now: start)
        idleStretches = 0
        // a blocking call right after activity (a flush after a write) usually waits
        // for an answer that comes within microseconds: spin for it. A board's
        // stop() sees the peer's ACK before the peer's FIN (curl's, close behind it
        // on a loaded host): a woken board is scheduled later than a spinning one
        if activity.pointee & Activity.active != 0 { spinUntil = start &+ spinMicros }
        while true {
            backgroundPass()
            runScheduled()
            if isStopping || !blocked() { break }
            if clock.micros >= deadline { break }
            waitForEvent(until: deadline)
        }
        activity.pointee = 0
        watchdog.feed(now: clock.micros)
        lastYield = clock.micros
    }

    /// `yield()` / `delay(0)`: one background pass (and, after idle stretches, a
    /// sleep until the next event).
    /// `until`: an idle wait never sleeps past it (a busy wait with a deadline of its own).
    public func yield(until limit: UInt64 = .max) {
        guard canSuspend else { return }  // esp_yield in SYS: esp_suspend does nothing
        watchdog.feed(now: clock.refresh())
        let flags = activity.pointee
        activity.pointee = 0
        let before = eventCount
        backgroundPass()
        runScheduled()
        // something came in during this yield (a frame reached lwIP, a timer fired):
        // the sketch has not seen it yet, even if the poll that yielded found nothing
        settleIdle(eventCount == before ? flags : flags | Activity.active, until: limit)
        watchdog.feed(now: clock.micros)
        lastYield = clock.micros
    }

    /// `optimistic_yield(us)`: yields only if more than `us` passed since the last
    /// yield — or at once while the sketch is known to be polling idly (two idle
    /// stretches in a row, no activity since): it would only spin until then, and
    /// the next event is what it waits for. The wait itself is the yield's (`settleIdle`).
    @inline(__always)
    public func optimisticYield(_ us: UInt64, until limit: UInt64 = .max) {
        if clock.micros &- lastYield > us || pollingIdly { yield(until: limit) }
    }

    /// Whether the sketch's code can suspend (`cont_can_suspend(g_pcont)`): false
    /// while an interrupt handler runs (SYS context). Then `esp_delay` cannot
    /// suspend either (core_esp8266_main.cpp l.127-131, 3.1.2): `espDelay` spins
    /// (`spin`) and `yield`/`optimisticYield` do nothing; the `yield()` the sketch
    /// calls panics (the Lua side's).
    public var canSuspend = true

    /// `esp_delay`'s loop (coredecls.h l.67-71) when it cannot suspend: board time
    /// passes until `deadline` or until `blocked()` no longer holds, with the world's
    /// events (hardware timers) but no background pass and no watchdog feeding; it
    /// stops where the watchdog would bite, for the next instruction hook to bite.
    private func spin(until deadline: UInt64, while blocked: () -> Bool) {
        let end = min(deadline, watchdog.deadline())
        while clock.micros < end && blocked() && !isStopping {
            var step = end - clock.micros
            if let t = timers.nextHardwareDue { step = min(step, t > clock.micros ? t - clock.micros : 0) }
            if step > 0 { clock.busyWait(step) }
            timers.fireHardwareDue(now: clock.micros)
        }
    }

    /// The end of a `loop()` pass (the core's loop_wrapper: loop_end, esp_schedule):
    /// the pass's board time, then a yield. `sketchMicros` is the board time the
    /// pass's Lua instructions cost (used when pacing in real time).
    public func loopEnd(sketchMicros: UInt64 = 0) {
        passes &+= 1
        clock.spend(loopOverheadMicros)
        if pacing && clock.mode == .real { pace(loopOverheadMicros + sketchMicros) }
        yield()
    }

    // MARK: idle

    private func settleIdle(_ flags: UInt32, until limit: UInt64 = .max) {
        guard !pacing else { return }
        let now = clock.micros
        let idle =
            flags & (Activity.active | Activity.readMicros) == 0 && !(scheduled?.pending() ?? false)
            && !(sketchWorked?() ?? false)
        // (no spin after an active pass: the next event wakes the board from ppoll()
        // within tens of µs, and a lab of 30 boards spun 1 ms after every pass that
        // did something: 6.0 % of a core with visitors instead of 4.3 %)
        guard idle else {
            idleStretches = 0
            pollingIdly = false
            return
        }
        idleStretches += 1
        guard idleStretches >= 2, !isStopping else { return }
        pollingIdly = true
        if clock.mode == .real && now < spinUntil { return }
        let cap = flags & Activity.readMillis != 0 ? (now / 1000 + 1) * 1000 : now + 1_000_000
        idleWaits &+= 1
        waitForEvent(until: min(cap, endAt, limit))
        backgroundPass()
        runScheduled()
        // something happened (or time passed): the sketch gets two stretches to see it
        // before it is judged idle again (a poll that yielded here already decided
        // to return "nothing"); still polling idly, they are two quick polls
        idleStretches = 0
    }

    /// Real time, `pacing`: sleeps off what the passes cost in board time beyond
    /// what they took on the host (in 1 ms steps, servicing the host meanwhile).
    private func pace(_ cost: UInt64) {
        paceDebt &+= cost
        if paceDebt >= 1000 {
            let until = clock.refresh() + paceDebt
            paceDebt = 0
            while clock.micros < until, !isStopping {
                waitForEvent(until: until)
                backgroundPass()
            }
        }
    }

    // MARK: passes and waits

    /// Real time: the board thread's CPU time (µs) and board time at the last mark
    /// (a wake-up, or a pass at most every half `busyMicros`).
    private var cpuMark: UInt64 = 0
    private var cpuMarkAt: UInt64 = 0

    private func threadCPUMicros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    private func markCPU() {
        cpuMark = threadCPUMicros()
        cpuMarkAt = clock.micros
    }

    /// In real time a stretch without a pass is the sketch keeping the CPU only if
    /// the thread ran that long: a host too busy to schedule the board (other
    /// programs, two cores) is not a busy sketch, and frames still reach lwIP one
    /// per pass. Virtual time has no such gaps.
    private func sketchKeptCPU() -> Bool {
        guard clock.mode == .real else { return true }
        let cpu = threadCPUMicros()
        let kept = cpu &- cpuMark > busyMicros
        cpuMark = cpu
        cpuMarkAt = clock.micros
        return kept
    }

    /// One pass of background work (see the type's comment for the order).
    public func backgroundPass() {
        if let g = grant, clock.micros >= g.horizon { syncBusy(g) }
        var now = clock.refresh()
        if !inbox.isEmpty { for c in inbox.drain() { perform(c); eventCount &+= 1 } }
        if time.engaged && clock.mode == .virtual {
            governTime()
            now = clock.micros
        }
        if now &- lastPassEnd > busyMicros && sketchKeptCPU() {
            // the sketch kept the CPU: what the world did meanwhile is all there now
            catchingUp = true
            var rounds = 0
            repeat {
                for s in sources { s.service(now: clock.micros) }
                if timers.fireDue(now: clock.micros) { eventCount &+= 1 }
                rounds += 1
            } while rounds < 64 && pollHostNow()
            catchingUp = false
        } else {
            if now &- lastHostPoll >= hostPollInterval { pollHostNow() }
            for s in sources { s.service(now: now) }
            if timers.fireDue(now: clock.micros) { eventCount &+= 1 }
        }
        lastPassEnd = clock.micros
        if clock.mode == .real && lastPassEnd &- cpuMarkAt > busyMicros / 2 { markCPU() }
        interruptService?()
        // summing the free runs costs more than a pass: only after the heap changed
        if events.wants(.heap), heap.changes != lastHeapChanges {
            lastHeapChanges = heap.changes
            let h = (heap.freeBytes, heap.maxFreeBlockSize)
            if h != lastHeap {
                lastHeap = h
                events.publish(.heap(free: h.0, maxBlock: h.1))
            }
        }
    }

    /// Runs the queued callbacks. The sketch's continuation is suspended while they run
    /// (the SDK runs them from its task, the core's scheduled functions after a resume),
    /// and the SDK feeds the dog whenever it is: they start with a fed dog, even late in a
    /// long `delay()`.
    private func runScheduled() {
        if let s = scheduled, s.pending() {
            watchdog.feed(now: clock.refresh())
            s.run()
            eventCount &+= 1
        }
    }

    /// While the sketch computes: the inbox's commands that are the world's doing (a
    /// part's control from the page, serial input) are carried out now; the others
    /// (frames, reset, stop) wait for the next pass. The eventfd stays as it was,
    /// so an idle wait still wakes for what is left.
    public func performWorldCommands() {
        guard !inbox.isEmpty else { return }
        for c in inbox.drainWorld() {
            perform(c)
            eventCount &+= 1
        }
    }

    /// A source did something the sketch may see (the network handed a frame to lwIP).
    @inline(__always) public func noteEvent() { eventCount &+= 1 }

    private func perform(_ command: BoardCommand) {
        if case .stop = command {
            // the run ends here, as when `--for` elapses
            endAt = min(endAt, clock.micros)
            return
        }
        // board time is the host's in real time: pause, step and speed mean nothing there
        if clock.mode == .virtual, time.perform(command, now: clock.micros, passes: passes) { return }
        for h in commandHandlers where h(command) { return }
    }

    // MARK: the time authority (virtual time)

    /// Holds while paused (or at a step's end), then keeps board time within the set
    /// speed: a board ahead of it waits on the host (its descriptors and the inbox
    /// still served), at most 50 ms at a time so the sources are serviced.
    private func governTime() {
        if time.mustHold(now: clock.micros, passes: passes) { hold() }
        let wait = time.hostWait(toReach: clock.micros, now: clock.micros)
        if wait > 0 { pollHost(timeoutMicros: min(wait, 50_000)) }
    }

    /// The board's thread waits for the inbox while paused: board time stands still;
    /// commands are carried out (a step or resume ends the hold, and so do stop and reset).
    private func hold() {
        var lastHeld: UInt64 = 0
        while time.paused && !isStopping {
            let host = BoardClock.monotonicNanos()
            if host &- lastHeld >= 100_000_000 {
                lastHeld = host
                for w in heldWatchers { w.service(now: clock.micros) }
            }
            var fd = pollfd(fd: inbox.wakeDescriptor, events: Int16(POLLIN), revents: 0)
            var ts = timespec(tv_sec: 0, tv_nsec: 100_000_000)
            _ = sys_ppoll(&fd, 1, &ts, nil)
            if !inbox.isEmpty { for c in inbox.drain() { perform(c); eventCount &+= 1 } }
        }
        time.anchor(clock.micros)
        for w in heldWatchers { w.service(now: clock.micros) }
    }

    /// Waits until the next event or `deadline`: in real time blocked in `ppoll()`
    /// on the host's descriptors and the inbox; in virtual time by moving the
    /// clock (after settling host input that is already there). The next event is
    /// computed after the host descriptors were gathered, when slirp has said what
    /// its timers need (a delayed ACK is due in 2 ms).
    public func waitForEvent(until deadline: UInt64) {
        guard inbox.isEmpty else { return }
        switch clock.mode {
        case .virtual:
            // host peers in this process answer within their calls: let causal
            // chains through host sockets complete before time moves on
            if settleRounds < 10_000, pollHostNow() {
                settleRounds += 1
                return
            }
            settleRounds = 0
            var next = nextEvent(until: deadline)
            if let g = grant {
                // a lab's conductor: up to the horizon, then report and wait for the next grant
                while next >= g.horizon && !stopRequested {
                    if g.horizon > clock.micros { clock.advance(to: g.horizon) }
                    if !g.sync(now: clock.micros, next: next) { stopRequested = true }
                    next = nextEvent(until: deadline)
                }
                // the conductor went away: time stops where it was granted
                if stopRequested { return }
            }
            if let held = heldToHostPace, held() {
                next = hostPaced(next)
            } else {
                holdOrigin = nil
                if time.engaged {
                    // a step ends where it asked; a speed spreads the jump over host time
                    next = time.limit(next)
                    let wait = time.hostWait(toReach: next, now: clock.micros)
                    if wait > 0 {
                        pollHost(timeoutMicros: min(wait, 50_000))
                        next = min(next, max(clock.micros, time.allowed(now: clock.micros)))
                    }
                }
            }
            if next > clock.micros { clock.advance(to: next) }
        case .real:
            // within the spin after activity: look, but do not sleep (a wake-up costs
            // tens of microseconds, more than the answer takes to come)
            pollHost(until: clock.micros < spinUntil ? nil : deadline)
            clock.refresh()
            markCPU()
        }
        lastPassEnd = clock.micros
    }

    /// The sketch kept the CPU past the horizon the conductor granted: report
    /// (nothing to wait for, the board is busy) and wait for the next grant.
    private func syncBusy(_ g: TimeGrant) {
        while clock.micros >= g.horizon && !stopRequested {
            if !g.sync(now: clock.micros, next: clock.micros) { stopRequested = true }
        }
    }

    /// Virtual time held to the host's pace (`heldToHostPace`): board time may
    /// run at most as far past the hold's start as the wall clock has; a wait
    /// beyond that is spent in `ppoll()` on the host's descriptors (the host's
    /// answer ends it). Returns the board time to move to.
    private func hostPaced(_ next: UInt64) -> UInt64 {
        let origin = holdOrigin ?? (clock.micros, BoardClock.monotonicNanos())
        holdOrigin = origin
        func allowed() -> UInt64 { origin.board + (BoardClock.monotonicNanos() &- origin.wall) / 1000 }
        let limit = allowed()
        if next > limit {
            pollHost(timeoutMicros: next - limit)
            return min(next, max(allowed(), clock.micros))
        }
        return next
    }

    /// The earliest of `deadline`, the next board timer and every source's next deadline.
    private func nextEvent(until deadline: UInt64) -> UInt64 {
        let now = clock.micros
        var next = deadline
        if let t = timers.nextDue { next = min(next, t) }
        for s in sources { if let d = s.nextDeadline(now: now) { next = min(next, d) } }
        return next
    }

    /// Polls every host descriptor (and the inbox) without waiting; returns whether any was ready.
    @discardableResult
    private func pollHostNow() -> Bool { pollHost(until: nil) }

    /// Polls every host descriptor (and the inbox), waiting until the next event
    /// before `deadline` (nil: not at all); returns whether any was ready.
    @discardableResult
    private func pollHost(until deadline: UInt64?) -> Bool {
        pollHost(mayWait: deadline != nil) { [self] in
            guard let deadline else { return 0 }
            let next = nextEvent(until: deadline), now = clock.micros
            return next > now ? next - now : 0
        }
    }

    /// Polls every host descriptor (and the inbox), waiting at most `timeoutMicros`
    /// of wall time (virtual time held to the host's pace); returns whether any was ready.
    @discardableResult
    private func pollHost(timeoutMicros: UInt64) -> Bool { pollHost(mayWait: timeoutMicros > 0) { timeoutMicros } }

    /// Gathers the descriptors, then waits at most `timeout()` µs (asked after
    /// the gathering, when slirp has said what its timers need).
    private func pollHost(mayWait: Bool, timeout: () -> UInt64) -> Bool {
        lastHostPoll = clock.micros
        fds.removeAll(keepingCapacity: true)
        ranges.removeAll(keepingCapacity: true)
        for io in hostIO {
            let start = fds.count
            io.addDescriptors(to: &fds, mayWait: mayWait)
            ranges.append(start..<fds.count)
        }
        fds.append(pollfd(fd: inbox.wakeDescriptor, events: Int16(POLLIN), revents: 0))
        let timeoutMicros = timeout()
        var ts = timespec(tv_sec: Int(timeoutMicros / 1_000_000), tv_nsec: Int(timeoutMicros % 1_000_000) * 1000)
        let r = fds.withUnsafeMutableBufferPointer { sys_ppoll($0.baseAddress, nfds_t($0.count), &ts, nil) }
        // what the sources do now (slirp's timers: its delayed ACK) happens at the time they woke
        if timeoutMicros > 0 { clock.refresh() }
        var ready = false
        fds.withUnsafeMutableBufferPointer { all in
            for (io, range) in zip(hostIO, ranges) {
                let slice = UnsafeMutableBufferPointer(rebasing: all[range])
                if io.handle(slice, failed: r < 0) { ready = true }
            }
        }
        return ready || !inbox.isEmpty
    }
}

/// Grants board time in a lab run in virtual time (the lockstep conductor,
/// DESIGN.md 14): the board may run up to `horizon`; there it reports its time
/// and its next deadline and waits for the next grant (which brings the frames
/// other boards sent it meanwhile).
public protocol TimeGrant: AnyObject {
    /// Board time (µs) the board may not reach before the next `sync`.
    var horizon: UInt64 { get }
    /// Reports `now` and the board time of the board's next event (`next`, or
    /// `now` while the sketch keeps the CPU) and blocks until the next grant.
    /// False when the conductor went away: the run ends.
    func sync(now: UInt64, next: UInt64) -> Bool
}
