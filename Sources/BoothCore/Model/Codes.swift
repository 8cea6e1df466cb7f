/// An IEEE 11073-10101 nomenclature code (partition × 2^16 + term code), with its reference id.
public struct MDCCode: Sendable, Hashable, Codable, CustomStringConvertible {
    public var value: UInt32
    public var referenceID: String

    public init(_ value: UInt32, _ referenceID: String) {
        self.value = value
        self.referenceID = referenceID
    }

    public var description: String { "\(value) (\(referenceID))" }

    public static let pressureBloodNonInvasive = MDCCode(150_020, "MDC_PRESS_BLD_NONINV")
    public static let systolic = MDCCode(150_021, "MDC_PRESS_BLD_NONINV_SYS")
    public static let diastolic = MDCCode(150_022, "MDC_PRESS_BLD_NONINV_DIA")
    public static let meanArterial = MDCCode(150_023, "MDC_PRESS_BLD_NONINV_MEAN")
    public static let cuffPressure = MDCCode(150_024, "MDC_PRESS_CUFF")
    public static let pulseRateNonInvasive = MDCCode(149_546, "MDC_PULS_RATE_NON_INV")
    public static let spo2 = MDCCode(150_456, "MDC_PULS_OXIM_SAT_O2")
    public static let pulseOximetryPulseRate = MDCCode(149_530, "MDC_PULS_OXIM_PULS_RATE")
    public static let perfusionIndex = MDCCode(150_488, "MDC_PULS_OXIM_PERF_REL")
    public static let bodyTemperature = MDCCode(150_364, "MDC_TEMP_BODY")
    public static let glucoseCapillaryWholeBlood = MDCCode(160_184, "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD")
    public static let glucoseCapillaryPlasma = MDCCode(160_188, "MDC_CONC_GLU_CAPILLARY_PLASMA")
    public static let glucoseVenousWholeBlood = MDCCode(160_192, "MDC_CONC_GLU_VENOUS_WHOLEBLOOD")
    public static let glucoseVenousPlasma = MDCCode(160_196, "MDC_CONC_GLU_VENOUS_PLASMA")
    public static let glucoseArterialWholeBlood = MDCCode(160_200, "MDC_CONC_GLU_ARTERIAL_WHOLEBLOOD")
    public static let glucoseArterialPlasma = MDCCode(160_204, "MDC_CONC_GLU_ARTERIAL_PLASMA")
    public static let glucoseInterstitialFluid = MDCCode(160_212, "MDC_CONC_GLU_ISF")
    public static let bodyWeight = MDCCode(188_736, "MDC_MASS_BODY_ACTUAL")
    public static let bodyHeight = MDCCode(188_740, "MDC_LEN_BODY_ACTUAL")
    public static let bodyMassIndex = MDCCode(188_752, "MDC_RATIO_MASS_BODY_LEN_SQ")
    public static let heartRate = MDCCode(147_842, "MDC_ECG_HEART_RATE")

    /// LOINC codes used by the HL7 Personal Health Device IG for these terms.
    public var loinc: String? {
        switch value {
        case Self.pressureBloodNonInvasive.value: "85354-9"
        case Self.systolic.value: "8480-6"
        case Self.diastolic.value: "8462-4"
        case Self.meanArterial.value: "8478-0"
        case Self.pulseRateNonInvasive.value, Self.pulseOximetryPulseRate.value, Self.heartRate.value: "8867-4"
        case Self.spo2.value: "59408-5"
        case Self.bodyTemperature.value: "8310-5"
        case Self.glucoseCapillaryWholeBlood.value: "41653-7"
        case Self.bodyWeight.value: "29463-7"
        case Self.bodyHeight.value: "8302-2"
        case Self.bodyMassIndex.value: "39156-5"
        default: nil
        }
    }
}

/// A UCUM unit code with the IEEE 11073 unit code where one exists.
public struct UCUMUnit: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The UCUM case-sensitive code, e.g. `mm[Hg]`, `%`, `Cel`, `/min`.
    public var code: String

    public init(_ code: String) {
        self.code = code
    }

    public var description: String { code }

    public static let mmHg = UCUMUnit("mm[Hg]")
    public static let kPa = UCUMUnit("kPa")
    public static let percent = UCUMUnit("%")
    public static let perMinute = UCUMUnit("/min")
    public static let celsius = UCUMUnit("Cel")
    public static let fahrenheit = UCUMUnit("[degF]")
    public static let kilogram = UCUMUnit("kg")
    public static let pound = UCUMUnit("[lb_av]")
    public static let metre = UCUMUnit("m")
    public static let inch = UCUMUnit("[in_i]")
    public static let kgPerSquareMetre = UCUMUnit("kg/m2")
    public static let kgPerLitre = UCUMUnit("kg/L")
    public static let molPerLitre = UCUMUnit("mol/L")
    public static let milligramPerDecilitre = UCUMUnit("mg/dL")
    public static let millimolePerLitre = UCUMUnit("mmol/L")
}
