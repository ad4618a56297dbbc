/// The board's time of day, as the core keeps it (cores/esp8266/time.cpp): the
/// time since boot (`micros64()`) plus a shift (`timeshift64`, l.74) that
/// `settimeofday` sets (l.278-305), whether SNTP or the sketch calls it. At boot
/// the shift is 0, so `time()` counts seconds since boot (1970-01-01 00:00 plus
/// uptime) until SNTP answers — as on a board. The time zone is newlib's: none
/// (UTC) until `configTime`/`setTZ`. All of it lives in RAM: a reboot clears it.
/// Single-threaded, on the board's thread.
public final class TimeOfDay {
    private unowned let clock: BoardClock
    /// `timeshift64`: µs to add to the time since boot.
    public private(set) var shift: Int64 = 0
    /// The zone `localtime` uses.
    public private(set) var zone = PosixTimeZone.utc
    /// `getenv("TZ")`: the string given to `setTZ`/`configTime(tz, …)`, nil otherwise.
    public private(set) var tzString: String?
    /// Called after each `settimeofday` with `fromSNTP` (the core schedules
    /// `settimeofday_cb`'s function for the next yield, time.cpp:301-302).
    private var handlers: [(Bool) -> Void] = []

    init(clock: BoardClock) { self.clock = clock }

    /// Time since boot in µs (`micros64()`).
    private var uptime: Int64 { Int64(clock.refresh() - clock.bootedAt) }

    /// µs since the epoch (`gettimeofday`, time.cpp:137-148).
    public var epochMicros: Int64 { uptime + shift }

    /// `time(nullptr)` (time.cpp:127-135).
    public var seconds: Int64 { epochMicros / 1_000_000 }

    /// `settimeofday(tv, tz)` (time.cpp:278-305): the shift follows; handlers run.
    public func set(seconds: Int64, micros: Int64 = 0, fromSNTP: Bool) {
        shift = seconds * 1_000_000 + micros - uptime
        for h in handlers { h(fromSNTP) }
    }

    /// Subscribes to every `settimeofday` (SNTP's and the sketch's).
    public func onSet(_ handler: @escaping (Bool) -> Void) { handlers.append(handler) }

    /// `configTime(tz_sec, dst_sec, …)`'s zone (time.cpp:180-199): a fixed offset
    /// east of UTC of `offset + dst` seconds, named "GMT", never DST; TZ unset.
    public func setFixedOffset(_ eastSeconds: Int) {
        zone = PosixTimeZone(standardName: "GMT", standardOffset: eastSeconds)
        tzString = nil
    }

    /// `setTZ(tz)` (time.cpp:224-230): setenv("TZ") + tzset(). A string newlib
    /// cannot parse leaves UTC (newlib's tzset keeps "GMT" defaults).
    public func setTZ(_ tz: String) {
        tzString = tz
        zone = PosixTimeZone(parsing: tz) ?? .utc
    }

    /// A reboot: RAM is gone (shift, zone, handlers).
    func reset() {
        shift = 0
        zone = .utc
        tzString = nil
        handlers.removeAll()
    }
}

/// A broken-down time (`struct tm`): C's fields and ranges (tm_mon 0-11,
/// tm_year since 1900, tm_wday 0 = Sunday, tm_yday 0-365).
public struct BrokenDownTime: Sendable, Equatable {
    public var sec = 0, min = 0, hour = 0, mday = 1, mon = 0, year = 70, wday = 4, yday = 0, isdst = 0
    /// Seconds east of UTC and the zone's abbreviation (`tm_gmtoff`, `tm_zone`).
    public var gmtoff = 0
    public var zone = "GMT"

