import BoardCore
import LuaRuntime

/// Runs the sketch's interrupt handlers as the core's GPIO ISR runs them
/// (core_esp8266_wiring_digital.cpp l.134-176): when a latched interrupt may run,
/// before the sketch's next Lua instruction — from the instruction hook (an edge a
/// part, the page or the wiring's schedule made while the sketch computes), right
/// after the call that made it (the sketch's own `digitalWrite` on a looped-back
/// pin, `interrupts()`), or from the event loop while the sketch waits in `delay()`.
///
/// Each handler runs on a coroutine of its own, so the instruction hook (board time,
/// the watchdog) reaches into it; it runs with interrupts off, as under the core's
/// `InterruptLock`, and what the core forbids there crashes as the core does
/// (`yield()` panics, TimeBindings). An error in a handler crashes the board.
final class ISRRunner {
    unowned(unsafe) let board: Board
    /// The Lua state of the current boot (nil between boots).
    unowned(unsafe) var state: LuaState?
    /// The sketch's coroutine (where the hook is asked to fire when no call runs).
    var sketchThread: OpaquePointer?
    /// Whether the sketch must unwind (the run's stop request).
    var isStopping: () -> Bool = { false }
    /// A handler raised an error: the board crashes with it.
    var onError: ((String) -> Void)?
    /// The watchdog bit while handlers ran.
    var onWatchdog: ((ResetReason) -> Void)?
    /// Registry references of the handlers, by pin.
    private var handlers = [Int32?](repeating: nil, count: Interrupts.count)
    private var running = false

    /// Board time an interrupt's entry and the core's dispatch cost before the
    /// handler's first instruction (an estimate: the Xtensa's level-1 vector, the
    /// SDK's GPIO dispatch and `interrupt_handler`'s loop are a few hundred cycles).
    static let entryMicros: UInt64 = 3

    init(board: Board) {
        self.board = board
        board.interrupts.onPending = { [unowned self] in self.letIn() }
        board.loop.interruptService = { [unowned self] in self.service() }
    }

    /// Whether a handler is running (the core's code is in SYS context, not CONT).
    var inHandler: Bool { board.interrupts.inHandler }

    /// `attachInterrupt(pin, fn, mode)`: `ref` is the handler's registry reference, owned from now on.
    func attach(pin: Int, handler ref: Int32, mode: Interrupts.Mode) {
        guard (0..<Interrupts.count).contains(pin), let state else { return }
        if let old = handlers[pin] { state.unref(old) }
        handlers[pin] = ref
        board.interrupts.attach(pin: pin, mode: mode)
    }

    func detach(pin: Int) {
        guard (0..<Interrupts.count).contains(pin) else { return }
        board.interrupts.detach(pin: pin)
        if let old = handlers[pin] { state?.unref(old) }
        handlers[pin] = nil
    }

    /// The boot's Lua state goes: its references with it.
    func clear() {
        handlers = [Int32?](repeating: nil, count: Interrupts.count)
        state = nil
        sketchThread = nil
    }

    /// An interrupt latched: the sketch's thread lets it in before its next instruction.
    private func letIn() {
        guard !running, let state, let thread = state.currentThread ?? sketchThread else { return }
        state.hookSoon(thread: thread)
    }

    /// Runs the latched interrupts' handlers now, until none is latched.
    func service() {
        guard !running, let state, board.interrupts.canRun, !isStopping() else { return }
        running = true
        defer { running = false }
        while board.interrupts.canRun && !isStopping() {
            let pins = board.interrupts.enter()
            defer { board.interrupts.finish() }
            for pin in pins {
                guard let ref = handlers[pin] else { continue }
                if let bite = board.spendCPU(micros: ISRRunner.entryMicros) {
                    onWatchdog?(bite)
                    return
                }
                state.pushRef(ref)
                let handler = LuaThread(state: state)
                board.loop.canSuspend = false
                let outcome = handler.resume()
                board.loop.canSuspend = true
                switch outcome {
                case .finished, .yielded: break  // yielded: the hook stopped the board inside it
                case .failed(let message, _):
                    onError?(message)
                    return
                }
                // a handler that spun (delay) to where the dog bites may end before its next hook
                if !isStopping(), let bite = board.spendCPU(micros: 0) {
                    onWatchdog?(bite)
                    return
                }
                if isStopping() { return }
            }
        }
    }
}
