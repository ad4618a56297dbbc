/// Where the file system lives in an ESP8266's flash, for the layout esplua
/// emulates: a 4 MB chip with a 2 MB file system ("4M2M" in boards.txt), which
/// starts at 0x200000 and ends at 0x3FA000 (the SDK's data follows):
/// 2,072,576 bytes = 253 blocks of 8 KiB (blocks are 8 KiB for partitions of
/// 512 KB and more), pages of 256 bytes.
public enum ESP8266Layout {
    public static let flashSize = 4 * 1024 * 1024
    public static let fsStart = 0x20_0000
    public static let fsSize = 0x3F_A000 - 0x20_0000
    public static let blockSize = LFSConfiguration.esp8266BlockSize(partitionBytes: fsSize)
    public static let blockCount = fsSize / blockSize
    public static let pageSize = 256
}
