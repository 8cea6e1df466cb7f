// Sample kiosk page for boothd's session API (protocol 1, docs/api/README.md).
// The token comes in the URL fragment (#token=…), which the browser never sends to a server or logs.
"use strict";

const params = new URLSearchParams(location.hash.slice(1));
const token = params.get("token") || localStorage.getItem("boothd.token") || "";
if (params.get("token")) localStorage.setItem("boothd.token", token);
const clientId = localStorage.getItem("boothd.clientId") || "kiosk-" + Math.random().toString(36).slice(2, 10);
localStorage.setItem("boothd.clientId", clientId);

const devices = new Map();
const vitals = new Map();
const pending = new Map();
let lastHandled = Number(localStorage.getItem("boothd.lastEvent") || 0);
let socket = null;
let requestCounter = 0;

const names = {
  150456: ["SpO₂", "%"], 149530: ["Pulse", "/min"], 149546: ["Pulse", "/min"], 150021: ["Systolic", "mmHg"],
  150022: ["Diastolic", "mmHg"], 150023: ["Mean", "mmHg"], 150364: ["Temperature", "°C"],
  150488: ["Perfusion index", "%"],
  160184: ["Glucose", ""], 188736: ["Weight", "kg"], 147842: ["Heart rate", "/min"],
  147240: ["RR interval", "ms"],
};

function decimal(number) {
  if (!number) return "—";
  const { mantissa, exponent } = number;
  return exponent >= 0 ? String(mantissa * 10 ** exponent) : (mantissa / 10 ** -exponent).toFixed(-exponent);
}

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

function renderDevices() {
  const body = document.getElementById("devices");
  body.replaceChildren();
  for (const device of devices.values()) {
    const row = document.createElement("tr");
    row.append(text("td", `${device.model || device.id}`), text("td", device.role),
      text("td", device.state + (device.stateReason ? `: ${device.stateReason}` : "")
        + (device.warning ? ` — ${device.warning}` : ""), device.warning ? "warning" : `state-${device.state}`),
      text("td", device.batteryPercent == null ? "—" : `${device.batteryPercent} %`));
    body.append(row);
  }
}

function renderVitals() {
  const box = document.getElementById("vitals");
  box.replaceChildren();
  for (const [code, vital] of vitals) {
    const [label, unit] = names[code] || [String(code), vital.unit];
    const card = text("div", "", `vital ${vital.binding}`);
    card.dataset.code = code;
    card.append(text("div", label), text("span", vital.value, "value"), text("span", ` ${unit}`));
    box.append(card);
  }
}

function renderPending() {
  const box = document.getElementById("pending");
  box.replaceChildren();
  for (const [id, entry] of pending) {
    const line = text("div", `${entry.binding}: ${entry.kind} ${entry.summary} `);
    const assign = text("button", "Assign");
    assign.onclick = () => command("measurement.assign", { measurementId: id, reason: "confirmed at the kiosk" });
    const discard = text("button", "Discard");
    discard.onclick = () => command("measurement.discard", { measurementId: id, reason: "not this patient" });
    line.append(assign, discard);
    box.append(line);
  }
}

function setSession(session) {
  document.getElementById("session").textContent = session
    ? `${session.id} (started ${new Date(session.startedAtMicros / 1000).toLocaleTimeString()})` : "none";
}

function handleEvent(message) {
  if (message.id <= lastHandled) return; // already handled (replay after a reconnect): dedupe by id
  const data = message.data;
  switch (message.event) {
    case "measurement": {
      const measurement = data.measurement;
      if (data.binding === "session" || data.binding === "unassigned") {
        for (const value of measurement.values) {
          vitals.set(value.code.value, { value: decimal(value.number), unit: value.unit.code, binding: data.binding });
        }
      }
      if (data.binding === "unassigned" || data.binding === "history") {
        pending.set(measurement.id, {
          binding: data.binding, kind: measurement.kind,
          summary: measurement.values.map((v) => decimal(v.number) + " " + v.unit.code).join(", "),
        });
      }
      break;
    }
    case "measurement.assigned":
    case "measurement.discarded":
      pending.delete(data.measurementId);
      break;
    case "artifact":
      if (data.artifact.kind === "ecg-strip") showStrip(data.artifact);
      break;
    case "session.started": setSession(data); break;
    case "session.ended": setSession(null); vitals.clear(); break;
  }
  lastHandled = message.id;
  localStorage.setItem("boothd.lastEvent", String(lastHandled));
  socket.send(JSON.stringify({ type: "ack", upTo: message.id }));
  renderVitals();
  renderPending();
}

