import Glibc
import Synchronization

/// What the outside may ask of a running board (DESIGN.md 15). Nothing else
/// reaches into a board: commands wait in the inbox and are carried out by the
/// board's own loop, between two passes, in the order they were posted.
public enum BoardCommand: Sendable, Equatable {
    /// Bytes arriving on Serial's RX, as if typed into a serial monitor.
    case serialInput([UInt8])
    /// Sets a part's control (`sensor.temperature = 30`).
    case setControl(part: String, control: String, value: Double)
    /// An Ethernet frame arriving on the board's wire.
    case injectFrame([UInt8])
    /// Presses the reset button (EXT_RST): the sketch stops where it is and the
    /// board boots again, reason "External System" (the web page's reset button).
    case reset
    /// Ends the run (as `--for` does when it elapses).
    case stop
    /// Virtual time: board time stands still until `resume` or `step` (`TimeControl`).
    case pause
    /// Virtual time: runs on after a pause.
    case resume
    /// Virtual time: runs this far, then pauses.
    case step(TimeStep)
    /// Virtual time: board time runs at most this many times the host's (0: as fast as possible).
    case setSpeed(Double)
}

/// The board's command inbox: `post` is safe from any thread and wakes a board
/// that sleeps in its idle wait (an eventfd it watches); the board drains it on
/// its own thread.
public final class BoardInbox: Sendable {
    private let queue = Mutex<[BoardCommand]>([])
    private let count = Atomic<Int>(0)
    /// Readable while commands wait (an eventfd); the board's idle wait watches it.
    public let wakeDescriptor: Int32

    public init() {
        wakeDescriptor = sys_eventfd(0, eventfdFlags)
    }

    deinit { if wakeDescriptor >= 0 { close(wakeDescriptor) } }

    /// Queues `command` for the board. Any thread.
    public func post(_ command: BoardCommand) {
        queue.withLock { $0.append(command) }
        count.add(1, ordering: .releasing)
        if wakeDescriptor >= 0 {
            var one: UInt64 = 1
            _ = write(wakeDescriptor, &one, 8)
        }
    }

    /// Takes every waiting command (the board's thread).
    func drain() -> [BoardCommand] {
        if wakeDescriptor >= 0 {
            var count: UInt64 = 0
            _ = read(wakeDescriptor, &count, 8)
        }
        return queue.withLock { q in
            let taken = q
            q.removeAll()
            count.subtract(taken.count, ordering: .relaxed)
            return taken
        }
    }

    /// Takes the waiting commands that are the world's doing (a part's control,
    /// bytes on Serial's RX: hardware that does not wait for the sketch to yield),
    /// leaving the others, in order, for the loop (the board's thread).
    func drainWorld() -> [BoardCommand] {
        let taken: [BoardCommand] = queue.withLock { q in
            var world: [BoardCommand] = [], rest: [BoardCommand] = []
            for c in q {
                switch c {
                case .setControl, .serialInput: world.append(c)
                default: rest.append(c)
                }
            }
            q = rest
            count.subtract(world.count, ordering: .relaxed)
            return world
        }
        return taken
    }

    /// Whether no command waits (one atomic load: checked on every pass).
    var isEmpty: Bool { count.load(ordering: .acquiring) == 0 }
}
