import Glibc

// Linux calls that Glibc's Swift module hides behind _GNU_SOURCE, declared with
// their C signatures (man 2 ppoll, man 2 eventfd).

/// `ppoll(2)`: `poll` with a nanosecond timeout (the idle wait sleeps to the microsecond).
@_silgen_name("ppoll")
func sys_ppoll(
    _ fds: UnsafeMutablePointer<pollfd>?, _ nfds: nfds_t, _ timeout: UnsafePointer<timespec>?,
    _ sigmask: UnsafeRawPointer?
) -> Int32

/// `eventfd(2)`.
@_silgen_name("eventfd")
func sys_eventfd(_ initval: UInt32, _ flags: Int32) -> Int32

/// EFD_NONBLOCK | EFD_CLOEXEC (04000 | 02000000 on Linux).
let eventfdFlags: Int32 = 0o4000 | 0o2000000