function command(name, params) {
  requestCounter += 1;
  socket.send(JSON.stringify({ type: "command", id: `k${requestCounter}`, command: name, params }));
}

function status(textContent, ok) {
  const element = document.getElementById("status");
  element.textContent = textContent;
  element.className = ok ? "ok" : "bad";
}

function connect() {
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  socket.onopen = () => socket.send(JSON.stringify({
    type: "hello", protocol: 1, token, clientId, resumeAfter: lastHandled,
  }));
  socket.onmessage = (frame) => {
    const message = JSON.parse(frame.data);
    switch (message.type) {
      case "welcome":
        status(`connected (storage ${message.storage.state})`, message.storage.state === "ok");
        setSession(message.session);
        ecg.subscribe();
        // #live=1 starts the live stream on connection (kiosk mode, end-to-end test).
        if (params.get("live") === "1") startLive();
        break;
      case "devices":
        devices.clear();
        for (const device of message.devices) devices.set(device.id, device);
        renderDevices();
        break;
      case "device": devices.set(message.device.id, message.device); renderDevices(); break;
      case "device.removed": devices.delete(message.deviceId); renderDevices(); break;
      case "event": handleEvent(message); break;
      case "waveform": ecg.add(message); break;
      case "error": status(`error: ${message.code}: ${message.message}`, false); break;
      case "resync": status("catching up…", true); break;
      case "storage":
        status(message.storage.state === "ok" ? "connected (storage ok)"
          : `storage ${message.storage.state}: ${message.storage.reason}`, message.storage.state === "ok");
        break;
      default:
        if (message.type.startsWith("webrtc.")) window.boothLive.handle(message);
    }
  };
  socket.onclose = (event) => {
    status(`disconnected (${event.code} ${event.reason || ""}) — retrying`, false);
    setTimeout(connect, event.code === 4401 || event.code === 4403 ? 10000 : 1000);
  };
}

document.getElementById("start").onclick = () => command("session.start", {
  sessionId: document.getElementById("sessionId").value || `S-${Date.now()}`,
  contextRef: document.getElementById("contextRef").value || "kiosk",
});
document.getElementById("end").onclick = () => {
  const current = document.getElementById("session").textContent.split(" ")[0];
  command("session.end", { sessionId: current });
};

