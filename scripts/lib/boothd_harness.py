"""Shared harness for the reliability scripts (benchmarks, fault suite, soak, security checks).

Starts the real boothd on 127.0.0.1 with an ephemeral port and a private state directory, listens on its own
NOTIFY_SOCKET (so READY/WATCHDOG/STATUS are observed exactly as systemd would), and reads the process's figures
from /proc (RSS, smaps_rollup, fds, threads). Every start is bounded; stop() always reaps the process.
"""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NotifyListener:
    """An AF_UNIX datagram socket standing in for systemd's notification socket."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, key, timeout):
        """Waits for a datagram containing `key` (e.g. "READY=1"); returns the monotonic time it arrived."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {key} from boothd in {timeout} s (got {self.messages})")
            self.sock.settimeout(left)
            data = self.sock.recv(4096).decode(errors="replace")
            arrived = time.monotonic()
            self.messages.append(data)
            if key in data.split("\n"):
                return arrived

    def close(self):
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class Boothd:
    """One boothd process. `settings` are --set key=value pairs; the API always binds 127.0.0.1:ephemeral."""

    def __init__(self, binary, state_dir=None, settings=None, env=None, port=None):
        self.binary = binary
        self._own_state = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="boothd-rel-")
        self.port = port or free_port()
        self.settings = {
            "api.host": "127.0.0.1",
            "api.port": str(self.port),
            "storage.state_directory": self.state_dir,
            "logging.format": "text",
        }
        self.settings.update(settings or {})
        self.env = dict(os.environ)
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.update(env or {})
        self.process = None
        self.notify = None
        self.log_path = os.path.join(self.state_dir, "boothd.log")
        self.started_at = None
        self.ready_at = None

    def start(self, timeout=30, wait_ready=True):
        self.notify = NotifyListener(self.state_dir)
        env = dict(self.env, NOTIFY_SOCKET=self.notify.path)
        args = [self.binary]
        for key, value in self.settings.items():
            if value is not None:  # None: leave the key at boothd's own default
                args += ["--set", f"{key}={value}"]
        log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(args, stdout=log, stderr=log, env=env)
        log.close()
        if wait_ready:
            try:
                self.ready_at = self.notify.wait_for("READY=1", timeout)
            except (TimeoutError, OSError):
                code = self.process.poll()
                self.stop()
                raise RuntimeError(f"boothd not READY in {timeout} s (exit {code}); log: {self.log_tail()}")
        return self

    @property
    def startup_ms(self):
        return (self.ready_at - self.started_at) * 1000

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, sig):
        self.process.send_signal(sig)

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout=15):
        """SIGTERM then wait; returns the exit code."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.notify:
            self.notify.close()
            self.notify = None
        return self.process.returncode if self.process else None

    def cleanup(self):
        self.stop()
        if self._own_state:
            subprocess.run(["rm", "-rf", self.state_dir], check=False)

    @property
    def token(self):
        with open(os.path.join(self.state_dir, "api-token")) as f:
            return f.read().strip()

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def http(self, path, timeout=5):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as r:
            return r.status, r.read()

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=15):
        return "\n".join(self.log_text().splitlines()[-lines:])

    # --- /proc figures ---

    def status_kib(self, field):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def rss_mib(self):
        return self.status_kib("VmRSS") / 1024

    def cpu_seconds(self):
        """User + system CPU time of the process so far (all its threads)."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def threads(self):
        return len(os.listdir(f"/proc/{self.process.pid}/task"))

    def fds(self):
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def smaps_rollup(self):
        out = {}
        with open(f"/proc/{self.process.pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
        return out

    def smaps(self):
        """(mapping path or "", field, KiB) for each kB field of /proc/PID/smaps, one pass over the file."""
        path = ""
        with open(f"/proc/{self.process.pid}/smaps") as f:
            for line in f:
                fields = line.split()
                if not fields:
                    continue
                if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                    path = fields[5] if len(fields) >= 6 else ""
                elif len(fields) == 3 and fields[2] == "kB":
                    yield path, fields[0].rstrip(":"), int(fields[1])

    def rss_by_mapping(self, top=12):
        """RSS (KiB) per mapping name: heap/anon vs each shared library, biggest first."""
        totals = {}
        for path, field, kib in self.smaps():
            if field == "Rss":
                name = os.path.basename(path) if path.startswith("/") else (path or "[anon]")
                totals[name] = totals.get(name, 0) + kib
        return sorted(totals.items(), key=lambda item: -item[1])[:top]

    def mapped_libraries(self):
        """Base names of the shared objects mapped now (plugins included)."""
        with open(f"/proc/{self.process.pid}/maps") as f:
            paths = {line.split()[5] for line in f if len(line.split()) >= 6}
        return sorted({os.path.basename(path) for path in paths if ".so" in path})

    def rss_by_group(self):
        """RSS and anonymous KiB per kind of mapping (see MEMORY_GROUPS), biggest first: where idle memory goes."""
        totals = {}
        for path, field, kib in self.smaps():
            if field in ("Rss", "Anonymous"):
                entry = totals.setdefault(memory_group(path), {"Rss": 0, "Anonymous": 0})
                entry[field] += kib
        return sorted(totals.items(), key=lambda item: -item[1]["Rss"])


# Kinds of mappings in a boothd process, first match wins (basename regex, or a path part for plugins).
MEMORY_GROUPS = [
    ("boothd", r"^boothd"),
    ("swift+foundation", r"^lib(swift|Foundation|_Foundation|dispatch|BlocksRuntime|stdc\+\+|gcc_s)"),
    ("gst plugins", "/gstreamer-1.0/"),
    ("gstreamer", r"^lib(gst|orc)"),
    ("codecs", r"^lib(x264|jpeg|opus|FLAC|ogg|asound)"),
    ("webrtc deps", r"^lib(nice|gnutls|p11|tasn1|nettle|hogweed|gmp|idn2|unistring|soup|krb5|k5crypto|gssapi|xml2"
                    r"|icu|gupnp|gssdp|psl|nghttp2)"),
    ("cairo deps", r"^lib(cairo|pixman|fontconfig|freetype|png|xcb|X)"),
    ("glib", r"^lib(glib|gobject|gio|gmodule|ffi|pcre2|mount|blkid|selinux)"),
]


def memory_group(path):
    if not path.startswith("/"):
        return "anonymous" if path in ("", "[heap]") or path.startswith("[stack") or path.startswith("[anon") \
            else "kernel"
    name = os.path.basename(path)
    for group, pattern in MEMORY_GROUPS:
        if (pattern in path) if pattern.startswith("/") else re.search(pattern, name):
            return group
    return "other libraries"


def checker():
    """A `check(condition, what)` that prints each result as ok/FAIL, and the list of failed ones it fills."""
    failures = []

    def check(condition, what):
        print(f"  {'ok ' if condition else 'FAIL'} {what}")
        if not condition:
            failures.append(what)

    return check, failures


def wait_until(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def ensure_venv(root, packages=("websockets",)):
    """Returns the venv python, installing `packages` once (same venv as the other test steps)."""
    venv = os.path.join(root, ".build", "venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run(["python3", "-m", "venv", venv], check=True)
    return python


def emit(figures, prefix="bench-json: "):
    """Prints figures as one machine-readable line (scripts/bench/all.py collects these)."""
    print(prefix + json.dumps(figures, sort_keys=True), flush=True)


class SessionEventOrder:
    """The ids of each session's `session.started` and `session.ended` events, as boothd wrote them. boothd decides a
    reading's binding in the serial writer that also writes these events, so a reading bound to a session has its
    event id between them, whatever order the events and command replies reach a client in."""

    def __init__(self):
        self.ids = {}  # sessionId -> [started event id, ended event id]

    def note(self, message):
        """Records `message` if it is a session.started / session.ended event."""
        if message.get("type") == "event" and message.get("event") in ("session.started", "session.ended"):
            ids = self.ids.setdefault(message["data"]["id"], [None, None])
            ids[message["event"] == "session.ended"] = message["id"]

    def bounds(self, session_id):
        return self.ids.get(session_id, [None, None])

    def contains(self, session_id, event_id):
        """Whether event `event_id` was written while `session_id` was active (both of its events seen)."""
        first, last = self.bounds(session_id)
        return first is not None and last is not None and first < event_id < last


# --- WebSocket session client (needs the `websockets` package: use the .build/venv python) ---

class Client:
    """A session API client: hello, then commands and events; `events` collects every event received."""

    def __init__(self, ws, welcome):
        self.ws = ws
        self.welcome = welcome
        self.events = []
        self.pending = {}
        self.counter = 0

    @classmethod
    async def connect(cls, daemon, client_id, origin=None):
        import websockets
        headers = {"Origin": origin} if origin else None
        ws = await websockets.connect(daemon.ws_url, max_size=2**24, additional_headers=headers)
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": daemon.token, "clientId": client_id}))
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"no welcome: {welcome}")
        while json.loads(await ws.recv())["type"] != "devices":
            pass
        return cls(ws, welcome)

    async def command(self, name, timeout=10, **params):
        self.counter += 1
        request = f"c{self.counter}"
        await self.ws.send(json.dumps({"type": "command", "id": request, "command": name, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic()))
            message = json.loads(raw)
            if message["type"] == "event":
                self.events.append(message)
            elif message["type"] in ("result", "error") and message.get("id") == request:
                return message

    async def drain(self, seconds, ack=True):
        """Reads events for `seconds`, acknowledging the newest one as it goes."""
        deadline = time.monotonic() + seconds
        newest = None
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            except asyncio.TimeoutError:
                break
            if message["type"] == "event":
                self.events.append(message)
                newest = message["id"]
        if ack and newest is not None:
            await self.ws.send(json.dumps({"type": "ack", "upTo": newest}))
        return newest

    async def close(self):
        await self.ws.close()


class EventFollower:
    """Follows one session WebSocket for a lab client: a background task reads everything boothd pushes, acks each
    event as it comes (so boothd's outbox never waits on the test), and keeps, with their arrival time
    (time.monotonic(), the clock the devices' logs use in the lab guest), the device statuses and measurements of
    the devices of interest (`devices`: ids; None: every device). The test waits on what was kept:

        follower = await EventFollower.open(daemon.ws_url, daemon.token, "ble-lab", devices={DEVICE_ID})
        got = await follower.wait_for(lambda: len(follower.measurements) >= 3, 90, what="3 readings")

    `validate(message)` (optional) sees every server message before it is kept (e.g. a JSON Schema check; raising
    there fails the next wait_for), `validate_sent(message)` every message sent.
    """

    def __init__(self, ws, devices=None, validate=None, validate_sent=None):
        self.ws = ws
        self.devices = set(devices) if devices is not None else None
        self.validate = validate or (lambda message: None)
        self.validate_sent = validate_sent or (lambda message: None)
        self.statuses = []  # (monotonic, device status), the `devices` snapshot included
        self.measurements = []  # (monotonic, measurement, binding)
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url, token, client_id, devices=None, validate=None, validate_sent=None):
        """Connects, says hello and checks the welcome; the follower then reads everything after it."""
        import websockets
        ws = await websockets.connect(url, max_size=2**24)
        hello = {"type": "hello", "protocol": 1, "token": token, "clientId": client_id}
        (validate_sent or (lambda message: None))(hello)
        await ws.send(json.dumps(hello))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 30))
        (validate or (lambda message: None))(welcome)
        if welcome.get("type") != "welcome":
            await ws.close()
            raise RuntimeError(f"{client_id}: no welcome from boothd: {welcome}")
        return cls(ws, devices, validate, validate_sent)

    def _wanted(self, device_id):
        return self.devices is None or device_id in self.devices

    async def _read(self):
        import websockets
        try:
            async for raw in self.ws:
                message = json.loads(raw)
                self.validate(message)
                now = time.monotonic()
                if message["type"] == "devices":
                    self.statuses.extend((now, s) for s in message["devices"] if self._wanted(s["id"]))
                elif message["type"] == "device" and self._wanted(message["device"]["id"]):
                    self.statuses.append((now, message["device"]))
                elif message["type"] == "event":
                    ack = {"type": "ack", "upTo": message["id"]}
                    self.validate_sent(ack)
                    await self.ws.send(json.dumps(ack))
                    if message["event"] == "measurement":
                        measurement = message["data"]["measurement"]
                        if self._wanted(measurement["device"]["id"]):
                            self.measurements.append((now, measurement, message["data"]["binding"]))
        except websockets.ConnectionClosed:
            pass

    def state(self, device_id=None):
        """The latest status of the device (of any device of interest when None); {} before the first."""
        for _, status in reversed(self.statuses):
            if device_id is None or status["id"] == device_id:
                return status
        return {}

    def readings(self, device_id=None, since=0.0):
        """(time, measurement, binding) of the device's measurements received at or after `since`."""
        return [(t, m, b) for t, m, b in self.measurements
                if t >= since and (device_id is None or m["device"]["id"] == device_id)]

    async def wait_for(self, predicate, timeout, what=None, interval=0.1):
        """True as soon as predicate() is; False after `timeout` s or when the WebSocket closed, printing which
        `what` was not seen and the latest state, so the failed check that follows has its reason. An error of
        the reader (a message failing `validate`) is raised here."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if self.task.done():
                self.task.result()  # raises the reader's error, if any
                reason = "the WebSocket closed"
                break
            if left <= 0:
                reason = f"not within {timeout:g} s"
                break
            await asyncio.sleep(min(interval, left))
        else:
            return True
        if predicate():
            return True
        if what:
            print(f"  waited for {what}: {reason} (latest state {self.state().get('state')}, "
                  f"{len(self.measurements)} reading(s))", flush=True)
        return False

    async def close(self):
        await self.ws.close()
        await self.task