    /// `gmtime(t)` shifted by `offset` seconds (days from the civil calendar, Howard Hinnant's algorithm).
    public init(epoch t: Int64, offset: Int = 0, isdst: Bool = false, zone: String = "GMT") {
        let s = t + Int64(offset)
        var days = s / 86400
        var rem = s % 86400
        if rem < 0 { rem += 86400; days -= 1 }
        hour = Int(rem / 3600); min = Int(rem % 3600 / 60); sec = Int(rem % 60)
        wday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        let (y, m, d) = BrokenDownTime.civil(fromDays: days)
        year = Int(y) - 1900; mon = m - 1; mday = d
        yday = Int(days - BrokenDownTime.days(fromCivil: y, 1, 1))
        self.isdst = isdst ? 1 : 0
        gmtoff = offset
        self.zone = zone
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int, Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int, _ d: Int) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(m > 2 ? m - 3 : m + 9)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static let dayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
    ]

    /// `asctime`/`ctime`'s form (newlib asctime_r): "Mon Nov 13 17:07:05 2017\n".
    public var asctime: String {
        let d = String(BrokenDownTime.dayNames[wday].prefix(3)), m = String(BrokenDownTime.monthNames[mon].prefix(3))
        return "\(d) \(m)\(String(mday).leftPad(3, " ")) \(two(hour)):\(two(min)):\(two(sec)) \(year + 1900)\n"
    }

    private func two(_ v: Int) -> String { String(v).leftPad(2, "0") }

    /// `strftime(format, tm)` for the C library's conversions (newlib's set, C locale).
    public func format(_ f: String) -> String {
        var out = ""
        var it = f.makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            guard let k = it.next() else { out.append("%"); break }
            switch k {
            case "a": out += String(BrokenDownTime.dayNames[wday].prefix(3))
            case "A": out += BrokenDownTime.dayNames[wday]
            case "b", "h": out += String(BrokenDownTime.monthNames[mon].prefix(3))
            case "B": out += BrokenDownTime.monthNames[mon]
            case "c": out += format("%a %b %e %H:%M:%S %Y")
            case "C": out += two((year + 1900) / 100)
            case "d": out += two(mday)
            case "D": out += format("%m/%d/%y")
            case "e": out += String(mday).leftPad(2, " ")
            case "F": out += format("%Y-%m-%d")
            case "H": out += two(hour)
            case "I": out += two(hour % 12 == 0 ? 12 : hour % 12)
            case "j": out += String(yday + 1).leftPad(3, "0")
            case "m": out += two(mon + 1)
            case "M": out += two(min)
            case "n": out += "\n"
            case "p": out += hour < 12 ? "AM" : "PM"
            case "r": out += format("%I:%M:%S %p")
            case "R": out += format("%H:%M")
            case "S": out += two(sec)
            case "t": out += "\t"
            case "T": out += format("%H:%M:%S")
            case "u": out += String(wday == 0 ? 7 : wday)
            case "w": out += String(wday)
            case "x": out += format("%m/%d/%y")
            case "X": out += format("%H:%M:%S")
            case "y": out += two((year + 1900) % 100)
            case "Y": out += String(year + 1900)
            case "z":
                let a = abs(gmtoff)
                out += (gmtoff < 0 ? "-" : "+") + two(a / 3600) + two(a % 3600 / 60)
            case "Z": out += zone
            case "%": out += "%"
            default: out += "%" + String(k)
            }
        }
        return out
    }
}

/// A POSIX TZ rule (`std offset [dst [offset] [,start[/time],end[/time]]]`), as
/// newlib's tzset parses it (the strings of the core's TZ.h: "GMT0BST,M3.5.0/1,M10.5.0").
public struct PosixTimeZone: Sendable, Equatable {
    public var standardName: String
    /// Seconds east of UTC (POSIX writes west: "CET-1" is +3600).
    public var standardOffset: Int
    public var daylightName: String?
    public var daylightOffset = 0
    /// DST start and end: (rule, seconds after local midnight).
    var start: Rule?, end: Rule?

    public static let utc = PosixTimeZone(standardName: "GMT", standardOffset: 0)

    enum Rule: Equatable, Sendable {
        case monthWeekDay(month: Int, week: Int, day: Int, time: Int)
        case julian1(day: Int, time: Int)  // Jn: 1-365, no Feb 29
        case julian0(day: Int, time: Int)  // n: 0-365
    }

    public init(standardName: String, standardOffset: Int) {
        self.standardName = standardName
        self.standardOffset = standardOffset
    }

