import BoothService
import Foundation
import Testing

@Suite struct ConfigLoaderTests {
    private func writeTemporary(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("boothd-config-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func defaultsWorkWithNoFile() throws {
        let config = try ConfigLoader.load(path: nil, environment: [:])
        #expect(config == BoothConfig())
        #expect(config.api.host == "127.0.0.1")
    }

    @Test func fileValuesApply() throws {
        let path = try writeTemporary(
            """
            api:
              port: 9100
              allowed_origins: ["http://kiosk.local"]
            simulator:
              mode: off
              interval_seconds: 2.5
            storage:
              retention_hours: 6
            """
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ConfigLoader.load(path: path, environment: [:])
        #expect(config.api.port == 9100)
        #expect(config.api.allowedOrigins == ["http://kiosk.local"])
        #expect(config.simulator.mode == .off)
        #expect(config.simulator.intervalSeconds == 2.5)
        #expect(config.storage.retentionHours == 6)
    }

    @Test func precedenceIsFileThenEnvironmentThenCommandLine() throws {
        let path = try writeTemporary("api:\n  port: 9100\n  host: 127.0.0.2\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ConfigLoader.load(
            path: path,
            environment: ["BOOTHD_API_PORT": "9200", "BOOTHD_API_HOST": "127.0.0.3", "PATH": "/bin"],
            overrides: ["api.port=9300"]
        )
        #expect(config.api.port == 9300)
        #expect(config.api.host == "127.0.0.3")
    }

    @Test func unknownKeyNamesFileLineAndKey() throws {
        let path = try writeTemporary("api:\n  port: 9100\n  prot: 1\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path, environment: [:]) }
        #expect(error.source == path)
        #expect(error.line == 3)
        #expect(error.key == "api.prot")
        #expect(error.description.hasPrefix("\(path):3: api.prot: unknown key"))
    }

    @Test func unknownSectionIsAnError() throws {
        let path = try writeTemporary("apii:\n  port: 1\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path, environment: [:]) }
        #expect(error.line == 1)
        #expect(error.key == "apii")
        #expect(error.reason.contains("unknown section"))
    }

    @Test(arguments: [
        ("api:\n  port: 70000\n", 2, "api.port", "out of range"),
        ("api:\n  port: eighty\n", 2, "api.port", "expected an integer"),
        ("simulator:\n  mode: maybe\n", 2, "simulator.mode", "expected one of auto, on, off"),
        ("api:\n  serve_web: perhaps\n", 2, "api.serve_web", "expected true or false"),
        ("api:\n  allowed_origins: http://x\n", 2, "api.allowed_origins", "expected a list"),
        ("api: 3\n", 1, "api", "expected a mapping"),
        ("api:\n  port: [1, 2]\n", 2, "api.port", "expected a single value"),
    ])
    func badValuesAreRejectedWithTheirLine(text: String, line: Int, key: String, reason: String) throws {
        let path = try writeTemporary(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path, environment: [:]) }
        #expect(error.line == line)
        #expect(error.key == key)
        #expect(error.reason.contains(reason), "\(error)")
    }

    @Test func malformedYAMLGivesALine() throws {
        let path = try writeTemporary("api:\n  port: 1\n   host: [\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path, environment: [:]) }
        #expect(error.line != nil)
        #expect(error.reason.hasPrefix("not valid YAML"))
    }

    @Test func duplicateKeysAreRejected() throws {
        let path = try writeTemporary("api:\n  port: 1\n  port: 2\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.load(path: path, environment: [:]) }
        #expect(error.reason.contains("duplicate"))
    }

    @Test func explicitMissingFileIsAnError() throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(path: "/nonexistent/boothd.yaml", environment: [:])
        }
        #expect(error.description == "/nonexistent/boothd.yaml: no such file")
    }

    @Test func environmentErrorsNameTheVariable() throws {
        let unknown = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(path: nil, environment: ["BOOTHD_API_PROT": "1"])
        }
        #expect(unknown.description == "environment: BOOTHD_API_PROT: unknown variable")
        let bad = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(path: nil, environment: ["BOOTHD_API_PORT": "x"])
        }
        #expect(bad.description == "environment: BOOTHD_API_PORT: expected an integer, got \"x\"")
    }

    @Test func commandLineOverrideErrors() throws {
        let noEquals = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(path: nil, environment: [:], overrides: ["api.port"])
        }
        #expect(noEquals.reason == "expected key=value")
        let listOverride = try ConfigLoader.load(
            path: nil,
            environment: [:],
            overrides: ["api.allowed_origins=http://a, http://b"]
        )
        #expect(listOverride.api.allowedOrigins == ["http://a", "http://b"])
    }

    @Test func everyKeyHasAnEnvironmentName() {
        let table = ConfigLoader.keyTable
        #expect(table.contains { $0.path == "api.port" && $0.environment == "BOOTHD_API_PORT" })
        #expect(Set(table.map(\.environment)).count == table.count)
    }
}
