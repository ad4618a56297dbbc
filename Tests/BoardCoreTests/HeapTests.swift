import XCTest

@testable import BoardCore

final class HeapTests: XCTestCase {
    func testBlockCostFollowsUmmMalloc() {
        // reference: n bytes take 1 + ceil((n-4)/8) blocks of 8 bytes
        XCTAssertEqual(Heap.blocks(for: 1), 1)
        XCTAssertEqual(Heap.blocks(for: 4), 1)
        XCTAssertEqual(Heap.blocks(for: 5), 2)
        XCTAssertEqual(Heap.blocks(for: 12), 2)
        XCTAssertEqual(Heap.blocks(for: 13), 3)
    }

    func testTcpPcbCosts192Bytes() {
        // A 184-byte tcp_pcb (ESP8266 -feat build) costs 24 blocks = 192 B of heap.
        XCTAssertEqual(Heap.cost(of: 184), 192)
        let heap = Heap(capacity: 50_784)
        let before = heap.freeBytes
        let h = heap.allocate(184)
        XCTAssertNotNil(h)
        XCTAssertEqual(before - heap.freeBytes, 192)
        heap.free(h!)
        XCTAssertEqual(heap.freeBytes, before)
    }

    func testExhaustionReturnsNilAndRecordsFailure() {
        let heap = Heap(capacity: 64)
        XCTAssertNotNil(heap.allocate(50))
        XCTAssertNil(heap.allocate(20))
        XCTAssertEqual(heap.lastFailedSize, 20)
    }

    func testFragmentationAndMaxBlock() {
        let heap = Heap(capacity: 8 * 100)
        var handles: [Int32] = []
        for _ in 0..<10 { handles.append(heap.allocate(76)!) }  // 10 blocks each
        XCTAssertEqual(heap.freeBytes, 0)
        XCTAssertEqual(heap.fragmentation, 0)
        // free every other one: five holes of 80 bytes
        for i in stride(from: 0, to: 10, by: 2) { heap.free(handles[i]) }
        XCTAssertEqual(heap.freeBytes, 400)
        XCTAssertEqual(heap.maxFreeBlockSize, 80)
        // 100 * (1 - sqrt(5*10^2)/50) = 100 - 44.7 -> 56 (umm truncates the sqrt part)
        XCTAssertEqual(heap.fragmentation, 56)
        for i in stride(from: 1, to: 10, by: 2) { heap.free(handles[i]) }
        XCTAssertEqual(heap.maxFreeBlockSize, 800)
        XCTAssertEqual(heap.fragmentation, 0)
    }

    func testBestFitPicksTheSmallestHole() {
        let heap = Heap(capacity: 8 * 30)
        let a = heap.allocate(76)!  // 10 blocks at 0
        _ = heap.allocate(4)!  // 1 block at 10
        let c = heap.allocate(28)!  // 4 blocks at 11
        _ = heap.allocate(4)!  // 1 block at 15 -> 14 blocks left at 16
        heap.free(a); heap.free(c)  // holes: 10 @0, 4 @11, 14 @16
        let d = heap.allocate(20)!  // 3 blocks: best fit is the 4-block hole
        XCTAssertEqual(heap.liveAllocations.first { $0.blocks == 3 }?.start, 11)
        heap.free(d)
    }

    func testCalibrateSetsFreeHeap() {
        let heap = Heap(capacity: 1000)
        _ = heap.allocate(100)
        heap.calibrate(freeBytes: 50_784)
        XCTAssertEqual(heap.freeBytes, 50_784)
    }
}