    public init?(parsing text: String) {
        var s = Substring(text)
        func name() -> String? {
            if s.first == "<" {
                guard let close = s.firstIndex(of: ">") else { return nil }
                let n = String(s[s.index(after: s.startIndex)..<close])
                s = s[s.index(after: close)...]
                return n.count >= 3 ? n : nil
            }
            let n = s.prefix { $0.isLetter }
            s = s.dropFirst(n.count)
            return n.count >= 3 ? String(n) : nil
        }
        func number() -> Int? {
            let d = s.prefix { $0.isNumber }
            guard !d.isEmpty else { return nil }
            s = s.dropFirst(d.count)
            return Int(d)
        }
        func clock() -> Int? {  // [+-]hh[:mm[:ss]] in seconds
            var sign = 1
            if s.first == "+" { s = s.dropFirst() } else if s.first == "-" { sign = -1; s = s.dropFirst() }
            guard let h = number() else { return nil }
            var v = h * 3600
            if s.first == ":" { s = s.dropFirst(); guard let m = number() else { return nil }; v += m * 60 }
            if s.first == ":" { s = s.dropFirst(); guard let x = number() else { return nil }; v += x }
            return sign * v
        }
        func rule() -> Rule? {
            var r: Rule
            if s.first == "M" {
                s = s.dropFirst()
                guard let m = number(), s.first == ".", (1...12).contains(m) else { return nil }
                s = s.dropFirst()
                guard let w = number(), s.first == ".", (1...5).contains(w) else { return nil }
                s = s.dropFirst()
                guard let d = number(), (0...6).contains(d) else { return nil }
                r = .monthWeekDay(month: m, week: w, day: d, time: 7200)
            } else if s.first == "J" {
                s = s.dropFirst()
                guard let n = number(), (1...365).contains(n) else { return nil }
                r = .julian1(day: n, time: 7200)
            } else {
                guard let n = number(), (0...365).contains(n) else { return nil }
                r = .julian0(day: n, time: 7200)
            }
            if s.first == "/" {
                s = s.dropFirst()
                guard let t = clock() else { return nil }
                switch r {
                case .monthWeekDay(let m, let w, let d, _): r = .monthWeekDay(month: m, week: w, day: d, time: t)
                case .julian1(let n, _): r = .julian1(day: n, time: t)
                case .julian0(let n, _): r = .julian0(day: n, time: t)
                }
            }
            return r
        }
        guard let std = name(), let west = clock() else { return nil }
        standardName = std
        standardOffset = -west
        if s.isEmpty { return }
        guard let dst = name() else { return nil }
        daylightName = dst
        daylightOffset = standardOffset + 3600
        if let c = s.first, c != "," {
            guard let w = clock() else { return nil }
            daylightOffset = -w
        }
        if s.isEmpty {
            // newlib's default rules when none is given: the US ones
            start = .monthWeekDay(month: 3, week: 2, day: 0, time: 7200)
            end = .monthWeekDay(month: 11, week: 1, day: 0, time: 7200)
            return
        }
        guard s.first == "," else { return nil }
        s = s.dropFirst()
        guard let a = rule(), s.first == "," else { return nil }
        s = s.dropFirst()
        guard let b = rule(), s.isEmpty else { return nil }
        start = a
        end = b
    }

    /// The UTC instant in `year` at which `rule` fires, given the offset in force before it.
    private func instant(_ rule: Rule, year: Int64, offsetBefore: Int) -> Int64 {
        let jan1 = BrokenDownTime.days(fromCivil: year, 1, 1)
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        var day: Int64, time: Int
        switch rule {
        case .julian1(let n, let t):
            day = jan1 + Int64(n - 1) + (leap && n >= 60 ? 1 : 0); time = t
        case .julian0(let n, let t):
            day = jan1 + Int64(n); time = t
        case .monthWeekDay(let m, let w, let d, let t):
            let first = BrokenDownTime.days(fromCivil: year, m, 1)
            let firstWday = Int(((first % 7) + 11) % 7)
            var mday = 1 + (d - firstWday + 7) % 7 + (w - 1) * 7
            let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            while mday > lengths[m - 1] { mday -= 7 }
            day = first + Int64(mday - 1); time = t
        }
        return day * 86400 + Int64(time) - Int64(offsetBefore)
    }

    /// Whether DST is in force at `t` (seconds since the epoch, UTC).
    public func isDaylight(at t: Int64) -> Bool {
        guard daylightName != nil, let start, let end else { return false }
        let year = BrokenDownTime.civil(
            fromDays: (t + Int64(standardOffset)) >= 0 ? (t + Int64(standardOffset)) / 86400 : (t + Int64(standardOffset) - 86399) / 86400
        ).0
        let on = instant(start, year: year, offsetBefore: standardOffset)
        let off = instant(end, year: year, offsetBefore: daylightOffset)
        return on < off ? (t >= on && t < off) : !(t >= off && t < on)
    }

    /// `localtime(t)` in this zone.
    public func localTime(_ t: Int64) -> BrokenDownTime {
        let dst = isDaylight(at: t)
        return BrokenDownTime(
            epoch: t, offset: dst ? daylightOffset : standardOffset, isdst: dst, zone: dst ? daylightName! : standardName)
    }
}

extension String {
    fileprivate func leftPad(_ width: Int, _ pad: Character) -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
