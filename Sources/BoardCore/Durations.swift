/// Durations as people write them: "10s", "500ms", "2m", "1h", "250us", "1.5s", or plain seconds.
/// Returns microseconds, nil if the text is not a non-negative duration.
public func parseDurationMicros(_ text: String) -> UInt64? {
    let units: [(String, Double)] = [("ms", 1_000), ("us", 1), ("s", 1_000_000), ("m", 60_000_000), ("h", 3_600_000_000)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        // beyond UInt64's µs (580,000 years) the conversion would trap
        guard let v = Double(text.dropLast(suffix.count)), v >= 0, v.isFinite, v * scale < 1.8e19 else { return nil }
        return UInt64(v * scale)
    }
    guard let v = Double(text), v >= 0, v.isFinite, v * 1_000_000 < 1.8e19 else { return nil }
    return UInt64(v * 1_000_000)
}
