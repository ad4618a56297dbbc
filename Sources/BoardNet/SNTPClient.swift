import BoardCore
import CLwIP

/// lwIP's SNTP client (apps/sntp/sntp.c from Debian's lwIP 2.1.3, built with the
/// core's options: lwipopts.h SNTP section) as the core drives it from
/// `configTime` (time.cpp:152-242): stop, set up to three server names (lwIP
/// resolves them through DNS), start. A reply sets the board's time of day as
/// the core's `settimeofday(tv, 0xFeedC0de)` does (`fromSNTP` true).
///
/// lwIP is process-global: the client belongs to the active `Network`.
public final class SNTPClient {
    private unowned(unsafe) let board: Board

    init(board: Board) {
        self.board = board
    }

    /// Points SNTP_SET_SYSTEM_TIME_US at this board (each new network takes it).
    func attach() {
        clwip_sntp_set_handler(Unmanaged.passUnretained(self).toOpaque()) { ctx, sec, us in
            let me = Unmanaged<SNTPClient>.fromOpaque(ctx!).takeUnretainedValue()
            me.board.timeOfDay.set(seconds: Int64(sec), micros: Int64(us), fromSNTP: true)
        }
    }

    /// `configTime`'s SNTP part (time.cpp:154, 203-208): `sntp_stop()`, the
    /// servers given (a nil leaves that slot as it was, as `setServer` does), `sntp_init()`.
    public func start(servers: [String?]) {
        sntp_stop()
        for (i, s) in servers.prefix(Int(SNTP_MAX_SERVERS)).enumerated() {
            guard let s else { continue }
            s.withCString { clwip_sntp_set_server_name(UInt8(i), $0) }
        }
        sntp_init()
    }

    /// `sntp_stop()`.
    public func stop() { sntp_stop() }

    /// `sntp_enabled()`.
    public var enabled: Bool { sntp_enabled() != 0 }

    /// `sntp_getservername(i)`, nil when the slot is empty.
    public func serverName(_ i: Int) -> String? {
        guard (0..<Int(SNTP_MAX_SERVERS)).contains(i), let p = sntp_getservername(UInt8(i)) else { return nil }
        return String(cString: p)
    }

    /// `sntp_getserver(i)` as text ("0.0.0.0" until resolved).
    public func serverAddress(_ i: Int) -> String {
        guard (0..<Int(SNTP_MAX_SERVERS)).contains(i) else { return "0.0.0.0" }
        return ipString(clwip_sntp_server_address(UInt8(i)))
    }

    /// `sntp_getreachability(i)`: the last 8 polls, one bit each (1 = answered).
    public func reachability(_ i: Int) -> Int {
        guard (0..<Int(SNTP_MAX_SERVERS)).contains(i) else { return 0 }
        return Int(sntp_getreachability(UInt8(i)))
    }

    /// The core's weak `sntp_update_delay_MS_rfc_not_less_than_15000()` and
    /// `sntp_startup_delay_MS_rfc_not_less_than_60000()` (NTP-TZ-DST.ino:71-87):
    /// 1 hour and 0 ms unless a sketch redefines them.
    public func setDelays(updateMillis: UInt32 = 3_600_000, startupMillis: UInt32 = 0) {
        clwip_sntp_set_delays(updateMillis, startupMillis)
    }

    /// A reboot: SNTP stops, the names are gone (RAM), the delays are the defaults.
    func reset() {
        sntp_stop()
        for i in 0..<UInt8(SNTP_MAX_SERVERS) { clwip_sntp_set_server_name(i, nil) }
        setDelays()
    }
}
