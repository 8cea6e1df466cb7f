import BoothCore
import Foundation
import Testing

@Suite struct WaveformTests {
    @Test func leadCodes() {
        #expect(ECGLead.I.potentialCode.value == 131_329)
        #expect(ECGLead.II.potentialCode.value == 131_330)
        #expect(ECGLead.III.potentialCode.value == 131_389)
        #expect(ECGLead.V6.potentialCode.value == 131_336)
        #expect(ECGLead.aVF.leadCode.value == 131_136)
        #expect(ECGLead.II.potentialCode.referenceID == "MDC_ECG_ELEC_POTL_II")
        #expect(ECGLead.unspecified.potentialCode == .ecgPotential)
    }

    @Test func gapsAreMarkedNotStretched() {
        var assembler = WaveformAssembler(waveform: .ecg(lead: .II, sampleRateHz: 100))
        // 10 ms period; each chunk of 5 samples is stamped with its last sample's time.
        #expect(assembler.append([1, 2, 3, 4, 5], lastSampleNanos: 40_000_000) == .contiguous)
        #expect(assembler.append([6, 7, 8, 9, 10], lastSampleNanos: 90_000_000) == .contiguous)
        // Two chunks (10 samples) lost.
        #expect(assembler.append([21, 22, 23, 24, 25], lastSampleNanos: 240_000_000) == .gap(missing: 10))
        // Jitter below half a period is not a gap.
        #expect(assembler.append([26, 27], lastSampleNanos: 260_000_000 + 4_000_000) == .contiguous)
        // A repeated notification is dropped.
        #expect(assembler.append([26, 27], lastSampleNanos: 264_000_000) == .duplicate)
        // A chunk whose first sample (234 ms) lies 4 periods before the expected 274 ms: kept and counted.
        #expect(assembler.append([30], lastSampleNanos: 244_000_000) == .duplicate)
        #expect(assembler.append([31, 32, 33, 34, 35], lastSampleNanos: 274_000_000) == .overlap(periods: 4))
        #expect(assembler.clockAnomalies == 1)
        let waveform = assembler.waveform
        #expect(waveform.samples.count == 22)
        #expect(waveform.gaps == [WaveformGap(beforeSample: 10, missing: 10)])
        #expect(waveform.timelineCount == 32)
        #expect(waveform.durationSeconds == 0.32)
        let timeline = waveform.timeline()
        #expect(timeline[9] == 10)
        #expect(timeline[10...19].allSatisfy { $0 == nil })
        #expect(timeline[20] == 21)
    }

    @Test func appendMergesAdjacentGaps() {
        var waveform = Waveform.ecg(lead: .I, sampleRateHz: 10)
        waveform.append([1])
        waveform.append([], missingBefore: 2)
        waveform.append([2], missingBefore: 3)
        #expect(waveform.gaps == [WaveformGap(beforeSample: 1, missing: 5)])
        #expect(waveform.timeline() == [1, nil, nil, nil, nil, nil, 2])
        waveform.append([], missingBefore: 2)
        #expect(waveform.timeline().suffix(2) == [nil, nil])
    }

    @Test func meanHeartRateFromRR() {
        let device = DeviceIdentity(id: "sim", transport: "simulated")
        let synthetic = SyntheticECG(heartRate: 75)
        let recording = ECGRecording(
            device: device,
            leads: [.ecg(lead: .unspecified, sampleRateHz: 130, samples: synthetic.samples(count: 130))],
            rrIntervals1024: [synthetic.rrInterval1024, synthetic.rrInterval1024]
        )
        // 0.8 s × 1024 = 819.2 → 819: 60 / (819/1024) = 75.018...
        #expect(abs((recording.meanHeartRateFromRR ?? 0) - 75) < 0.05)
        #expect(ECGRecording(device: device, leads: []).meanHeartRateFromRR == nil)
    }

    @Test func syntheticECGHasItsRPeaksWhereSaid() {
        let synthetic = SyntheticECG(heartRate: 60, sampleRateHz: 500, rAmplitudeMicrovolts: 1000)
        let samples = synthetic.samples(count: 1500)
        // R peaks at 0.25 s, 1.25 s, 2.25 s → indices 125, 625, 1125.
        for peak in [125, 625, 1125] {
            let window = samples[(peak - 50)...(peak + 50)]
            #expect(window.max() == samples[peak])
            #expect(abs(Int(samples[peak]) - 1000) < 30)
        }
        #expect(synthetic.rPeakTimes(duration: 3) == [0.25, 1.25, 2.25])
    }

    @Test func fhirObservationHasOneComponentPerLeadAndEForGaps() throws {
        var lead2 = Waveform.ecg(lead: .II, sampleRateHz: 500)
        lead2.append([10, -20])
        lead2.append([30], missingBefore: 2)
        var lead1 = Waveform.ecg(lead: .I, sampleRateHz: 500)
        lead1.append([1, 2, 3, 4, 5])
        lead1.incomplete = true
        let recording = ECGRecording(
            device: DeviceIdentity(id: "ble:AA", transport: "ble", model: "H10", manufacturer: "Polar"),
            leads: [lead1, lead2]
        )
        let observation = FHIRWaveformObservation(
            id: "ecg-1",
            recording: recording,
            effectiveDateTime: "2026-11-25T21:00:00Z"
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try #require(
            try JSONSerialization.jsonObject(with: encoder.encode(observation)) as? [String: Any]
        )
        #expect(json["resourceType"] as? String == "Observation")
        #expect(json["status"] as? String == "preliminary")
        let components = try #require(json["component"] as? [[String: Any]])
        #expect(components.count == 2)
        let second = try #require(components[1]["valueSampledData"] as? [String: Any])
        #expect(second["data"] as? String == "10 -20 E E 30")
        #expect(second["period"] as? Double == 2)
        #expect(second["dimensions"] as? Int == 1)
        let origin = try #require(second["origin"] as? [String: Any])
        #expect(origin["code"] as? String == "uV")
        let code = try #require(components[1]["code"] as? [String: Any])
        let coding = try #require((code["coding"] as? [[String: Any]])?.first)
        #expect(coding["code"] as? String == "131330")
        #expect(coding["system"] as? String == "urn:iso:std:iso:11073:10101")
    }
}

@Suite struct WaveformFlatLineTests {
    @Test func flatStretchIsFoundAndECGIsNot() {
        let synthetic = SyntheticECG(heartRate: 70, sampleRateHz: 130)
        var samples = synthetic.samples(count: 130 * 5)
        // 3 s of electrode-off: a constant with ±5 µV noise.
        for index in 0..<390 {
            let noise = Int32(index % 3) * 5 - 5
            samples.append(400 + noise)
        }
        samples += synthetic.samples(from: 130 * 8, count: 130 * 4)
        let waveform = Waveform.ecg(lead: .unspecified, sampleRateHz: 130, samples: samples)
        let spans = waveform.flatLineSpans(minimumSeconds: 2, tolerance: 20)
        #expect(spans.count == 1)
        let span = spans.first ?? 0..<0
        #expect(abs(span.lowerBound - 650) <= 3, "\(span)")
        #expect(abs(span.upperBound - 1040) <= 3, "\(span)")
        let clean = Waveform.ecg(lead: .unspecified, sampleRateHz: 130, samples: synthetic.samples(count: 130 * 30))
        #expect(clean.flatLineSpans().isEmpty)
        #expect(Waveform.ecg(lead: .I, sampleRateHz: 130, samples: []).flatLineSpans().isEmpty)
    }
}
