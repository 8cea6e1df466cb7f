/// The driver for a heart-rate strap with a Polar PMD ECG stream (Polar H10 and the simulator's copy of it).
///
/// After connecting it reads battery and device strings, subscribes to Heart Rate Measurement (0x2A37) and to the
/// PMD control point and data characteristics, and starts ECG at the native rate. Then:
/// - every 0x2A37 value with skin contact becomes a heart-rate measurement (HR and RR as PHD values); a value saying
///   the sensor is off the skin is a device-state warning, never a measurement;
/// - ECG frames are decoded byte-exactly and cut into `WaveformChunk`s of ≥ `chunkSeconds` with gaps found from the
///   frame timestamps; RR intervals ride on the next chunk;
/// - a signal that stays within `flatLineMicrovolts` for `flatLineSeconds` is a device-state warning (electrodes
///   off, saturated amplifier).
/// When the sensor refuses ECG (or has no PMD service) the heart rate keeps flowing and a warning says why.
/// It holds no byte logic of its own: the shared decoders do that.
public struct PolarECGDriver: GATTDeviceDriver {
    public var id = "polar.pmd.ecg"
    public var lead: ECGLead = .unspecified
    public var sampleRateHz: UInt16 = PolarPMD.h10ECGSampleRate
    public var chunkSeconds = 0.25
    public var flatLineSeconds = 2.0
    public var flatLineMicrovolts = 20.0
    /// How long to wait for the control point's answer to the start command.
    public var startTimeout: Duration = .seconds(5)

    public init(chunkSeconds: Double = 0.25) {
        self.chunkSeconds = chunkSeconds
    }

    public static let contactLostWarning = "sensor contact lost: moisten the strap electrodes and check the fit"
    public static let flatLineWarning = "flat ECG signal: check electrode contact"

    enum Item: Sendable {
        case heartRate([UInt8])
        case ecg([UInt8])
        case control([UInt8])
    }

