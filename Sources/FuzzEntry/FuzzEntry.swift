import FuzzTargets
import Glibc

// libFuzzer's entry (LLVMFuzzerRunDriver with our callback): ESPLUA_FUZZ_TARGET names the target (FuzzTargets.all: frames, frames-cold, gateway, filter, world, wiring, lab, littlefs).
// A problem a target reports is a finding, as a crash or a sanitizer report is.

private func say(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

private let target: @Sendable ([UInt8]) -> String? = {
    let name = getenv("ESPLUA_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let t = FuzzTargets.all.first(where: { $0.name == name }) else {
        say("FuzzEntry: set ESPLUA_FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: ", "))")
        exit(2)
    }
    return t.run
}()

/// libFuzzer's driver, called from our main (SwiftPM links an executable's main under its own name).
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
enum FuzzEntry {
    static func main() {
        var args = CommandLine.arguments
        // a target that keeps state across inputs (the frames board) holds memory an
        // input allocated after it returns: libFuzzer's per-input leak check would call
        // that a leak (what the board holds is checked by its heap drift instead)
        let name = getenv("ESPLUA_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        if FuzzTargets.keepsState(name), !args.contains(where: { $0.hasPrefix("-detect_leaks=") }) {
            args.insert("-detect_leaks=0", at: 1)
        }
        var cargs = args.map { strdup($0) } + [nil]
        var argc = CInt(args.count)
        cargs.withUnsafeMutableBufferPointer { buf in
            var argv = buf.baseAddress!
            exit(runDriver(&argc, &argv, fuzzOne))
        }
    }
}

private func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let problem = target(bytes) {
        say("FuzzEntry: \(problem)")
        abort()
    }
    return 0
}
