// swift-tools-version: 6.0
// The dependency graph is the architecture (shared/DESIGN.md):
//   BoardCore (no Lua, no lwIP) <- BoardNet (lwIP, slirp, VDE, BearSSL) <- ArduinoLua (Lua + board) <- esplua (CLI)
//   LuaRuntime (Lua only)       <- ArduinoLua
import PackageDescription

/// Release builds skip Swift's dynamic exclusivity checks in the hot layers: they
/// were ~30% of a binding call's time under perf (swift_beginAccess, AccessSet).
let fast: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "esplua",
    products: [
        .executable(name: "esplua", targets: ["esplua"]),
        // Plugins: shared libraries esplua finds beside itself (libesplua-<name>.so)
        .library(name: "esplua-wire", type: .dynamic, targets: ["WireEntry", "PluginExport"]),
        .library(name: "esplua-spi", type: .dynamic, targets: ["SPIEntry", "PluginExport"]),
        .library(name: "esplua-servo", type: .dynamic, targets: ["ServoEntry", "PluginExport"]),
        .library(name: "esplua-littlefs", type: .dynamic, targets: ["LittleFSEntry", "PluginExport"]),
        .library(name: "esplua-parts", type: .dynamic, targets: ["PartsPlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `run --ui`: one static route and one WebSocket beside the board's thread (README)
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    ],
    targets: [
        // C boundary
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        // clua_strlib.c compiles Lua's lstrlib.c (fetched at set-up into upstream/) with the watchdog's macros
        .target(name: "CLuaShim", dependencies: ["CLua"], exclude: ["upstream"]),
        .systemLibrary(name: "CSlirp", providers: [.apt(["libslirp-dev"])]),
        .systemLibrary(name: "CVDEPlug", providers: [.apt(["libvdeplug-dev"])]),
        // BearSSL 0.6 (the engine the core's WiFiClientSecure uses); no pkg-config file
        .systemLibrary(name: "CBearSSL", providers: [.apt(["libbearssl-dev"])]),
        // the core's insecure X.509 class, PEM decoding, client/server set-up (cbr_ prefix)
        .target(name: "CBearSSLShim", dependencies: ["CBearSSL"]),
        // lwIP 2.1.3 from Debian's source package (fetched by `make setup` into
        // upstream/ and include/lwip, include/netif), built with our lwipopts.h.
        .target(
            name: "CLwIP",
            exclude: [
                "upstream/core/memp.c", "upstream/core/pbuf.c", "upstream/core/timeouts.c", "upstream/core/tcp.c", "upstream/COPYING", "upstream/.version",
            ],
            sources: ["port", "upstream/core", "upstream/netif", "upstream/apps/sntp"],
            cSettings: [.headerSearchPath("port"), .unsafeFlags(["-w"])]
        ),

        // Swift layers
        // The plugin contract: one header (include/esplua_plugin.h)
        .target(name: "CPluginABI"),
        .target(name: "BoardCore", dependencies: ["CPluginABI"], swiftSettings: fast),
        .target(name: "BoardNet", dependencies: ["BoardCore", "CLwIP", "CSlirp", "CVDEPlug", "CBearSSL", "CBearSSLShim"], swiftSettings: fast),
        .target(name: "LuaRuntime", dependencies: ["CLua", "CLuaShim"], swiftSettings: fast),
        .target(name: "ArduinoLua", dependencies: ["BoardCore", "BoardNet", "LuaRuntime"], swiftSettings: fast),
        .target(name: "BoardTesting", dependencies: ["ArduinoLua", "BoardCore", "BoardNet"]),
        // `esplua test`: specs (busted's vocabulary) that drive boards in board time
        .target(name: "SpecRunner", dependencies: ["ArduinoLua", "BoardCore", "BoardNet", "LuaRuntime", "CLua"]),
        // The board on a web page (`run --ui`): the only target that sees SwiftNIO
        .target(
            name: "BoardUI",
            dependencies: [
                "ArduinoLua", "BoardCore", "BoardNet",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            exclude: ["screenshot.png", "screenshot-parts.png"]
        ),
        .executableTarget(
            name: "esplua",
            dependencies: [
                "ArduinoLua", "BoardCore", "BoardNet", "BoardUI", "LittleFSCore", "SpecRunner",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Built-in plugins (plugins/<Name>/), each against the one header
        .target(name: "PluginExport", dependencies: ["CPluginABI"], path: "plugins/Export"),
        .target(name: "PluginKit", dependencies: ["CPluginABI"], path: "plugins/PluginKit"),
        .target(name: "WirePlugin", dependencies: ["CPluginABI", "PluginKit"], path: "plugins/Wire/Sources/Wire"),
        .target(name: "SPIPlugin", dependencies: ["CPluginABI", "PluginKit"], path: "plugins/SPI/Sources/SPI"),
        .target(name: "WireEntry", dependencies: ["WirePlugin"], path: "plugins/Wire/Sources/WireEntry"),
        .target(name: "SPIEntry", dependencies: ["SPIPlugin"], path: "plugins/SPI/Sources/SPIEntry"),
        .target(name: "ServoPlugin", dependencies: ["CPluginABI", "PluginKit"], path: "plugins/Servo/Sources/Servo"),
        .target(name: "ServoEntry", dependencies: ["ServoPlugin"], path: "plugins/Servo/Sources/ServoEntry"),
        // littlefs v2 (disk 2.0, ESP8266 geometry), written from the format spec; the LittleFS plugin's engine
        .target(name: "LittleFSCore", path: "plugins/LittleFS/Sources/LittleFSCore"),
        .target(name: "LittleFSPlugin", dependencies: ["CPluginABI", "PluginKit", "LittleFSCore"], path: "plugins/LittleFS/Sources/LittleFSPlugin"),
        .target(name: "LittleFSEntry", dependencies: ["LittleFSPlugin"], path: "plugins/LittleFS/Sources/LittleFSEntry"),
        // button, buzzer, potentiometer, UART devices: plain C against the 1.1 header (exports its own ABI symbol)
        .target(name: "PartsPlugin", dependencies: ["CPluginABI"], path: "plugins/Parts", linkerSettings: [.linkedLibrary("m")]),

        // `make fuzz`: what libFuzzer's inputs meet (frames, files, images); the tests replay the corpus
        .target(name: "FuzzTargets", dependencies: ["ArduinoLua", "BoardCore", "BoardNet", "BoardTesting", "LittleFSCore"]),

        // `make bench`: figures beside baselines measured in the same run
        .executableTarget(name: "Benchmarks", dependencies: ["ArduinoLua", "BoardCore", "BoardTesting", "LuaRuntime"]),

        // Tests mirror Sources
        .testTarget(name: "BoardCoreTests", dependencies: ["BoardCore"]),
        .testTarget(name: "BoardNetTests", dependencies: ["BoardNet", "BoardCore", "CLwIP", "BoardTesting"]),
        .testTarget(name: "LuaRuntimeTests", dependencies: ["LuaRuntime"]),
        // Fixtures: the 1.0 plugin header and demo, compiled by the tests with cc
        .testTarget(name: "ArduinoLuaTests", dependencies: ["ArduinoLua", "BoardTesting", "BoardCore", "LittleFSCore"], exclude: ["Fixtures"]),
        .testTarget(name: "espluaTests", dependencies: ["BoardTesting"]),
        .testTarget(name: "SpecRunnerTests", dependencies: ["SpecRunner"]),
        .testTarget(name: "BoardUITests", dependencies: ["BoardUI", "ArduinoLua", "BoardCore", "BoardNet", "BoardTesting"], exclude: ["browser_check.py"]),
        .testTarget(name: "WirePluginTests", dependencies: ["WirePlugin"]),
        .testTarget(name: "SPIPluginTests", dependencies: ["SPIPlugin"]),
        .testTarget(name: "ServoPluginTests", dependencies: ["ServoPlugin"]),
        .testTarget(
            name: "FuzzTargetsTests", dependencies: ["FuzzTargets", "BoardTesting", "BoardCore", "BoardNet", "LittleFSCore"], resources: [.copy("corpus")]),
        .testTarget(name: "LittleFSCoreTests", dependencies: ["LittleFSCore"], exclude: ["oracle.py"]),
    ]
)

// The libFuzzer executable, only in `make fuzz`'s instrumented build (libFuzzer supplies main)
if Context.environment["ESPLUA_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(name: "FuzzEntry", dependencies: ["FuzzTargets"], swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
