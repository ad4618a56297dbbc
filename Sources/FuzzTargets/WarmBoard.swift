import ArduinoLua
import BoardCore
import BoardNet
import BoardTesting
import Glibc

/// The fast `frames` target's board: booted once (lwIP up, DHCP done, the frame
/// sketch's server listening) and kept across inputs, so an input costs its
/// frames and a little board time, not a boot (a boot costs ~5 ms; an input
/// a few µs to a few hundred).
///
/// The board runs on its own thread in virtual time; between two inputs it
/// stands still in a board timer (the barrier) that waits for the next one.
/// An input's frames then enter as slirp's and VDE's do (the inbox's
/// `injectFrame`, one per pass, at the input's gaps), and the board runs on
/// to `settleMicros` after the last frame (lwIP's timers, the sketch's passes)
/// before the next barrier. The fuzzer's thread and the board's never run at
/// once: each waits for the other (two semaphores).
///
/// The trade-off: an input meets the state the inputs before it left (open
/// connections, TIME_WAIT pcbs, ARP entries), which finds bugs that need a
/// sequence, but a crash may need more than its own input to show again. The
/// board reboots after `inputsPerBoot` inputs (`ESPLUA_FUZZ_REBOOT_EVERY`, 256
/// by default) or sooner when the heap drifts (free heap `heapDriftBytes` below
/// what it was after boot, or the live allocations grew by `allocationDrift`),
/// so a crash needs at most the inputs since the last boot: `inputsSinceBoot`
/// holds them, a reported problem writes them beside the finding, and
/// `ESPLUA_FUZZ_REBOOT_EVERY=1` (or the `frames-cold` target) replays an input
/// alone on a fresh board.
///
/// Frames the board sends go nowhere once DHCP is done (the link peer takes them
/// all, answering ARP for slirp's gateway and DNS addresses as slirp does): a
/// fuzzed frame cannot make slirp open host sockets, and what the board hears
/// is what the input holds.
final class WarmBoard: @unchecked Sendable {
    nonisolated(unsafe) static var shared: WarmBoard?
    nonisolated(unsafe) private static var stopsAtExit = false

    /// Inputs between two boots.
    let inputsPerBoot: Int
    /// Board time after an input's last frame before the next input.
    let settleMicros: UInt64 = 50_000
    /// A reboot when the free heap fell this far below the boot's.
    let heapDriftBytes = 8 * 1024
    /// A reboot when this many more heap blocks are live than after boot.
    let allocationDrift = 64

    let sketchPath: String
    private let ready = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    /// The input handed over (nil: the board is asked to shut down).
    private var input: [UInt8]?
    private var result: String?
    private var watch: (([UInt8]) -> Void)?
    private var thread = pthread_t()
    private var running = false
    /// Boots so far, and the inputs since the last boot (a finding's context).
    private(set) var boots = 0
    private(set) var inputsSinceBoot: [[UInt8]] = []
    /// Inputs run, and reboots because the heap drifted.
    private(set) var inputsRun = 0
    private(set) var driftReboots = 0

    init(sketchPath: String, inputsPerBoot: Int? = nil) {
        self.sketchPath = sketchPath
        let every = getenv("ESPLUA_FUZZ_REBOOT_EVERY").flatMap { Int(String(cString: $0)) } ?? 256
        self.inputsPerBoot = max(1, inputsPerBoot ?? every)
        sem_init(ready, 0, 0)
        sem_init(done, 0, 0)
    }

    /// Runs one input on the board (booting it first if needed); what went wrong, or nil.
    /// `watch` sees every frame the board sends while the input runs.
    func run(_ data: [UInt8], watch: (([UInt8]) -> Void)? = nil) -> String? {
        if !running { start() }
        input = data
        self.watch = watch
        handOver()
        self.watch = nil
        return result
    }

    /// Shuts the board down and ends its thread (a test's tearDown: lwIP is
    /// process-global, the next test's board needs it).
    func stop() {
        guard running else { return }
        input = nil
        handOver()
        pthread_join(thread, nil)
        running = false
    }

    private func handOver() {
        sem_post(ready)
        while sem_wait(done) != 0 && errno == EINTR {}
    }

    private func waitForInput() {
        while sem_wait(ready) != 0 && errno == EINTR {}
    }

