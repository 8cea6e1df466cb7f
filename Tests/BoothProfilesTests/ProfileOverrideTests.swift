import BoothCore
import BoothProfiles
import Foundation
import Testing

@Suite("Profile overrides and reload")
struct ProfileOverrideTests {
    /// A scratch tree with a shipped and a site directory, removed at the end.
    final class Tree {
        let root: String
        var shipped: String { root + "/usr-share" }
        var site: String { root + "/etc" }

        init() throws {
            root =
                FileManager.default.temporaryDirectory.appendingPathComponent("boothd-profiles-\(UUID().uuidString)")
                .path
            try FileManager.default.createDirectory(atPath: shipped, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        func write(_ directory: String, _ name: String, _ text: String) throws {
            try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
    }

    static func profile(id: String, name: String, baud: Int = 19200) -> String {
        """
        id: \(id)
        name: \(name)
        role: oximeter
        transport: usb-serial
        driver: contec.cms50
        match:
          - usb: {vendor: 0x10c4, product: 0xea60}
        serial: {baud: \(baud), parity: odd}
        """
    }

    @Test func siteProfileOverridesShippedOneById() throws {
        let tree = try Tree()
        try tree.write(tree.shipped, "cms50.yaml", Self.profile(id: "contec.cms50dplus", name: "Shipped"))
        try tree.write(tree.shipped, "other.yaml", Self.profile(id: "contec.other", name: "Other"))
        try tree.write(tree.site, "cms50-site.yaml", Self.profile(id: "contec.cms50dplus", name: "Site", baud: 9600))
        try tree.write(tree.site, "README.txt", "not a profile")
        let set = try ProfileDirectoryLoader(directories: [tree.shipped, tree.site]).load()
        #expect(set.profiles.map(\.id) == ["contec.cms50dplus", "contec.other"])
        #expect(set["contec.cms50dplus"]?.name == "Site")
        #expect(set["contec.cms50dplus"]?.serial?.baudRate == 9600)
        #expect(set.overridden.count == 1)
        #expect(set.overridden.first?.by.file == tree.site + "/cms50-site.yaml")
        // Reverse order: shipped wins.
        let reversed = try ProfileDirectoryLoader(directories: [tree.site, tree.shipped]).load()
        #expect(reversed["contec.cms50dplus"]?.name == "Shipped")
    }

    @Test func missingSiteDirectoryIsFineButDuplicatesInOneDirectoryAreNot() throws {
        let tree = try Tree()
        try tree.write(tree.shipped, "a.yaml", Self.profile(id: "contec.cms50dplus", name: "A"))
        _ = try ProfileDirectoryLoader(directories: [tree.shipped, tree.root + "/absent"]).load()
        try tree.write(tree.shipped, "b.yaml", Self.profile(id: "contec.cms50dplus", name: "B"))
        try tree.write(tree.shipped, "c.yaml", "id: bad\n")
        do {
            _ = try ProfileDirectoryLoader(directories: [tree.shipped]).load()
            Issue.record("expected errors")
        } catch {
            // Both problems are reported, not only the first.
            #expect(error.errors.count == 2)
            #expect(error.errors.contains { $0.file.hasSuffix("b.yaml") && $0.reason.contains("already defined") })
            #expect(error.errors.contains { $0.file.hasSuffix("c.yaml") && $0.key == "id" })
        }
    }

    @Test func unknownDriverIsAnError() throws {
        let tree = try Tree()
        try tree.write(tree.shipped, "a.yaml", Self.profile(id: "contec.cms50dplus", name: "A"))
        #expect(throws: ProfileLoadErrors.self) {
            try ProfileDirectoryLoader(directories: [tree.shipped], knownDrivers: ["ble.plx"]).load()
        }
    }

    @Test func reloadSwapsTheSetAndKeepsItOnError() throws {
        let tree = try Tree()
        try tree.write(tree.shipped, "a.yaml", Self.profile(id: "contec.cms50dplus", name: "A"))
        let library = try ProfileLibrary(loader: ProfileDirectoryLoader(directories: [tree.shipped, tree.site]))
        #expect(library.current.profiles.count == 1)

        try tree.write(tree.site, "b.yaml", Self.profile(id: "contec.other", name: "B"))
        try tree.write(tree.site, "a.yaml", Self.profile(id: "contec.cms50dplus", name: "A2"))
        let summary = try library.reload()
        #expect(summary.added == ["contec.other"])
        #expect(summary.changed == ["contec.cms50dplus"])
        #expect(summary.removed.isEmpty)

        try tree.write(tree.site, "broken.yaml", "id: x.y\nname: [\n")
        #expect(throws: ProfileLoadErrors.self) { try library.reload() }
        #expect(library.current.profiles.map(\.name) == ["A2", "B"])
    }
}
