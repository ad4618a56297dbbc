import ArduinoLua
import BoardCore
import BoardNet
import Foundation

/// Runs sketches on a board in virtual time and captures the serial transcript:
/// the test bench for bindings and example sketches (like swift-nio's EmbeddedEventLoop).
public final class SketchRun {
    public let device: Device
    public let outcome: RunOutcome
    public let transcript: String
    public let log: [String]

    init(device: Device, outcome: RunOutcome, transcript: String, log: [String]) {
        self.device = device
        self.outcome = outcome
        self.transcript = transcript
        self.log = log
    }

    /// Releases the device's network (call when done inspecting).
    public func finish() { device.shutdown() }
}

public enum SketchHarness {
    /// Runs `source` (written to a temporary `name`) for `duration` µs of virtual time.
    public static func run(
        source: String, name: String = "sketch.lua", for duration: UInt64,
        noReboot: Bool = true, files: [String: String] = [:], world: String? = nil,
        configure: (inout DeviceOptions) -> Void = { _ in },
        prepare: (Device) -> Void = { _ in }
    ) throws -> SketchRun {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(name).path
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        for (file, text) in files { try text.write(toFile: dir.appendingPathComponent(file).path, atomically: true, encoding: .utf8) }
        if let world {
            let worldPath = String(path.dropLast(4)) + ".world.json"
            try world.write(toFile: worldPath, atomically: true, encoding: .utf8)
        }
        return try run(path: path, for: duration, noReboot: noReboot, configure: configure, prepare: prepare)
    }

    /// Runs the sketch file at `path` for `duration` µs of virtual time.
    public static func run(
        path: String, for duration: UInt64, noReboot: Bool = true,
        configure: (inout DeviceOptions) -> Void = { _ in },
        prepare: (Device) -> Void = { _ in }
    ) throws -> SketchRun {
        var options = DeviceOptions(sketchPath: path)
        options.board.timeMode = .virtual
        options.noReboot = noReboot
        options.runFor = duration
        configure(&options)
        final class Buffer: @unchecked Sendable { var bytes: [UInt8] = []; var log: [String] = [] }
        let buffer = Buffer()
        let device = try Device(options: options) { buffer.bytes.append(contentsOf: $0) }
        device.log = { buffer.log.append($0) }
        prepare(device)
        let outcome = device.run()
        return SketchRun(device: device, outcome: outcome, transcript: String(decoding: buffer.bytes, as: UTF8.self), log: buffer.log)
    }
}

/// Seconds → microseconds, for readable durations in tests.
public func seconds(_ s: Double) -> UInt64 { UInt64(s * 1_000_000) }