    private func start() {
        if !WarmBoard.stopsAtExit {
            // libFuzzer ends a session with exit(): the board shuts down first (the leak
            // check at exit then sees no board half-way through an input)
            WarmBoard.stopsAtExit = true
            atexit { WarmBoard.shared?.stop() }
        }
        running = true
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setstacksize(&attr, 64 << 20)  // Lua and ASan's redzones
        let me = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &thread, &attr,
            { arg in
                let board = Unmanaged<WarmBoard>.fromOpaque(arg!).takeRetainedValue()
                board.main()
                return nil
            }, me)
        pthread_attr_destroy(&attr)
        precondition(rc == 0, "cannot start the fuzz board's thread")
    }

    /// The board's thread: boot, run inputs until a reboot is due, again.
    private func main() {
        // the first input is already handed over when the thread starts
        waitForInput()
        while input != nil {
            let (problem, busy) = boot()
            guard busy else { continue }
            // the input in progress ended the run (a crash)
            result = problem
            inputsRun += 1
            if problem != nil { saveContext() }
            sem_post(done)
            waitForInput()
        }
        sem_post(done)
    }

    /// One boot: runs inputs until a reboot is due (or a crash, or `stop`).
    /// Returns what went wrong and whether an input was in progress then.
    private func boot() -> (problem: String?, busy: Bool) {
        boots += 1
        inputsSinceBoot = []
        var options = DeviceOptions(sketchPath: sketchPath)
        options.board.timeMode = .virtual
        options.noReboot = true
        options.network.associationMicros = 0
        let device: Device
        do { device = try Device(options: options) { _ in } } catch {
            return ("the device did not start: \(error)", true)
        }
        device.log = { _ in }
        defer { device.shutdown() }
        device.board.events.subscribe(.frame) { [unowned self] _, event in
            if let watch = self.watch, case .frame(outbound: true, let buf) = event { watch(Array(buf)) }
        }
        var busy = false
        var baseline = (free: 0, live: 0)
        let board = device.board
        let network = device.network
        func barrier() {
            if busy {
                busy = false
                inputsRun += 1
                result = nil
                let drift =
                    board.heap.freeBytes < baseline.free - heapDriftBytes
                    || board.heap.liveCount > baseline.live + allocationDrift
                if drift { driftReboots += 1 }
                let reboot = drift || inputsSinceBoot.count >= inputsPerBoot
                sem_post(done)
                waitForInput()
                if reboot {
                    board.loop.requestStop()
                    return
                }
            } else {
                baseline = (board.heap.freeBytes, board.heap.liveCount)
                // from now on the link is the fuzzer's: slirp's ARP answers stay (as on
                // its network), everything else the board sends goes nowhere
                network.linkPeer = { frame in
                    for ip in ["10.0.2.2", "10.0.2.3"] {
                        if let reply = EthernetFrames.arpReply(to: frame, ip: ip, mac: EthernetFrames.gatewayMAC) {
                            board.loop.inbox.post(.injectFrame(reply))
                        }
                    }
                    return true
                }
            }
            guard let data = input else {
                board.loop.requestStop()
                return
            }
            busy = true
            inputsSinceBoot.append(data)
            var at = board.clock.micros
            for (gap, frame) in FuzzTargets.splitFrames(data) {
                at += UInt64(gap) * 1000
                _ = board.timers.schedule(at: at) { board.loop.inbox.post(.injectFrame(frame)) }
            }
            _ = board.timers.schedule(at: at + settleMicros) { barrier() }
        }
        _ = board.timers.schedule(at: board.clock.micros + FuzzTargets.firstFrameMicros) { barrier() }
        let outcome = device.run()
        let problem = FuzzTargets.problem(outcome)
        return (problem, busy || problem != nil)  // a boot that fails is the input's finding too
    }

    /// A finding's context: the inputs since the boot, as one `frames-cold` input
    /// when they fit (it keeps 64 frames), beside libFuzzer's artifacts.
    private func saveContext() {
        guard let dir = getenv("ESPLUA_FUZZ_CONTEXT_DIR").map({ String(cString: $0) }) else { return }
        let joined = inputsSinceBoot.flatMap { $0 }
        let path = "\(dir)/context-boot\(boots)-\(inputsSinceBoot.count)-inputs"
        guard let f = fopen(path, "w") else { return }
        _ = joined.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
}
