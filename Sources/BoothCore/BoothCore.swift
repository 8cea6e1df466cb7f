/// Version of boothd, reported by `boothctl version`, the API hello and provenance records.
public enum BoothVersion {
    public static let string = "0.1.0"
}
