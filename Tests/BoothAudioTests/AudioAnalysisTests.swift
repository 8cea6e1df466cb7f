import BoothCore
import BoothMedia
import Foundation
import Testing

@Suite("Stethoscope analysis (pure)")
struct AudioAnalysisTests {
    @Test(arguments: [48.0, 72.0, 95.0, 130.0])
    func heartRateFromSyntheticEnvelope(bpm: Double) throws {
        let signal = SyntheticPhonocardiogram(beatsPerMinute: bpm).samples(seconds: 15)
        let estimate = try #require(HeartRateEstimator.estimate(samples: signal, sampleRate: 48000))
        #expect(abs(estimate.beatsPerMinute - bpm) < 1.5, "estimated \(estimate.beatsPerMinute) for \(bpm)")
        #expect(estimate.confidence > 0.3)
    }

    @Test func heartRateNeedsEnoughSignal() {
        #expect(HeartRateEstimator.estimate(samples: [Float](repeating: 0, count: 48000), sampleRate: 48000) == nil)
        #expect(HeartRateEstimator.estimate(samples: [0.1, 0.2], sampleRate: 48000) == nil)
        // A steady tone has no beat.
        let tone = (0..<(48000 * 5)).map { Float(0.5 * sin(2 * Double.pi * 100 * Double($0) / 48000)) }
        #expect(HeartRateEstimator.estimate(samples: tone, sampleRate: 48000) == nil)
    }

    @Test func signalMonitorReportsClippingThenSilenceThenRecovery() {
        var monitor = SignalMonitor()
        func level(_ time: Double, rms: Double, peak: Double) -> AudioLevel {
            AudioLevel(stage: .input, time: time, rmsDB: [rms], peakDB: [peak])
        }
        #expect(monitor.update(level(0.2, rms: -30, peak: -10)) == nil)
        #expect(monitor.update(level(0.4, rms: -3, peak: 0)) == .clipping)
        #expect(monitor.update(level(0.6, rms: -30, peak: -10)) == nil)  // held for 1 s
        #expect(monitor.update(level(1.6, rms: -30, peak: -10)) == .ok)
        #expect(monitor.update(level(1.8, rms: -90, peak: -80)) == nil)
        #expect(monitor.update(level(3.6, rms: -90, peak: -80)) == nil)  // 1.8 s of silence: not yet
        #expect(monitor.update(level(4.0, rms: -.infinity, peak: -.infinity)) == .noSignal)
        #expect(monitor.condition == .noSignal)
        #expect(monitor.update(level(4.2, rms: -40, peak: -20)) == .ok)
    }

    @Test func alsaCaptureDevicesFromProcFiles() {
        let cards = """
             0 [PCH            ]: HDA-Intel - HDA Intel PCH
                                  HDA Intel PCH at 0xf7f10000 irq 32
             1 [Device         ]: USB-Audio - USB Audio Device
                                  C-Media Electronics Inc. USB Audio Device at usb-0000:00:14.0-2, full speed
            """
        let pcm = """
            00-00: ALC887-VD Analog : ALC887-VD Analog : playback 1 : capture 1
            00-01: ALC887-VD Digital : ALC887-VD Digital : playback 1
            01-00: USB Audio : USB Audio : playback 1 : capture 1
            """
        let devices = AlsaDevices.parse(cards: cards, pcm: pcm)
        #expect(devices.count == 2)
        #expect(devices[1].cardID == "Device")
        #expect(devices[1].cardName == "USB Audio Device")
        #expect(devices[1].alsaName == "hw:CARD=Device,DEV=0")
        #expect(devices[0].pcmName == "ALC887-VD Analog")
        #expect(devices.allSatisfy { $0.subdevices == 1 })
    }

    @Test func alsaDeviceAddresses() throws {
        let loop = try #require(AlsaDevices.address(of: "hw:Loopback,1,0"))
        #expect(loop.card == "Loopback" && loop.device == 1 && loop.subdevice == 0)
        let named = try #require(AlsaDevices.address(of: "plughw:CARD=Device,DEV=2"))
        #expect(named.card == "Device" && named.device == 2)
        #expect(AlsaDevices.address(of: "default") == nil)
        #expect(AlsaDevices.ownerPID(status: "state: RUNNING\nowner_pid   : 4242\ntrigger_time: 1.0") == 4242)
        #expect(AlsaDevices.ownerPID(status: "closed") == nil)
    }

    @Test func modesClampToNyquist() {
        #expect(StethoscopeMode.wide.band(sampleRate: 4000).high == 1800)
        #expect(StethoscopeMode.wide.band(sampleRate: 8000).high == 2000)
        #expect(StethoscopeMode.bell.band(sampleRate: 8000).high == 200)
        #expect(StethoscopeMode.diaphragm.band == (100, 1000))
    }

    @Test func configurationRejectsOutOfRangeValues() {
        var config = StethoscopeConfiguration(source: .pushed, opusBitrate: 1000)
        #expect(
            throws: StethoscopeError.invalidArgument(name: "Opus bitrate", reason: "1000 bit/s is outside 6000–510000")
        ) {
            try config.validate()
        }
        config.opusBitrate = 64000
        config.opusFrameMilliseconds = 15
        #expect(throws: StethoscopeError.self) { try config.validate() }
        config.opusFrameMilliseconds = 10
        config.sampleRate = 4000
        #expect(throws: StethoscopeError.self) { try config.validate() }
        config.sampleRate = 48000
        #expect(throws: Never.self) { try config.validate() }
    }
}
