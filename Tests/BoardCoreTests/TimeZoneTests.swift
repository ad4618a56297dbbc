import BoardCore
import Glibc
import XCTest

/// POSIX TZ rules as newlib's tzset reads them (the core's TZ.h strings), checked
/// against an oracle outside esplua: glibc's localtime_r with the same TZ string.
final class TimeZoneTests: XCTestCase {
    func glibcLocal(_ tz: String, _ t: Int64) -> (hour: Int, mday: Int, isdst: Int, gmtoff: Int) {
        setenv("TZ", tz, 1)
        tzset()
        var tt = time_t(t)
        var tm = Glibc.tm()
        localtime_r(&tt, &tm)
        return (Int(tm.tm_hour), Int(tm.tm_mday), Int(tm.tm_isdst), Int(tm.tm_gmtoff))
    }

    func testRulesAgreeWithGlibcAcrossTwoYears() throws {
        let zones = [
            "GMT0BST,M3.5.0/1,M10.5.0", "CET-1CEST,M3.5.0,M10.5.0/3", "EST5EDT,M3.2.0,M11.1.0", "IST-5:30",
            "<-03>3", "AEST-10AEDT,M10.1.0,M4.1.0/3", "NZST-12NZDT,M9.5.0,M4.1.0/3", "<+0545>-5:45", "EST5EDT",
        ]
        let saved = getenv("TZ").map { String(cString: $0) }
        defer { if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }; tzset() }
        for tz in zones {
            let zone = try XCTUnwrap(PosixTimeZone(parsing: tz), tz)
            // every 1 h 7 min over 2023-2024, and a minute either side of each change
            var t: Int64 = 1_672_531_200
            while t < 1_735_689_600 {
                for probe in [t, t + 59] {
                    let mine = zone.localTime(probe), libc = glibcLocal(tz, probe)
                    XCTAssertEqual(mine.hour, libc.hour, "\(tz) at \(probe)")
                    XCTAssertEqual(mine.mday, libc.mday, "\(tz) at \(probe)")
                    XCTAssertEqual(mine.isdst, libc.isdst, "\(tz) at \(probe)")
                    XCTAssertEqual(mine.gmtoff, libc.gmtoff, "\(tz) at \(probe)")
                }
                t += 4020
            }
        }
    }

    func testLondonChangesAtOneUTC() throws {
        let london = try XCTUnwrap(PosixTimeZone(parsing: "GMT0BST,M3.5.0/1,M10.5.0"))
        // 2024-03-31 00:59:59 UTC is GMT, 01:00:00 UTC is 02:00 BST
        XCTAssertEqual(london.localTime(1_711_846_799).format("%F %T %Z"), "2024-03-31 00:59:59 GMT")
        XCTAssertEqual(london.localTime(1_711_846_800).format("%F %T %Z"), "2024-03-31 02:00:00 BST")
        XCTAssertEqual(london.localTime(1_510_592_825).asctime, "Mon Nov 13 17:07:05 2017\n")
    }

    func testMalformedStringsAreRejected() {
        for bad in ["", "G1", "GMT", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-1CEST,M3.5.7,M10.5.0"] {
            XCTAssertNil(PosixTimeZone(parsing: bad), bad)
        }
    }
}
