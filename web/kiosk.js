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
      text("td", device.state + (device.stateReason ? `: ${device.stateReason}` : ""), `state-${device.state}`),
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
