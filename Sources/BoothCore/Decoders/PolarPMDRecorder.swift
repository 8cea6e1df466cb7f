/// Why a PMD ECG recording could not start.
public struct PolarPMDError: Error, Sendable, Hashable, CustomStringConvertible {
    public var detail: String

    public init(_ detail: String) {
        self.detail = detail
    }

    public var description: String { "Polar PMD: \(detail)" }
}

/// What a recording produced, with the link events that matter to the technician and the service layer.
public struct PolarPMDRecordingResult: Sendable {
    public var recording: ECGRecording
    /// Heart Rate Measurement notifications that said the strap lost skin contact (device-state warnings).
    public var contactLostNotifications: Int
    /// Data notifications that did not decode (their time shows up as a gap from the next frame's timestamp).
    public var rejectedFrames: [ECGDecodeError]
    /// Chunks whose timestamps went backwards.
    public var clockAnomalies: Int
}

/// Records N seconds of ECG from a Polar H10 over any `GATTLink`: starts the PMD ECG stream at the native rate,
/// assembles frames with gap detection, collects RR intervals from 0x2A37 meanwhile, and stops the stream.
/// If the link drops mid-strip, the partial recording is returned marked incomplete.
public struct PolarPMDRecorder: Sendable {
    public let link: any GATTLink
    public let device: DeviceIdentity

    public init(link: any GATTLink, device: DeviceIdentity) {
        self.link = link
        self.device = device
    }

    /// Records `seconds` of ECG (timeline length, gaps included). `timeout` bounds the whole recording; when it
    /// expires the samples so far are kept and the recording is marked incomplete.
    public func record(seconds: Double = 30, timeout: Duration? = nil) async throws -> PolarPMDRecordingResult {
        let rate = Double(PolarPMD.h10ECGSampleRate)
        let target = Int((seconds * rate).rounded())
        let control = try await link.notifications(PolarPMD.controlPoint)
        let data = try await link.notifications(PolarPMD.data)
        let heartRate = try? await link.notifications(HeartRateMeasurement.characteristic)
        try await link.write(PolarPMD.controlPoint, PolarPMD.startECG(), withResponse: true)
        var responses = control.makeAsyncIterator()
        guard let answer = try await responses.next() else {
            throw PolarPMDError("link closed before the start command was answered")
        }
        let response: PolarPMDControlResponse
        do {
            response = try PolarPMDControlResponse.decode(answer)
        } catch {
            throw PolarPMDError("unreadable answer to the start command (\(error))")
        }
        guard response.opCode == PolarPMD.OpCode.startMeasurement.rawValue, response.isSuccess else {
            throw PolarPMDError("sensor refused to start ECG: \(response.errorName)")
        }

        let deadline = timeout ?? .seconds(seconds * 2 + 10)
        let collected = await withTaskGroup(of: Finished.self) { group -> Collected in
            // Every child ends on cancellation and returns what it has; the group is drained completely.
            group.addTask {
                var assembler = WaveformAssembler(
                    waveform: .ecg(lead: .unspecified, sampleRateHz: rate),
                    epochOffsetNanos: PolarPMD.epochOffsetSeconds * 1_000_000_000
                )
                var rejected: [ECGDecodeError] = []
                var complete = false
                do {
                    for try await bytes in data {
                        do throws(ECGDecodeError) {
                            let frame = try PolarPMDECGFrame.decode(bytes)
                            assembler.append(frame.microvolts, lastSampleNanos: Int64(frame.timestampNanos))
                        } catch {
                            rejected.append(error)
                        }
                        if assembler.waveform.timelineCount >= target {
                            complete = true
                            break
                        }
                    }
                } catch {
                    // The link dropped: keep what arrived.
                }
                if !complete { assembler.markIncomplete() }
                return .ecg(Collected(assembler: assembler, rejected: rejected))
            }
            if let heartRate {
                group.addTask {
                    var intervals: [UInt16] = []
                    var contactLost = 0
                    do {
                        for try await bytes in heartRate {
                            guard let value = try? HeartRateMeasurement.decode(bytes) else { continue }
                            if value.isContactLost {
                                contactLost += 1
                            } else {
                                intervals.append(contentsOf: value.rrIntervals1024)
                            }
                        }
                    } catch {}
                    return .heartRate(intervals: intervals, contactLost: contactLost)
                }
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return .timer
            }
            var result = Collected(assembler: nil, rejected: [])
            for await finished in group {
                switch finished {
                case .ecg(let collected):
                    result.assembler = collected.assembler
                    result.rejected = collected.rejected
                    group.cancelAll()
                case .timer:
                    // Time is up: cancelling ends the data loop, which then returns what it has, incomplete.
                    group.cancelAll()
                case .heartRate(let intervals, let contactLost):
                    result.intervals = intervals
                    result.contactLost = contactLost
                }
            }
            return result
        }
        try? await link.write(PolarPMD.controlPoint, PolarPMD.stopECG, withResponse: true)
        var waveform = collected.assembler?.waveform ?? .ecg(lead: .unspecified, sampleRateHz: rate)
        if collected.assembler == nil { waveform.incomplete = true }
        return PolarPMDRecordingResult(
            recording: ECGRecording(device: device, leads: [waveform], rrIntervals1024: collected.intervals),
            contactLostNotifications: collected.contactLost,
            rejectedFrames: collected.rejected,
            clockAnomalies: collected.assembler?.clockAnomalies ?? 0
        )
    }

    enum Finished: Sendable {
        case ecg(Collected)
        case heartRate(intervals: [UInt16], contactLost: Int)
        case timer
    }

    struct Collected: Sendable {
        var assembler: WaveformAssembler?
        var rejected: [ECGDecodeError]
        var intervals: [UInt16] = []
        var contactLost = 0
    }
}
