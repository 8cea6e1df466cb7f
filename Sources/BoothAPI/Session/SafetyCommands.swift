import BoothCore
import BoothService
import Foundation
import Synchronization

/// A camera the readiness check probes for frames. Cameras reach the check through here (and not only through
/// the device registry) because a camera pipeline knows whether it delivers pictures; the registry does not.
public struct ReadinessCamera: Sendable {
    public var status: DeviceStatus
    /// True when the camera delivered a frame within the probe's own time limit.
    public var probe: @Sendable () async -> Bool

    public init(status: DeviceStatus, probe: @escaping @Sendable () async -> Bool) {
        self.status = status
        self.probe = probe
    }
}

/// What the consultation-safety commands of the session API need (issue 11): the safety recorder in front of
/// the outbox, the booth inventory and its thresholds, and the camera probes.
public final class SessionSafety: Sendable {
    let recorder: SafeRecorder
    let inventory: BoothInventory
    let config: BoothConfig
    let now: @Sendable () -> Int64
    private let cameras = Mutex<[ReadinessCamera]>([])

    public init(
        recorder: SafeRecorder,
        inventory: BoothInventory,
        config: BoothConfig,
        now: @escaping @Sendable () -> Int64 = Outbox.currentMicros
    ) {
        self.recorder = recorder
        self.inventory = inventory
        self.config = config
        self.now = now
    }

    /// Adds a camera to the readiness check (cameras are created after the API hub).
    public func addCamera(_ camera: ReadinessCamera) {
        cameras.withLock { $0.append(camera) }
    }

    var readinessCameras: [ReadinessCamera] { cameras.withLock { $0 } }

    /// The roles the inventory lists, in order.
    public var inventoryRoles: [DeviceRole] { inventory.items.map(\.role) }

    /// Runs the readiness check: registry snapshot plus camera probes (run concurrently), clock estimates from
    /// the recorder. Returns the report and how long it took.
    public func readiness(registry: DeviceRegistry) async -> (report: ReadinessReport, durationMicros: Int64) {
        let started = ContinuousClock.now
        let cameras = readinessCameras
        let frames = await withTaskGroup(of: (String, Bool).self) { group in
            for camera in cameras {
                group.addTask { (camera.status.id, await camera.probe()) }
            }
            var frames: [String: Bool] = [:]
            for await (id, delivered) in group { frames[id] = delivered }
            return frames
        }
        let nowMicros = now()
        let registered = await registry.snapshot()
        let probed = cameras.map { camera in
            var status = camera.status
            status.lastSeenMicros = nowMicros
            return status
        }
        let report = Readiness.evaluate(
            inventory: inventory,
            devices: registered.filter { device in !probed.contains { $0.id == device.id } } + probed,
            observations: ReadinessObservations(framesDelivered: frames, clocks: recorder.clockEstimates),
            nowMicros: nowMicros,
            batteryWarningPercent: config.booth.batteryWarningPercent,
            staleMicros: Int64(config.booth.staleSeconds) * 1_000_000
        )
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        return (report, micros)
    }
}

/// The session API's consultation-safety commands: `readiness` and `measurement.manual` (issue 11).
/// Assign, discard and the pending list are the outbox commands of SessionConnection.swift.
extension SessionConnection {
    static let safetyCommands = ["readiness", "measurement.manual"]

    /// The result of a safety command, or nil when `name` is not one.
    func performSafety(_ name: String, params: [String: JSONValue]) async throws(WireError) -> String? {
        guard Self.safetyCommands.contains(name) else { return nil }
        guard let safety = hub.safety else {
            throw WireError("not_available", "\(name): this boothd has no booth inventory wired to the API")
        }
        switch name {
        case "readiness": return try await readiness(safety)
        default: return try await manualEntry(safety, params: params)
        }
    }

    private func readiness(_ safety: SessionSafety) async throws(WireError) -> String {
        let (report, duration) = await safety.readiness(registry: hub.devices)
        let reportJSON = Wire.object([("durationMicros", "\(duration)"), ("report", Wire.encode(report))])
        let event: StoredEvent
        do {
            // Durable before the answer: the usage report counts readiness runs from these events.
            event = try await hub.outbox.recordReadinessReport(json: reportJSON)
        } catch {
            throw WireError(error.code.rawValue, error.message)
        }
        return Wire.object([
            ("durationMicros", "\(duration)"), ("eventId", "\(event.id)"), ("report", Wire.encode(report)),
        ])
    }

