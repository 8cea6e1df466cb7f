import BoothCore
import BoothService
import Foundation

/// Human output of `boothctl status`, `devices`, `measure` and `usage` (the JSON forms are the API's own).
public enum TechnicianViews {
    // MARK: status

    public static func status(_ status: DaemonStatus, endpoint: String, nowMicros: Int64) -> [String] {
        var lines = [
            "boothd      \(status.version), up \(duration(seconds: status.uptimeSeconds)), on \(endpoint)",
            "session     "
                + (status.session.active
                    ? "active (\(status.session.sessionId ?? "?"), started \(ago(status.session.startedAtMicros, nowMicros)))"
                    : "none"),
        ]
        var storage = "storage     \(status.storage.state)"
        if let reason = status.storage.reason { storage += " (\(reason))" }
        if let depth = status.storage.depth {
            storage += ", \(depth) undelivered event\(depth == 1 ? "" : "s")"
            if let oldest = status.storage.oldestUndeliveredMicros {
                storage += ", oldest \(ago(oldest, nowMicros))"
            }
        }
        lines.append(storage)
        let total = status.devices.values.reduce(0, +)
        let states = status.devices.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        lines.append("devices     \(total)" + (states.isEmpty ? "" : " (" + states.joined(separator: ", ") + ")"))
        lines.append("clients     \(status.clients)")
        return lines
    }

    // MARK: devices

    public static func devices(_ devices: [DeviceStatus], nowMicros: Int64) -> [String] {
        let header = ["ROLE", "MODEL", "TRANSPORT", "ADDRESS", "STATE", "BATTERY", "FIRMWARE", "LAST SEEN"]
        let rows = devices.sorted { ($0.role.rawValue, $0.id) < ($1.role.rawValue, $1.id) }.map { device in
            var state = device.state.name
            if case .error(let reason) = device.state { state += ": " + String(reason.prefix(40)) }
            return [
                device.role.rawValue, device.model ?? "-", device.transport, address(of: device), state,
                device.batteryPercent.map { "\($0)%" } ?? "-", device.firmware ?? "-",
                ago(device.lastSeenMicros, nowMicros),
            ]
        }
        if rows.isEmpty { return ["no devices"] }
        return table([header] + rows)
    }

    /// The device's address without boothd's transport prefix (`ble:C0:26:…` → `C0:26:…`).
    static func address(of device: DeviceStatus) -> String {
        for prefix in ["ble:", "usb:", "v4l2:", "alsa:", "serial:", "hid:"] where device.id.hasPrefix(prefix) {
            return String(device.id.dropFirst(prefix.count))
        }
        return device.id
    }

    // MARK: readings

    private static let shortNames: [String: String] = [
        "MDC_PULS_OXIM_SAT_O2": "SpO2", "MDC_PULS_OXIM_PULS_RATE": "pulse", "MDC_PULS_RATE_NON_INV": "pulse",
        "MDC_PRESS_BLD_NONINV_SYS": "sys", "MDC_PRESS_BLD_NONINV_DIA": "dia", "MDC_PRESS_BLD_NONINV_MEAN": "mean",
        "MDC_TEMP_BODY": "temp", "MDC_MASS_BODY_ACTUAL": "weight", "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD": "glucose",
        "MDC_PULS_OXIM_PERF_REL": "PI", "MDC_ECG_HEART_RATE": "heart rate",
    ]

    /// One line per reading: time received, device, kind, then each value with its unit.
    public static func reading(_ measurement: BoothCore.Measurement, timeZone: TimeZone = .current) -> String {
        let values = measurement.values.map { value -> String in
            let name =
                shortNames[value.code.referenceID] ?? value.code.referenceID.replacingOccurrences(of: "MDC_", with: "")
            let number = value.number.map { "\($0)" } ?? (value.absentReason.map { "(\($0.rawValue))" } ?? "-")
            return "\(name) \(number) \(value.unit.code)"
        }
        var line =
            "\(clock(measurement.receivedAtMicros, timeZone: timeZone))  \(measurement.device.id)  "
            + "\(measurement.kind.rawValue)  " + values.joined(separator: "  ")
        if measurement.origin == .stored { line += "  (from device memory)" }
        return line
    }

    // MARK: usage

    public static func usageTable(_ report: UsageReport) -> [String] {
        var lines = [
            "usage \(report.since) to \(report.until) (\(report.timeZone)): \(report.sessions) session"
                + (report.sessions == 1 ? "" : "s")
        ]
        let header = [
            "ROLE", "DEVICE", "MODEL", "USED IN", "RATE", "READINGS", "RETAKES", "FAILURES", "CONNECTS", "NOT READY",
        ]
        func cells(_ row: UsageRow) -> [String] {
            [
                row.role, row.deviceId ?? "(all)", row.model ?? "-", "\(row.sessionsUsed)/\(row.sessions)",
                row.usageRate.map { String(format: "%.0f%%", $0 * 100) } ?? "-", "\(row.measurements)",
                "\(row.retakes)", "\(row.failures)", "\(row.connections)",
                row.deviceId == nil ? "\(row.notReady)" : "-",
            ]
        }
        var rows: [[String]] = []
        for role in report.roles {
            rows.append(cells(role))
            rows += report.devices.filter { $0.role == role.role }.map(cells)
        }
        let readiness = report.readiness
        let checks =
            "readiness checks: \(readiness.runs)"
            + (readiness.runs == 0
                ? "" : " (\(readiness.ready) ready, \(readiness.warning) warning, \(readiness.missing) missing)")
        if rows.isEmpty { return lines + ["no device was used", checks] }
        lines += table([header] + rows)
        return lines + [checks]
    }

    /// One row per day and device, and per day and role (`device_id` empty), then the period's totals
    /// (`day` = `total`).
    public static func usageCSV(_ report: UsageReport) -> String {
        var lines = [
            "day,role,device_id,model,sessions,sessions_used,usage_rate,measurements,retakes,failures,not_ready,connections"
        ]
        func line(_ day: String, _ row: UsageRow) -> String {
            [
                day, row.role, row.deviceId ?? "", row.model ?? "", "\(row.sessions)", "\(row.sessionsUsed)",
                row.usageRate.map { String(format: "%.4f", $0) } ?? "", "\(row.measurements)", "\(row.retakes)",
                "\(row.failures)", "\(row.notReady)", "\(row.connections)",
            ].map(csvField).joined(separator: ",")
        }
        for day in report.days {
            lines += day.roles.map { line(day.day, $0) } + day.devices.map { line(day.day, $0) }
        }
        lines += report.roles.map { line("total", $0) } + report.devices.map { line("total", $0) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    // MARK: helpers

    /// Left-aligned columns separated by two spaces.
    static func table(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    static func duration(seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        if total < 86400 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
        return "\(total / 86400)d\(String(format: "%02d", total % 86400 / 3600))h"
    }

    static func ago(_ micros: Int64?, _ nowMicros: Int64) -> String {
        guard let micros else { return "-" }
        let seconds = Double(max(0, nowMicros - micros)) / 1_000_000
        return seconds < 1 ? "just now" : duration(seconds: seconds) + " ago"
    }

    static func clock(_ micros: Int64, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents(
            [.hour, .minute, .second],
            from: Date(timeIntervalSince1970: Double(micros) / 1_000_000)
        )
        return String(format: "%02d:%02d:%02d", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }
}
