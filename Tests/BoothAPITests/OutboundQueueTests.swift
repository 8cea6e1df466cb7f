import Testing

@testable import BoothAPI

/// The per-connection send queue: replies never wait, events wait for room, memory stays bounded.
@Suite struct OutboundQueueTests {
    @Test func repliesAreRefusedPastTheLimitAndMarkTheQueueOverflowed() {
        let queue = OutboundQueue(limitBytes: 100)
        #expect(queue.push(.text(String(repeating: "a", count: 60))))
        #expect(queue.push(.text(String(repeating: "b", count: 40))))
        #expect(queue.queuedBytes == 100)
        #expect(!queue.overflowed)
        #expect(!queue.push(.text("c")))
        #expect(queue.overflowed)
        // A close frame is always accepted, and nothing after it.
        #expect(queue.push(.close(code: 4429, reason: "x")))
        #expect(queue.isClosing)
        #expect(!queue.push(.text("d")))
    }

    @Test func theWriterGetsFramesInOrderAndStopsAfterADrainedClose() async {
        let queue = OutboundQueue(limitBytes: 1000)
        queue.push(.text("one"))
        queue.push(.text("two"))
        queue.push(.close(code: 1000, reason: "bye"))
        var texts: [String] = []
        var closed = false
        while let frame = await queue.next() {
            switch frame {
            case .text(let text): texts.append(text)
            case .close(let code, _): closed = code == 1000
            }
            queue.written(frame)
        }
        #expect(texts == ["one", "two"])
        #expect(closed)
        #expect(queue.queuedBytes == 0)
    }

    @Test func anEventWaitsForRoomWhileRepliesDoNot() async throws {
        let queue = OutboundQueue(limitBytes: 100)
        // 60 bytes queued: past the event room (50), below the reply limit (100).
        #expect(queue.push(.text(String(repeating: "r", count: 60))))
        let event = Task { await queue.pushEvent("event") }
        try await Task.sleep(for: .milliseconds(50))
        #expect(queue.queuedBytes == 60, "the event must wait while the client is behind")
        #expect(queue.push(.text("reply")), "a reply never waits")
        // The writer writes both replies; the event then gets in.
        for _ in 0..<2 {
            guard let frame = await queue.next() else { break }
            queue.written(frame)
        }
        #expect(await event.value)
        guard case .text(let text) = await queue.next() else {
            Issue.record("expected the event")
            return
        }
        #expect(text == "event")
    }

    @Test func failingWakesAWaitingEventPumpAndTheWriter() async throws {
        let queue = OutboundQueue(limitBytes: 10)
        queue.push(.text("0123456789"))
        let event = Task { await queue.pushEvent("late") }
        try await Task.sleep(for: .milliseconds(20))
        queue.fail()
        #expect(await event.value == false)
        #expect(await queue.next() == nil)
        #expect(queue.isDone)
    }

    @Test func aWriteInProgressReportsHowLongItHasWaited() async {
        let queue = OutboundQueue(limitBytes: 10)
        #expect(queue.writeStalled() == nil)
        queue.push(.text("x"))
        let frame = await queue.next()
        let later = ContinuousClock.now.advanced(by: .seconds(5))
        #expect((queue.writeStalled(now: later) ?? .zero) >= .seconds(5))
        if let frame { queue.written(frame) }
        #expect(queue.writeStalled() == nil)
    }
}
