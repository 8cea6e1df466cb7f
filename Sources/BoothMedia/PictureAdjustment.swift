import CBoothShim
import CGStreamer

/// A `videobalance` property the simulated camera exposes as a camera control.
public enum PictureAdjustment: String, Sendable, Hashable, CaseIterable {
    /// -1...1, 0 unchanged.
    case brightness
    /// 0...2, 1 unchanged.
    case contrast
    /// 0...2, 1 unchanged.
    case saturation

    static let elementName = "picture-balance"

    var range: ClosedRange<Double> { self == .brightness ? -1...1 : 0...2 }
}

extension PipelineGraph {
    /// Applies an adjustment when the pipeline has a balance element (the simulated source); looked up by name
    /// so the graph keeps no extra element reference.
    func setPictureAdjustment(_ adjustment: PictureAdjustment, _ value: Double) {
        guard let element = gst_bin_get_by_name(booth_gst_bin(pipeline), PictureAdjustment.elementName) else {
            return
        }
        defer { gst_object_unref(UnsafeMutableRawPointer(element)) }
        let range = adjustment.range
        booth_g_object_set_double(element, adjustment.rawValue, min(range.upperBound, max(range.lowerBound, value)))
    }
}