    public func run(
        on link: some GATTLink,
        makeContext: @Sendable () -> MeasurementContext,
        emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void
    ) async throws {
        try await emit(.connected(await deviceInfo(link)))
        let heartRate = try? await link.notifications(HeartRateMeasurement.characteristic)
        let control = try? await link.notifications(PolarPMD.controlPoint)
        let data = try? await link.notifications(PolarPMD.data)
        guard heartRate != nil || (control != nil && data != nil) else {
            throw PolarPMDError("the device offers neither Heart Rate Measurement nor the PMD ECG stream")
        }
        let (items, continuation) = AsyncThrowingStream.makeStream(of: Item.self, throwing: (any Error).self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Each producer forwards one characteristic; the first to end (link dropped) ends the merged stream.
            func forward(
                _ stream: AsyncThrowingStream<[UInt8], any Error>?,
                _ wrap: @escaping @Sendable ([UInt8]) -> Item
            ) {
                guard let stream else { return }
                group.addTask {
                    do {
                        for try await bytes in stream { continuation.yield(wrap(bytes)) }
                        continuation.finish()
                    } catch {
                        continuation.finish(throwing: error)
                    }
                }
            }
            forward(heartRate) { .heartRate($0) }
            forward(control) { .control($0) }
            forward(data) { .ecg($0) }
            defer { group.cancelAll() }
            var state = State(driver: self)
            if control != nil, data != nil {
                do {
                    try await link.write(
                        PolarPMD.controlPoint,
                        PolarPMD.startECG(sampleRate: sampleRateHz),
                        withResponse: true
                    )
                    state.awaitingStart = ContinuousClock.now + startTimeout
                } catch {
                    state.ecgUnavailable = "the ECG start command failed (\(error))"
                }
            } else {
                state.ecgUnavailable = "the device has no PMD ECG stream"
            }
            try await state.publishWarning(emit)
            do {
                for try await item in items {
                    try await state.handle(item, makeContext: makeContext, emit: emit)
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try? await state.finish(makeContext: makeContext, emit: emit)
                throw error
            }
            try? await state.finish(makeContext: makeContext, emit: emit)
            if state.ecgStarted { try? await link.write(PolarPMD.controlPoint, PolarPMD.stopECG, withResponse: true) }
        }
    }

    /// What one connection of the driver has seen so far.
    struct State {
        let driver: PolarECGDriver
        var chunker: WaveformChunker
        var awaitingStart: ContinuousClock.Instant?
        var ecgStarted = false
        var ecgUnavailable: String?
        var contactLost = false
        var flat = false
        var published: String?
        /// The last `flatLineSeconds` of samples (ring) and how many are valid.
        var recent: [Int32]
        var recentNext = 0
        var recentCount = 0

        init(driver: PolarECGDriver) {
            self.driver = driver
            chunker = WaveformChunker(
                waveform: .ecg(lead: driver.lead, sampleRateHz: Double(driver.sampleRateHz)),
                epochOffsetNanos: PolarPMD.epochOffsetSeconds * 1_000_000_000,
                minimumSeconds: driver.chunkSeconds
            )
            recent = Array(repeating: 0, count: max(2, Int(driver.flatLineSeconds * Double(driver.sampleRateHz))))
        }

        var warning: String? {
            if contactLost { return PolarECGDriver.contactLostWarning }
            if flat { return PolarECGDriver.flatLineWarning }
            if let ecgUnavailable { return "ECG not available: \(ecgUnavailable)" }
            return nil
        }

        mutating func publishWarning(_ emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void) async throws
        {
            let current = warning
            guard current != published else { return }
            published = current
            try await emit(.deviceWarning(current))
        }

        mutating func handle(
            _ item: Item,
            makeContext: @Sendable () -> MeasurementContext,
            emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void
        ) async throws {
            if let deadline = awaitingStart, ContinuousClock.now > deadline {
                awaitingStart = nil
                ecgUnavailable = "the sensor did not answer the ECG start command"
            }
            switch item {
            case .control(let bytes):
                guard awaitingStart != nil else { return }
                awaitingStart = nil
                do throws(DecodeError) {
                    let response = try PolarPMDControlResponse.decode(bytes)
                    if response.opCode == PolarPMD.OpCode.startMeasurement.rawValue, response.isSuccess {
                        ecgStarted = true
                        ecgUnavailable = nil
                    } else {
                        ecgUnavailable = "the sensor refused to start ECG (\(response.errorName))"
                    }
                } catch {
                    ecgUnavailable = "unreadable answer to the ECG start command"
                    try await emit(.undecodable(raw: bytes, error: error))
                }
            case .heartRate(let bytes):
                let value: HeartRateMeasurement
                do throws(DecodeError) {
                    value = try HeartRateMeasurement.decode(bytes)
                } catch {
                    try await emit(.undecodable(raw: bytes, error: error))
                    return
                }
                contactLost = value.isContactLost
                if !value.isContactLost {
                    chunker.addRR(value.rrIntervals1024)
                    if let measurement = value.reading.measurement(makeContext(), raw: bytes) {
                        try await emit(.measurement(measurement))
                    }
                }
            case .ecg(let bytes):
                let frame: PolarPMDECGFrame
                do throws(DecodeError) {
                    frame = try PolarPMDECGFrame.decode(bytes)
                } catch {
                    // Its time shows up as a gap from the next frame's timestamp.
                    try await emit(.undecodable(raw: bytes, error: error))
                    return
                }
                if !ecgStarted {
                    // Frames prove the stream runs even if the answer was lost.
                    ecgStarted = true
                    ecgUnavailable = nil
                    awaitingStart = nil
                }
                let (outcome, chunk) = chunker.append(
                    frame.microvolts,
                    lastSampleNanos: Int64(bitPattern: frame.timestampNanos),
                    receivedAtMicros: makeContext().receivedAtMicros
                )
                if outcome != .duplicate { track(frame.microvolts) }
                if let chunk { try await emit(.waveform(chunk)) }
            }
            try await publishWarning(emit)
        }

        /// Keeps the last `flatLineSeconds` of samples and decides whether they are flat.
        mutating func track(_ samples: [Int32]) {
            for sample in samples {
                recent[recentNext] = sample
                recentNext = (recentNext + 1) % recent.count
                recentCount = min(recentCount + 1, recent.count)
            }
            guard recentCount == recent.count, let low = recent.min(), let high = recent.max() else { return }
            flat = Double(high - low) <= driver.flatLineMicrovolts
        }

        mutating func finish(
            makeContext: @Sendable () -> MeasurementContext,
            emit: @Sendable (GATTMeasurementDriver.Event) async throws -> Void
        ) async throws {
            for chunk in chunker.finish(receivedAtMicros: makeContext().receivedAtMicros) {
                try await emit(.waveform(chunk))
            }
        }
    }

    private func deviceInfo(_ link: some GATTLink) async -> GATTMeasurementDriver.DeviceInfo {
        await .read(on: link)
    }
}
