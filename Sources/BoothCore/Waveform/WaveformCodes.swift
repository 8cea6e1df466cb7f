extension MDCCode {
    /// MDC_ECG_TIME_PD_RR_GL: RR interval (global), reported by heart-rate straps.
    public static let rrInterval = MDCCode(147_240, "MDC_ECG_TIME_PD_RR_GL")
    /// MDC_ECG_ELEC_POTL: ECG electric potential of an unspecified lead (single-lead chest straps).
    public static let ecgPotential = MDCCode(131_328, "MDC_ECG_ELEC_POTL")
}

extension UCUMUnit {
    public static let millisecond = UCUMUnit("ms")
    public static let microvolt = UCUMUnit("uV")
    public static let millivolt = UCUMUnit("mV")
}