    /// Degraded mode: a value typed by the pharmacist or nurse.
    ///
    /// Params: `kind` (`bodyTemperature` ...) or `role` (`thermometer` ...); either `values`, a list of
    /// `{code, value, unit}`, or one `code` (optional when the kind has one main value), `value`, `unit`;
    /// `operatorRef` (opaque); optional `reason` and `measurementId` (a retry with the same id stores it once).
    private func manualEntry(_ safety: SessionSafety, params: [String: JSONValue]) async throws(WireError) -> String {
        let entry = try Self.parseManualEntry(params)
        let id: String
        switch params["measurementId"] {
        case nil, .null: id = "manual-" + UUID().uuidString.lowercased()
        case .string(let text) where !text.isEmpty && text.count <= 128: id = text
        default: throw WireError("invalid_params", "measurement.manual: \"measurementId\" must be 1 to 128 characters")
        }
        let measurement: BoothCore.Measurement
        let binding: MeasurementBinding
        do {
            (measurement, binding) = try await safety.recorder.recordManual(
                entry,
                id: id,
                enteredAtMicros: safety.now()
            )
        } catch let error as ManualEntryError {
            throw WireError(error.impossibleValue ? "value_impossible" : "invalid_params", error.description)
        } catch let error as OutboxError {
            throw WireError(error.code.rawValue, error.message)
        } catch {
            throw WireError("internal_error", "\(error)")
        }
        let decision: BindingDecision?
        do {
            decision = try await hub.outbox.bindingDecision(ofMeasurement: id)
        } catch {
            throw WireError(error.code.rawValue, error.message)
        }
        let warnings = (measurement.provenance?.rangeFindings ?? []).map(\.message)
        return Wire.object([
            ("measurementId", Wire.string(id)), ("binding", Wire.string(binding.rawValue)),
            ("bindingReason", Wire.string(decision?.reason.rawValue)),
            ("sessionId", Wire.string(decision?.sessionID)), ("warnings", Wire.encode(warnings)),
            ("measurement", Wire.encode(measurement)),
        ])
    }

    static func parseManualEntry(_ params: [String: JSONValue]) throws(WireError) -> ManualEntry {
        func fail(_ message: String) -> WireError { WireError("invalid_params", "measurement.manual: \(message)") }
        let kind: MeasurementKind
        if let name = params["kind"]?.string {
            guard let parsed = MeasurementKind(rawValue: name) else {
                throw fail("unknown kind \"\(name.prefix(64))\"")
            }
            kind = parsed
        } else if let name = params["role"]?.string {
            guard let role = DeviceRole(rawValue: name), let parsed = manualKind(for: role) else {
                throw fail("role \"\(name.prefix(64))\" has no value that can be typed")
            }
            kind = parsed
        } else {
            throw fail("needs \"kind\" (for example bodyTemperature) or \"role\" (for example thermometer)")
        }
        guard let operatorRef = params["operatorRef"]?.string else {
            throw fail("needs \"operatorRef\": the app's opaque reference of the operator")
        }
        var reason: String?
        switch params["reason"] {
        case nil, .null: reason = nil
        case .string(let text) where text.count <= 512: reason = text
        default: throw fail("\"reason\" must be a string of at most 512 characters")
        }
        var items: [[String: JSONValue]] = []
        if let list = params["values"] {
            guard case .array(let elements) = list, !elements.isEmpty, elements.count <= 8 else {
                throw fail("\"values\" must be a list of 1 to 8 {code, value, unit} objects")
            }
            for element in elements {
                guard case .object(let object) = element else { throw fail("each value must be an object") }
                items.append(object)
            }
        } else {
            items = [params]
        }
        let allowed = ManualEntry.codes(for: kind)
        var values: [ManualEntry.Value] = []
        for item in items {
            let code: MDCCode
            switch item["code"] {
            case nil, .null:
                guard let main = (allowed.required + allowed.optional).first, items.count == 1 else {
                    throw fail("each value needs a \"code\" (an MDC reference id such as MDC_TEMP_BODY)")
                }
                code = main
            case .string(let text):
                guard let found = (allowed.required + allowed.optional).first(where: { $0.referenceID == text }) else {
                    let known = (allowed.required + allowed.optional).map(\.referenceID).joined(separator: ", ")
                    throw fail("code \"\(text.prefix(64))\" is not a value of \(kind.rawValue) (known: \(known))")
                }
                code = found
            default:
                throw fail("\"code\" must be an MDC reference id string")
            }
            let text: String
            switch item["value"] {
            case .string(let typed): text = typed
            case .number(let number): text = number.rounded() == number ? String(Int64(number)) : String(number)
            default: throw fail("\(code.referenceID) needs \"value\": a number or the text as typed (37.2 or 37,2)")
            }
            guard let unit = item["unit"]?.string, !unit.isEmpty, unit.count <= 32 else {
                throw fail("\(code.referenceID) needs \"unit\": a UCUM code such as Cel, [degF], mm[Hg], kPa, %")
            }
            values.append(ManualEntry.Value(code: code, text: text, unit: UCUMUnit(unit)))
        }
        return ManualEntry(kind: kind, values: values, operatorRef: operatorRef, reason: reason)
    }

    /// The kind of value typed for a device role.
    static func manualKind(for role: DeviceRole) -> MeasurementKind? {
        switch role {
        case .bp: .bloodPressure
        case .oximeter: .oxygenSaturation
        case .thermometer: .bodyTemperature
        case .glucometer: .glucose
        case .scale: .bodyWeight
        case .ecg: .heartRate
        default: nil
        }
    }
}
