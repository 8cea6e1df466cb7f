import BoothCore
import Foundation
import Testing

@Suite struct PolarPMDTests {
    @Test func startCommandMatchesCapturedRequest() throws {
        let vector = try #require(try ECGVector.load("polar_pmd_control_request").first)
        #expect(PolarPMD.startECG() == vector.bytes)
        #expect(
            PolarPMD.startECG(sampleRate: 130, resolution: 14) == [
                0x02, 0x00, 0x00, 0x01, 0x82, 0x00, 0x01, 0x01, 0x0e, 0x00,
            ]
        )
        #expect(PolarPMD.stopECG == [0x03, 0x00])
        #expect(PolarPMD.controlPoint.uuidString == "fb005c81-02e7-f387-1cad-8acd2d8df0c8")
        #expect(PolarPMD.data.uuidString == "fb005c82-02e7-f387-1cad-8acd2d8df0c8")
    }

    @Test func controlResponsesFromCapture() throws {
        let vectors = try ECGVector.load("polar_pmd_control_response")
        #expect(vectors.count == 3)
        for vector in vectors {
            let response = try PolarPMDControlResponse.decode(vector.bytes)
            #expect(response.opCode == vector.expected.op_code)
            #expect(response.measurementType == vector.expected.measurement_type)
            #expect(response.errorCode == vector.expected.error_code)
            if let error = vector.expected.error { #expect(response.errorName == error) }
            if let parameters = vector.expected.parameters { #expect(Hex.string(response.parameters) == parameters) }
            if let more = vector.expected.more_frames { #expect(response.moreFrames == more) }
        }
        #expect(throws: DecodeError.self) { try PolarPMDControlResponse.decode([0xf1, 0x02, 0x00, 0x00]) }
        #expect(throws: DecodeError.self) { try PolarPMDControlResponse.decode([0xf0, 0x02, 0x00]) }
    }

    @Test func realH10FramesDecode() throws {
        let vectors = try ECGVector.load("polar_pmd_ecg_frame")
        #expect(vectors.count == 6)
        for vector in vectors {
            let frame = try PolarPMDECGFrame.decode(vector.bytes)
            let expected = vector.expected
            #expect(frame.timestampNanos == expected.timestamp_ns)
            #expect(frame.microvolts.count == expected.sample_count)
            #expect(Array(frame.microvolts.prefix(3)) == expected.first_samples_uv)
            #expect(frame.microvolts.last == expected.last_sample_uv)
            #expect(frame.microvolts.min() == expected.min_uv)
            #expect(frame.microvolts.max() == expected.max_uv)
            if let sample14 = expected.sample_14_uv { #expect(frame.microvolts[14] == sample14) }
            #expect(frame.encoded() == vector.bytes)
        }
    }

    @Test func builtFrameIsDecodedByteExactly() throws {
        // Documented layout: type 0x00, uint64 LE timestamp of the last sample, frame type 0x00, int24 LE µV.
        let bytes: [UInt8] = [
            0x00,
            0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
            0x00,
            0x01, 0x00, 0x00,  // 1
            0xff, 0xff, 0xff,  // -1
            0xff, 0xff, 0x7f,  // 8 388 607
            0x00, 0x00, 0x80,  // -8 388 608
            0x2c, 0x01, 0x00,  // 300
            0xd4, 0xfe, 0xff,  // -300
        ]
        let frame = try PolarPMDECGFrame.decode(bytes)
        #expect(frame.timestampNanos == 0x0102_0304_0506_0708)
        #expect(frame.microvolts == [1, -1, 8_388_607, -8_388_608, 300, -300])
        #expect(frame.encoded() == bytes)
        let built = PolarPMDECGFrame(timestampNanos: 42, microvolts: [-2, 5000]).encoded()
        #expect(built == [0, 42, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0x88, 0x13, 0x00])
    }

    @Test func malformedFramesAreTypedErrors() {
        let good: [UInt8] = [0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x00, 0x10, 0x00, 0x00]
        // Every truncation of the header or the first sample names the missing field.
        let fields =
            ["measurementType"] + Array(repeating: "timestamp", count: 8) + ["frameType"]
            + Array(repeating: "sample[0]", count: 3)
        for length in 0..<good.count {
            do {
                _ = try PolarPMDECGFrame.decode(Array(good.prefix(length)))
                Issue.record("prefix \(length) decoded")
            } catch {
                #expect(error.reasonName == "truncated")
                #expect(error.field == fields[length], "length \(length)")
            }
        }
        func failure(_ bytes: [UInt8]) -> DecodeError? {
            do {
                _ = try PolarPMDECGFrame.decode(bytes)
                return nil
            } catch { return error }
        }
        #expect(failure(good + [0x01])?.reasonName == "bad-length")
        #expect(failure(good + [0x01, 0x02])?.field == "samples")
        var accelerometer = good
        accelerometer[0] = 0x02
        #expect(failure(accelerometer)?.field == "measurementType")
        var compressed = good
        compressed[9] = 0x80
        #expect(failure(compressed)?.field == "frameType")
        #expect(failure(good) == nil)
    }

    @Test func realStreamHasNoGapsAndDroppedFrameIsAGap() throws {
        let frames = try ECGVector.load("polar_pmd_ecg_frame").map { try PolarPMDECGFrame.decode($0.bytes) }
        var assembler = WaveformAssembler(
            waveform: .ecg(lead: .unspecified, sampleRateHz: 130),
            epochOffsetNanos: PolarPMD.epochOffsetSeconds * 1_000_000_000
        )
        for frame in frames {
            #expect(assembler.append(frame.microvolts, lastSampleNanos: Int64(frame.timestampNanos)) == .contiguous)
        }
        #expect(assembler.waveform.samples.count == 6 * 73)
        #expect(assembler.waveform.gaps.isEmpty)
        // The start lies 72 periods before the first frame's timestamp, on the Unix time line.
        let first = frames[0]
        let expectedStart = first.lastSampleUnixMicros - Int64((72 * 1e6 / 130).rounded())
        #expect(abs(assembler.waveform.startMicros - expectedStart) <= 1)

        // Drop the third notification: 73 periods are missing, the samples around it stay where they were.
        var dropped = WaveformAssembler(waveform: .ecg(lead: .unspecified, sampleRateHz: 130))
        var outcomes: [WaveformAssembler.Outcome] = []
        for (index, frame) in frames.enumerated() where index != 2 {
            outcomes.append(dropped.append(frame.microvolts, lastSampleNanos: Int64(frame.timestampNanos)))
        }
        #expect(outcomes == [.contiguous, .contiguous, .gap(missing: 73), .contiguous, .contiguous])
        #expect(dropped.waveform.gaps == [WaveformGap(beforeSample: 146, missing: 73)])
        #expect(dropped.waveform.timelineCount == 6 * 73)
        #expect(dropped.waveform.timeline()[146] == nil)
        #expect(dropped.waveform.timeline()[219] == frames[3].microvolts[0])
    }
}