// Live ECG: waveform chunks drawn as a sweep on a paper-like grid (1 mm / 5 mm, 25 mm/s, 10 mm/mV at 4 px/mm).
const ecg = {
  canvas: document.getElementById("ecg"),
  pxPerMm: 4,
  deviceId: null,
  stream: null,
  lastSeq: 0,
  x: 0,
  previous: null,
  baseline: null,
  subscribe() {
    const params = {};
    if (this.deviceId && this.stream) Object.assign(params, { deviceId: this.deviceId, stream: this.stream, after: this.lastSeq });
    command("waveform.subscribe", params);
  },
  grid(from = 0, width = this.canvas.width) {
    // Blank paper between x = from and from + width: white, then the 1 mm and 5 mm lines that cross it.
    const context = this.canvas.getContext("2d");
    const to = Math.min(this.canvas.width, from + width);
    context.fillStyle = "#fff";
    context.fillRect(from, 0, to - from, this.canvas.height);
    for (let mm = 0; mm * this.pxPerMm <= Math.max(this.canvas.width, this.canvas.height); mm += 1) {
      const at = mm * this.pxPerMm;
      context.strokeStyle = mm % 5 === 0 ? "#f08080" : "#fbd5d5";
      context.lineWidth = mm % 5 === 0 ? 1 : 0.5;
      context.beginPath();
      if (at >= from && at <= to) { context.moveTo(at, 0); context.lineTo(at, this.canvas.height); }
      context.moveTo(from, at); context.lineTo(to, at);
      context.stroke();
    }
  },
  add(chunk) {
    if (this.deviceId && chunk.deviceId !== this.deviceId) return;
    if (!this.deviceId) { this.deviceId = chunk.deviceId; this.grid(); }
    this.stream = chunk.stream;
    this.lastSeq = chunk.seq;
    document.getElementById("ecg-status").textContent = chunk.end ? `${chunk.deviceId}: disconnected`
      : `${chunk.deviceId} · ${chunk.label} · ${chunk.sampleRateHz} Hz` + (chunk.skipped ? ` · ${chunk.skipped} chunks missed` : "");
    if (chunk.restart || chunk.end || chunk.skipped) this.previous = null;
    const context = this.canvas.getContext("2d");
    const step = 25 * this.pxPerMm / chunk.sampleRateHz;          // 25 mm/s
    const gain = 10 * this.pxPerMm / 1000;                        // 10 mm/mV, samples in µV
    const gaps = new Map(chunk.gaps.map((gap) => [gap.beforeSample, gap.missing]));
    for (let index = 0; index <= chunk.samples.length; index += 1) {
      if (gaps.has(index)) {                                      // lost samples: a break, never closed up
        this.advance(context, step * gaps.get(index));
        this.previous = null;
      }
      if (index === chunk.samples.length) break;
      const microvolts = chunk.origin + chunk.scale * chunk.samples[index];
      this.baseline = this.baseline === null ? microvolts : this.baseline * 0.995 + microvolts * 0.005;
      const y = this.canvas.height / 2 - (microvolts - this.baseline) * gain;
      this.advance(context, step);
      context.strokeStyle = "#111";
      context.lineWidth = 1.2;
      if (this.previous && this.previous.x < this.x) {
        context.beginPath(); context.moveTo(this.previous.x, this.previous.y); context.lineTo(this.x, y); context.stroke();
      }
      this.previous = { x: this.x, y };
    }
  },
  advance(context, dx) {
    this.x += dx;
    if (this.x >= this.canvas.width) { this.x = 0; this.previous = null; }
    // Sweep: fresh paper a few millimetres ahead of the pen.
    this.grid(Math.floor(this.x) + 1, 3 * this.pxPerMm);
  },
};
ecg.grid();

function showStrip(artifact) {
  const box = document.getElementById("strips");
  const link = document.createElement("a");
  link.href = artifact.parts.find((part) => part.name === "strip.pdf").url + "?token=" + encodeURIComponent(token);
  link.textContent = `strip ${new Date(artifact.takenAt / 1000).toLocaleTimeString()}`
    + (artifact.metadata.meanHeartRate ? ` · ${artifact.metadata.meanHeartRate} /min` : "")
    + (artifact.complete ? "" : " · INCOMPLETE");
  box.append(link, " ");
}

document.getElementById("strip").onclick = () => {
  if (ecg.deviceId) command("ecg.strip", { deviceId: ecg.deviceId, seconds: 30 });
};

if (!token) status("no token: open this page as /#token=… (boothctl token show)", false);
connect();

// The camera's MJPEG preview; the token goes in the query because an <img> cannot send headers.
if (token) document.getElementById("camera").src = "/camera/preview.mjpg?token=" + encodeURIComponent(token);

// Live WebRTC video (and the stethoscope's audio) next to the MJPEG preview.
function startLive() {
  // #audio=0 / #video=0 leave a track out (default: everything boothd has).
  const tracks = {};
  if (params.get("audio") === "0") tracks.audio = false;
  if (params.get("video") === "0") tracks.video = false;
  window.boothLive.start((message) => socket.send(JSON.stringify(message)), tracks);
}
document.getElementById("live-start").onclick = startLive;
document.getElementById("live-stop").onclick = () => window.boothLive.stop();
