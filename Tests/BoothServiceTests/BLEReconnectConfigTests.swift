import BoothService
import Foundation
import Testing

/// `ble.reconnect_delay_seconds` and `ble.driver_restart_max_seconds`: boothd's pauses before reconnecting a BLE
/// device, shortened only by the power-cycle soak (scripts/faults/ble-power-cycle.sh).
@Suite struct BLEReconnectConfigTests {
    @Test func defaultsAreOneAndFiveSeconds() throws {
        let config = try ConfigLoader.load(path: nil, environment: [:])
        #expect(config.ble.reconnectDelaySeconds == 1.0)
        #expect(config.ble.driverRestartMaxSeconds == 5.0)
    }

    @Test func commandLineAndEnvironmentSetThem() throws {
        let config = try ConfigLoader.load(
            path: nil,
            environment: ["BOOTHD_BLE_DRIVER_RESTART_MAX_SECONDS": "0.5"],
            overrides: ["ble.reconnect_delay_seconds=0.2"]
        )
        #expect(config.ble.reconnectDelaySeconds == 0.2)
        #expect(config.ble.driverRestartMaxSeconds == 0.5)
    }

    @Test(arguments: [
        ("ble.reconnect_delay_seconds=0", "ble.reconnect_delay_seconds"),
        ("ble.reconnect_delay_seconds=61", "ble.reconnect_delay_seconds"),
        ("ble.driver_restart_max_seconds=0.1", "ble.driver_restart_max_seconds"),
    ])
    func outOfRangeNamesTheKey(override: String, key: String) throws {
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(path: nil, environment: [:], overrides: [override])
        }
        #expect(error.key == key)
        #expect(error.reason.contains("out of range"), "\(error)")
    }
}
