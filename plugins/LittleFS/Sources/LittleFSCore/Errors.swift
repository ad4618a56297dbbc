/// File-system errors, mirroring littlefs's `enum lfs_error` (the raw
/// littlefs error code is available as `code`).
public enum LFSError: Error, Equatable, CustomStringConvertible {
    /// Error during a device operation (LFS_ERR_IO). Carries the device error text.
    case io(String)
    /// Corrupted or foreign image (LFS_ERR_CORRUPT).
    case corrupt(String)
    case noEntry  // LFS_ERR_NOENT
    case exists  // LFS_ERR_EXIST
    case notDirectory  // LFS_ERR_NOTDIR
    case isDirectory  // LFS_ERR_ISDIR
    case notEmpty  // LFS_ERR_NOTEMPTY
    case badFileDescriptor  // LFS_ERR_BADF
    case fileTooLarge  // LFS_ERR_FBIG
    /// Invalid parameter or unsupported on-disk configuration (LFS_ERR_INVAL).
    case invalid(String)
    case noSpace  // LFS_ERR_NOSPC
    case noAttribute  // LFS_ERR_NOATTR
    case nameTooLong  // LFS_ERR_NAMETOOLONG
    /// Caller-configured open-file limit reached (EMFILE, not a littlefs code).
    case tooManyOpenFiles

    /// littlefs's numeric error code.
    public var code: Int32 {
        switch self {
        case .io: return -5
        case .corrupt: return -84
        case .noEntry: return -2
        case .exists: return -17
        case .notDirectory: return -20
        case .isDirectory: return -21
        case .notEmpty: return -39
        case .badFileDescriptor: return -9
        case .fileTooLarge: return -27
        case .invalid: return -22
        case .noSpace: return -28
        case .noAttribute: return -61
        case .nameTooLong: return -36
        case .tooManyOpenFiles: return -24
        }
    }

    public var description: String {
        switch self {
        case .io(let s): return "I/O error: \(s)"
        case .corrupt(let s): return "corrupt file system: \(s)"
        case .noEntry: return "no such file or directory"
        case .exists: return "entry already exists"
        case .notDirectory: return "not a directory"
        case .isDirectory: return "is a directory"
        case .notEmpty: return "directory not empty"
        case .badFileDescriptor: return "bad file descriptor"
        case .fileTooLarge: return "file too large"
        case .invalid(let s): return "invalid: \(s)"
        case .noSpace: return "no space left on device"
        case .noAttribute: return "no such attribute"
        case .nameTooLong: return "name too long"
        case .tooManyOpenFiles: return "too many open files"
        }
    }
}
