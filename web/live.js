// Live video + stethoscope audio from boothd over WebRTC (docs/api/README.md, "Live media").
// Signaling rides on the session WebSocket: webrtc.start → webrtc.offer → webrtc.answer, webrtc.ice both ways.
// boothd sends only: the page never captures anything, and received audio is not processed by the browser
// (no AGC/NS/AEC on playback), so heart sounds survive (docs/stethoscope.md).
"use strict";

const live = {
  pc: null,
  peerId: null,
  stream: null,
  video: { state: "off" },
  send: null,
  audioContext: null,
  analyser: null,

  // Starts (or restarts) the live stream; `send` writes one JSON message on the session socket.
  start(send, tracks) {
    this.stop();
    this.send = send;
    send({ type: "webrtc.start", id: "live-1", ...(tracks || {}) });
    this.status("starting…");
  },

  stop() {
    if (this.pc) {
      this.pc.close();
      if (this.send) this.send({ type: "webrtc.stop" });
    }
    this.pc = null;
    this.peerId = null;
    this.stream = null;
  },

  status(text) {
    const element = document.getElementById("live-status");
    if (element) element.textContent = text;
  },

  async handle(message) {
    switch (message.type) {
      case "webrtc.offer": await this.answer(message); break;
      case "webrtc.ice":
        if (this.pc && message.peerId === this.peerId) {
          await this.pc.addIceCandidate({ candidate: message.candidate, sdpMLineIndex: message.sdpMLineIndex });
        }
        break;
      case "webrtc.state": this.status(message.state); break;
      case "webrtc.video":
        this.video = message;
        this.status(message.state === "active" ? `video ${message.videoKbps} kbit/s`
          : `video paused (${message.availableKbps} kbit/s available): snapshots only`);
        break;
      case "webrtc.error": this.status(`error: ${message.code}: ${message.message}`); break;
      case "webrtc.stopped": this.status(`stopped: ${message.reason}`); this.pc = null; break;
    }
  },

  async answer(offer) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    this.peerId = offer.peerId;
    this.stream = new MediaStream();
    pc.ontrack = (event) => {
      this.stream.addTrack(event.track);
      const element = document.getElementById("live");
      element.srcObject = this.stream;
      element.autoplay = true;  // set here: an autoplay element in the HTML stalls headless virtual time
      element.play().catch(() => {});
    };
    pc.onicecandidate = (event) => {
      if (event.candidate && event.candidate.candidate) {
        this.send({ type: "webrtc.ice", peerId: this.peerId, candidate: event.candidate.candidate,
                    sdpMLineIndex: event.candidate.sdpMLineIndex || 0 });
      }
    };
    await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.send({ type: "webrtc.answer", peerId: this.peerId, sdp: pc.localDescription.sdp });
  },

  // getStats of the inbound tracks and the transport, for the status line and the end-to-end test.
  async report() {
    if (!this.pc) return null;
    const out = { time: performance.now(), video: null, audio: null, transport: null };
    (await this.pc.getStats()).forEach((stat) => {
      if (stat.type === "inbound-rtp" && stat.kind === "video") out.video = stat;
      if (stat.type === "inbound-rtp" && stat.kind === "audio") out.audio = stat;
      if (stat.type === "candidate-pair" && stat.nominated) out.transport = stat;
    });
    return JSON.parse(JSON.stringify(out));
  },

  // Amplitude of the received audio at `frequency` Hz (a DFT over a whole number of periods), via WebAudio.
  toneAmplitude(frequency) {
    const tracks = this.stream ? this.stream.getAudioTracks() : [];
    if (tracks.length === 0) return null;
    if (!this.audioContext) {
      this.audioContext = new AudioContext({ sampleRate: 48000 });
      const source = this.audioContext.createMediaStreamSource(new MediaStream([tracks[0]]));
      this.analyser = this.audioContext.createAnalyser();
      this.analyser.fftSize = 32768;
      source.connect(this.analyser);
    }
    const samples = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(samples);
    const rate = this.audioContext.sampleRate;
    const period = rate / frequency;
    const count = Math.floor(Math.floor(samples.length / period) * period);
    let re = 0, im = 0, peak = 0;
    for (let n = 0; n < count; n++) {
      const phase = 2 * Math.PI * frequency * n / rate;
      re += samples[n] * Math.cos(phase);
      im -= samples[n] * Math.sin(phase);
      peak = Math.max(peak, Math.abs(samples[n]));
    }
    return { amplitude: 2 * Math.hypot(re, im) / count, peak, rate, state: this.audioContext.state };
  },
};
window.boothLive = live;
