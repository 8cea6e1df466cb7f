// libFuzzer entry point over every BoothCore decoder and the stream framer. Built by scripts/fuzz/run.sh together
// with the BoothCore sources (one module), never by SwiftPM, so normal builds do not link the fuzzer runtime.
//
// Input layout: byte 0 selects the target (decoders in DecoderRegistry order, then the stream kinds through
// ByteStreamDecoder = framer + decoder), the rest is the payload; scripts/fuzz/make-corpus.py writes the seeds. Any trap (bounds, overflow, ASan) is a finding; decoders must only ever throw DecodeError.

/// decode → encode → decode must give the same value for every type that has an encoder.
func roundTrip<D: PayloadDecoder & Equatable>(_ type: D.Type, _ bytes: [UInt8], _ encode: (D) throws -> [UInt8]) {
    guard let decoded = try? D(bytes: bytes), let encoded = try? encode(decoded) else { return }
    guard let again = try? D(bytes: encoded), again == decoded else {
        fatalError("\(D.profile): round trip changed \(Hex.string(bytes)) -> \(Hex.string(encoded))")
    }
}

func fuzzOne(_ data: [UInt8]) {
    guard let selector = data.first else { return }
    let payload = Array(data.dropFirst())
    let entries = DecoderRegistry.all
    let framerKinds = ["cms50", "cms50-recorded", "berrymed", "jumper", "jumper-bp", "yuwell", "viatom-frame"]
    let target = Int(selector) % (entries.count + framerKinds.count)
    if target < entries.count {
        if let reading = try? entries[target].decode(payload) {
            // The projections must not trap either.
            _ = reading.fields.map(\.value.description)
            let context = MeasurementContext(
                id: "fuzz", device: DeviceIdentity(id: "fuzz", transport: "simulated"), receivedAtMicros: 0)
            if let measurement = reading.measurement(context, raw: payload) {
                _ = FHIRObservation.json(measurement, deviceReference: "Device/fuzz")
            }
        }
        switch entries[target].kind {
        case "sfloat":
            if payload.count == 2 {
                let raw = UInt16(payload[0]) | UInt16(payload[1]) << 8
                guard (try? MDERFloat(sfloat: raw).sfloatBits()) == raw else { fatalError("sfloat \(raw)") }
            }
        case "float":
            if payload.count == 4 {
                let raw = payload.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                guard (try? MDERFloat(float: raw).floatBits()) == raw else { fatalError("float \(raw)") }
            }
        case "2A5E": roundTrip(PLXSpotCheck.self, payload) { try $0.encoded() }
        case "2A5F": roundTrip(PLXContinuous.self, payload) { try $0.encoded() }
        case "2A60": roundTrip(PLXFeatures.self, payload) { $0.encoded() }
        case "2A35": roundTrip(BloodPressureMeasurement.self, payload) { try $0.encoded() }
        case "2A1C": roundTrip(TemperatureMeasurement.self, payload) { try $0.encoded() }
        case "2A18": roundTrip(GlucoseMeasurement.self, payload) { try $0.encoded() }
        case "2A9D": roundTrip(WeightMeasurement.self, payload) { try $0.encoded() }
        case "2A52": roundTrip(RecordAccessControlPoint.self, payload) { $0.encoded() }
        case "2A2B": roundTrip(CurrentTime.self, payload) { try $0.encoded() }
        case "cms50": roundTrip(ContecCMS50Live.self, payload) { $0.encoded() }
        case "cms50-recorded": roundTrip(ContecCMS50Recorded.self, payload) { $0.encoded() }
        case "jumper": roundTrip(JumperOximeter.self, payload) { $0.encoded() }
        case "jumper-bp": roundTrip(JumperBloodPressure.self, payload) { $0.encoded() }
        case "yuwell": roundTrip(YuwellYX110.self, payload) { $0.encoded() }
        case "viatom-frame": roundTrip(ViatomFrame.self, payload) { try $0.encoded() }
        case "viatom-sensors": roundTrip(ViatomSensors.self, payload) { $0.encoded() }
        default: break
        }
        return
    }
    // Framer: the payload is cut into chunks whose sizes come from the payload itself; every byte must come
    // out exactly once, as part of a frame or as garbage, in order.
    let kind = framerKinds[target - entries.count]
    guard var decoder = ByteStreamDecoder(kind: kind, maxBuffer: 512) else { fatalError("no stream decoder for \(kind)") }
    var output: [UInt8] = []
    func collect(_ outputs: [ByteStreamDecoder.Output]) {
        for item in outputs {
            switch item {
            case .reading(_, let raw): output += raw
            case .rejected(let raw, _): output += raw
            case .garbage(let bytes): output += bytes
            }
        }
    }
    var position = 0
    while position < payload.count {
        let size = Int(payload[position] % 9) + 1
        let end = min(payload.count, position + size)
        collect(decoder.push(payload[position..<end]))
        position = end
    }
    collect(decoder.finish())
    guard output == payload else { fatalError("stream \(kind) lost or reordered bytes") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
