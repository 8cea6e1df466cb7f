"""End-to-end tests of boothd's session WebSocket with a real client (Python `websockets`).

Drives the real boothd binary: auth, Origin allowlist, malformed input, limits, slow-client isolation, and
replay after `kill -9` at random moments (20 times: every measurement confirmed durable is received, once).
Every message boothd sends is validated against docs/api/server-messages.schema.json.

Usage: python 40-api-e2e.py BOOTHD_BINARY REPO_ROOT
"""

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import jsonschema
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

BOOTHD = sys.argv[1]
ROOT = sys.argv[2]
SERVER_SCHEMA = json.load(open(os.path.join(ROOT, "docs/api/server-messages.schema.json")))
CLIENT_SCHEMA = json.load(open(os.path.join(ROOT, "docs/api/client-messages.schema.json")))
server_validator = jsonschema.Draft202012Validator(SERVER_SCHEMA)
client_validator = jsonschema.Draft202012Validator(CLIENT_SCHEMA)
validated = 0


def check_server(message):
    global validated
    server_validator.validate(message)
    validated += 1
    return message


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, state_dir, port, extra=()):
        self.state_dir = state_dir
        self.port = port
        self.extra = list(extra)
        self.process = None
        self.log = open(os.path.join(state_dir, "boothd.log"), "ab")

    def start(self, ready_timeout=20):
        args = [
            BOOTHD,
            "--set", f"api.port={self.port}",
            "--set", f"storage.state_directory={self.state_dir}",
            "--set", "api.test_commands=true",
            "--set", "api.commands_per_second=1000",
            "--set", f"api.allowed_origins=http://127.0.0.1:{self.port}",
            "--set", f"api.web_directory={ROOT}/web",
            "--set", "simulator.mode=off",
            "--set", "logging.format=text",
        ] + self.extra
        self.process = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + ready_timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"boothd exited with {self.process.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"boothd did not become ready in {ready_timeout} s")

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def token(self):
        return open(os.path.join(self.state_dir, "api-token")).read().strip()

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def rss_kib(self):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


class RawClient:
    """A minimal blocking WebSocket client on a plain socket, so that "not reading" really means not reading."""

    def __init__(self, daemon, client_id):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", daemon.port))
        self.sock.sendall(
            (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{daemon.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.send({"type": "hello", "protocol": 1, "token": daemon.token, "clientId": client_id})
        self.welcome = self.recv()
        assert self.welcome["type"] == "welcome"
        assert self.recv()["type"] == "devices"

    def send(self, message):
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else \
            bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _control(self, opcode, payload):
        mask = os.urandom(4)
        self.sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask +
                          bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _exact(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def recv(self, timeout=5):
        self.sock.settimeout(timeout)
        while True:
            first, second = self._exact(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(self._exact(2), "big")
            elif length == 127:
                length = int.from_bytes(self._exact(8), "big")
            payload = self._exact(length)
            if first & 0x0F == 0x9:
                self._control(0xA, payload)  # answer boothd's keep-alive ping, as any client does
            if first & 0x0F == 0x1:
                return json.loads(payload)

    def recv_any(self, timeout=5):
        """The next text message as ("text", obj) or a close frame as ("close", code)."""
        self.sock.settimeout(timeout)
        while True:
            first, second = self._exact(2)
            length = second & 0x7F
            if length == 126:
                length = int.from_bytes(self._exact(2), "big")
            elif length == 127:
                length = int.from_bytes(self._exact(8), "big")
            payload = self._exact(length)
            if first & 0x0F == 0x8:
                return ("close", int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None)
            if first & 0x0F == 0x1:
                return ("text", json.loads(payload))

    def close(self):
        self.sock.close()


async def recv(ws, timeout=5):
    return check_server(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def send(ws, message):
    client_validator.validate(message)
    await ws.send(json.dumps(message))


async def connect(daemon, client_id, **kwargs):
    ws = await websockets.connect(daemon.url, max_size=2**24, **kwargs)
    await send(ws, {"type": "hello", "protocol": 1, "token": daemon.token, "clientId": client_id})
    welcome = await recv(ws)
    assert welcome["type"] == "welcome", welcome
    devices = await recv(ws)
    assert devices["type"] == "devices", devices
    return ws, welcome


async def expect_close(ws, code, timeout=8):
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == code, f"expected close {code}, got {closed.rcvd}"
        return closed.rcvd.reason


async def command(ws, request_id, name, **params):
    await send(ws, {"type": "command", "id": request_id, "command": name, "params": params})
    while True:
        message = await recv(ws)
        if message["type"] in ("result", "error") and message["id"] == request_id:
            return message


def ok(name):
    print(f"  ok  {name}")


async def test_auth(daemon):
    # No token, wrong token: close 4401 with a reason that does not echo the token.
    ws = await websockets.connect(daemon.url)
    await ws.send(json.dumps({"type": "hello", "protocol": 1, "clientId": "x"}))
    reason = await expect_close(ws, 4401)
    ws = await websockets.connect(daemon.url)
    await ws.send(json.dumps({"type": "hello", "protocol": 1, "clientId": "x", "token": "wrong-token-123456"}))
    reason = await expect_close(ws, 4401)
    assert "wrong-token" not in reason
    # Anything before hello: 4401.
    ws = await websockets.connect(daemon.url)
    await ws.send(json.dumps({"type": "command", "id": "1", "command": "session.current"}))
    await expect_close(ws, 4401)
    # Wrong protocol version: 4400.
    ws = await websockets.connect(daemon.url)
    await ws.send(json.dumps({"type": "hello", "protocol": 99, "clientId": "x", "token": daemon.token}))
    await expect_close(ws, 4400)
    # Wrong bearer header: closed with 4401 before anything is exchanged.
    ws = await websockets.connect(daemon.url, additional_headers={"Authorization": "Bearer nope-nope-nope-nope"})
    await expect_close(ws, 4401)
    # Right bearer header: hello without a token is accepted.
    ws = await websockets.connect(daemon.url, additional_headers={"Authorization": f"Bearer {daemon.token}"})
    await send(ws, {"type": "hello", "protocol": 1, "clientId": "header-client"})
    assert (await recv(ws))["type"] == "welcome"
    await ws.close()
    # The token never appears in the log.
    log = open(daemon.log.name, "rb").read()
    assert daemon.token.encode() not in log and b"wrong-token" not in log
    # boothctl token rotate: the old token stops working at once, the new one works, no restart.
    old = daemon.token
    boothctl = os.path.join(os.path.dirname(BOOTHD), "boothctl")
    rotated = subprocess.run([boothctl, "token", "rotate", "--set", f"storage.state_directory={daemon.state_dir}"],
                             capture_output=True, text=True, timeout=30)
    assert rotated.returncode == 0, rotated.stderr
    assert daemon.token != old and daemon.token not in rotated.stdout
    assert oct(os.stat(os.path.join(daemon.state_dir, "api-token")).st_mode & 0o777) == "0o640"
    ws = await websockets.connect(daemon.url)
    await ws.send(json.dumps({"type": "hello", "protocol": 1, "clientId": "x", "token": old}))
    await expect_close(ws, 4401)
    ws, _ = await connect(daemon, "after-rotate")
    await ws.close()
    ok("auth: missing/wrong token 4401, wrong version 4400, wrong bearer header 4401, right one accepted, token never logged, rotate takes effect without restart")


async def test_hello_timeout(daemon):
    ws = await websockets.connect(daemon.url)
    await expect_close(ws, 4408, timeout=10)
    ok("auth: no hello within 5 s closes with 4408")


async def test_origin(daemon):
    ws = await websockets.connect(daemon.url, origin="http://evil.example")
    # Even a valid hello gets nothing: the connection is closed with 4403 before anything is read.
    try:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "clientId": "evil", "token": daemon.token}))
    except ConnectionClosed:
        pass  # the close may already have arrived: it is sent at once
    reason = await expect_close(ws, 4403)
    assert "not in api.allowed_origins" in reason, reason
    ws, _ = await connect(daemon, "kiosk-origin", origin=f"http://127.0.0.1:{daemon.port}")
    await ws.close()
    ok("origin: foreign Origin closed with 4403 before any exchange, allowed Origin accepted")


async def test_malformed(daemon):
    ws, _ = await connect(daemon, "malformed")
    cases = [
        ("nonsense", "malformed_json"),
        ("[1,2]", "invalid_message"),
        (json.dumps({"no": "type"}), "invalid_message"),
        (json.dumps({"type": "launch-missiles"}), "unknown_type"),
        (json.dumps({"type": "command", "id": "c1", "command": "self.destruct"}), "unknown_command"),
        (json.dumps({"type": "command", "id": "c2", "command": "session.start", "params": {}}), "invalid_params"),
        (json.dumps({"type": "command", "id": "c3", "command": "session.end", "params": {"sessionId": "none"}}),
         "no_active_session"),
        (json.dumps({"type": "command", "id": "c4", "command": "measurement.assign",
                     "params": {"measurementId": "nope"}}), "unknown_measurement"),
        (json.dumps({"type": "command", "id": "c5", "command": "measurement.start",
                     "params": {"deviceId": "sim:cuff"}}), "unknown_device"),
        (json.dumps({"type": "ack", "upTo": 10**12}), "invalid_ack"),
        (json.dumps({"type": "command", "id": "c6", "command": "session.start", "params": []}), "invalid_message"),
    ]
    for text, code in cases:
        await ws.send(text)
        reply = await recv(ws)
        assert reply["type"] == "error" and reply["code"] == code, (text, reply)
    await ws.send(b"\x00\x01binary")
    reply = await recv(ws)
    assert reply["code"] == "binary_not_supported", reply
    # Still usable after all that.
    pong_id = "p1"
    await send(ws, {"type": "ping", "id": pong_id})
    assert (await recv(ws)) == {"type": "pong", "id": pong_id}
    # Oversized frame: the connection is closed with 1009, others are unaffected.
    await ws.send("x" * (70 * 1024))
    await expect_close(ws, 1009)
    ws, _ = await connect(daemon, "after-oversize")
    await ws.close()
    ok(f"malformed input: {len(cases) + 1} typed errors, oversized frame closed with 1009, daemon unaffected")


async def test_flood_and_limits(daemon):
    # A flood of commands: refused with rate_limited, then the connection is closed (1008); daemon fine.
    ws, _ = await connect(daemon, "flooder")
    limited = 0
    closed_code = None

    async def read_replies():
        nonlocal limited, closed_code
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message.get("code") == "rate_limited":
                    limited += 1
        except ConnectionClosed as closed:
            closed_code = closed.rcvd.code if closed.rcvd else None
        except asyncio.TimeoutError:
            pass

    reader = asyncio.create_task(read_replies())
    try:
        for index in range(40000):
            await ws.send(json.dumps({"type": "command", "id": f"f{index}", "command": "session.current"}))
    except ConnectionClosed:
        pass
    await asyncio.wait_for(reader, 20)
    assert limited > 0, "a flood must be rate limited"
    assert closed_code == 1008, closed_code
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/healthz", timeout=2) as r:
        assert json.loads(r.read())["status"] == "ok"
    # Connection limit: max_clients + 1 → 1013.
    clients = []
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/healthz", timeout=2) as r:
        already = json.loads(r.read())["clients"]
    for index in range(16 - already):
        clients.append((await connect(daemon, f"limit{index}"))[0])
    extra = await websockets.connect(daemon.url)
    await expect_close(extra, 1013)
    for client in clients:
        await client.close()
    ok(f"floods: {limited} rate_limited replies, close {closed_code}; 17th client closed with 1013")


async def test_sessions(daemon):
    ws, _ = await connect(daemon, "sessions")
    await ws.close()
    ws, welcome = await connect(daemon, "sessions")
    before = await command(ws, "r1", "test.record", measurementId="between-1")
    assert before["data"]["binding"] == "unassigned", before
    started = await command(ws, "r2", "session.start", sessionId="S-e2e", contextRef="opaque-ref")
    assert started["type"] == "result", started
    during = await command(ws, "r3", "test.record", measurementId="during-1")
    assert during["data"]["binding"] == "session"
    stored = await command(ws, "r4", "test.record", measurementId="memory-1", origin="stored")
    assert stored["data"]["binding"] == "history"
    again = await command(ws, "r5", "session.start", sessionId="S-other", contextRef="x")
    assert again["type"] == "error" and again["code"] == "session_active", again
    assigned = await command(ws, "r6", "measurement.assign", measurementId="between-1", reason="same patient")
    assert assigned["type"] == "result" and assigned["data"]["sessionId"] == "S-e2e", assigned
    twice = await command(ws, "r7", "measurement.assign", measurementId="between-1")
    assert twice["code"] == "already_bound", twice
    discarded = await command(ws, "r8", "measurement.discard", measurementId="memory-1", reason="previous patient")
    assert discarded["type"] == "result"
    ended = await command(ws, "r9", "session.end", sessionId="S-e2e")
    assert ended["data"]["session"]["endedAtMicros"] >= ended["data"]["session"]["startedAtMicros"]
    await ws.close()
    ok("sessions: unassigned → assigned, live → session, stored → history → discarded, one active session")


async def test_slow_client(daemon):
    """A client that stops reading must not block others nor grow boothd's memory; it resyncs later."""
    # A raw socket with a small receive buffer that nobody reads: boothd's writes to it block.
    stuck = RawClient(daemon, "stuck")
    start_cursor = stuck.welcome["cursor"]
    fast, fast_welcome = await connect(daemon, "fast")
    producer, _ = await connect(daemon, "producer-slow")
    rss_before = daemon.rss_kib()
    # FHIR-sized events (~3 KiB): 4000 of them are 6x what one client may have queued, and the stuck client
    # must start reading before boothd's keep-alive (ping every 20 s, answer within 20 s) gives up on it.
    total = 4000
    received = []
    fast_cursor = fast_welcome["cursor"]

    async def read_fast():
        while len(received) < total:
            message = await recv(fast, timeout=30)
            if message["type"] == "event" and message["event"] == "measurement":
                if message["data"]["measurement"]["id"].startswith("slow-"):
                    received.append(message["id"])
                    await fast.send(json.dumps({"type": "ack", "upTo": message["id"]}))

    reader = asyncio.create_task(read_fast())
    started = time.time()
    # Paced under api.commands_per_second (1000 by default): this test is about a stuck reader, not a flood
    # (test_flood_and_limits covers that), and a fast machine would otherwise be rate-limited here.
    for index in range(total):
        await producer.send(json.dumps({"type": "command", "id": f"s{index}", "command": "test.record",
                                        "params": {"measurementId": f"slow-{index}"}}))
        if index % 400 == 399:
            await asyncio.sleep(0.5)
    results = 0
    while results < total:
        message = json.loads(await asyncio.wait_for(producer.recv(), 60))
        if message["type"] == "result":
            results += 1
        elif message["type"] == "error":
            raise AssertionError(message)
    await asyncio.wait_for(reader, 60)
    elapsed = time.time() - started
    assert received == sorted(received) and len(set(received)) == total
    rss_after = daemon.rss_kib()
    # The stuck client now reads: it is told to resync and gets every event, in order, without a gap. It also
    # opens its receive window: with a 4 KiB window, TCP's zero-window probes back off to many seconds.
    stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    events = []
    resyncs = 0
    while not events or events[-1] < received[-1]:
        message = check_server(stuck.recv(timeout=30))
        if message["type"] == "resync":
            resyncs += 1
        elif message["type"] == "event":
            events.append(message["id"])
    assert resyncs >= 1, "the stuck client must be told to resync"
    assert events == list(range(start_cursor + 1, received[-1] + 1)), "stuck client: gap or disorder after resync"
    stuck.close()
    for ws in (fast, producer):
        await ws.close()
    growth = (rss_after - rss_before) // 1024
    assert growth < 64, f"boothd grew {growth} MiB while a client was stuck"
    ok(f"slow client: fast client got {total} events in {elapsed:.1f}s while another was stuck; "
       f"RSS +{growth} MiB; stuck client resynced ({resyncs}x) and got {len(events)} events in order")


async def test_mute_client(daemon):
    """Regression (FHIR-sized events deadlocked a connection): a client that sends commands and pings but never
    reads must still have its commands read and executed while boothd's writes to it are blocked."""
    mute = RawClient(daemon, "mute")
    watcher, _ = await connect(daemon, "mute-watcher")
    total = 2400
    seen = set()

    async def watch():
        while len(seen) < total:
            message = await recv(watcher, timeout=30)
            if message["type"] == "event" and message["event"] == "measurement":
                measurement_id = message["data"]["measurement"]["id"]
                if measurement_id.startswith("mute-"):
                    seen.add(measurement_id)
                await watcher.send(json.dumps({"type": "ack", "upTo": message["id"]}))

    watching = asyncio.create_task(watch())
    started = time.time()
    loop = asyncio.get_running_loop()
    for batch in range(total // 400):
        frames = [{"type": "command", "id": f"m{i}", "command": "test.record", "params": {"measurementId": f"mute-{i}"}}
                  for i in range(batch * 400, batch * 400 + 400)]
        # A blocking sendall would hang here (bounded by the timeout) if boothd stopped reading this client.
        await asyncio.wait_for(loop.run_in_executor(None, lambda: [mute.send(f) for f in frames]), 20)
        await asyncio.wait_for(loop.run_in_executor(None, mute._control, 0x9, b"are-you-there"), 5)
        await asyncio.sleep(0.5)
    await asyncio.wait_for(watching, 60)
    elapsed = time.time() - started
    mute.close()
    await watcher.close()
    ok(f"mute client: {total} commands and {total // 400} pings from a client that never reads were all executed "
       f"in {elapsed:.1f}s (reading never waits on writing)")


async def test_overflow_and_stall(state_dir):
    """A client whose unread replies pass api.client_queue_bytes is closed (4429), and one whose writes make no
    progress for api.client_stall_seconds has its socket closed; the others and boothd are unaffected."""
    daemon = Daemon(state_dir, free_port(), ["--set", "api.client_queue_bytes=65536",
                                              "--set", "api.client_stall_seconds=3"])
    daemon.start()
    try:
        other, _ = await connect(daemon, "bystander")
        # Overflow: 20000 bad acks (not rate limited, each answered by a ~110-byte error: 2.2 MB), no reads. boothd
        # fixes each session socket's kernel send buffer (256 KiB, doubled by the kernel); left to autotune it
        # would grow to tcp_wmem's maximum (4 MiB) and hold every reply. The acks also wait in boothd's receive
        # buffer after the flood ends, so the client must go on not reading until boothd has worked through them:
        # reading earlier lets it keep pace with the replies, and then nothing overflows.
        mute = RawClient(daemon, "overflow")
        loop = asyncio.get_running_loop()
        count = 20000
        frames = [{"type": "ack", "upTo": 10**12 + i} for i in range(count)]

        def flood():
            try:
                for index, frame in enumerate(frames):
                    mute.send(frame)
            except OSError:
                pass  # closed by boothd: what this test expects

        await asyncio.wait_for(loop.run_in_executor(None, flood), 30)
        for _ in range(300):
            if "not reading" in open(daemon.log.name).read():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("a client with megabytes of unread replies was not closed within 30 s")
        close_code = None
        try:
            while True:
                message = await loop.run_in_executor(None, mute.recv_any, 10)
                if message[0] == "close":
                    close_code = message[1]
                    break
        except (OSError, ConnectionError):
            pass  # the socket was closed outright once the close frame could not be delivered in time
        mute.close()
        log = open(daemon.log.name).read()
        assert close_code == 4429 or "not reading" in log, (close_code, log[-2000:])
        # Stall: a client that reads nothing while events flow is cut off ~3 s after a write to it stops moving
        # (kernel socket buffers absorb the first few hundred KiB).
        stuck = RawClient(daemon, "stall")
        started = time.time()
        index = 0
        dropped = False
        while not dropped and time.time() - started < 30:
            for _ in range(50):
                reply = await command(other, f"st{index}", "test.record", measurementId=f"stall-{index}")
                assert reply["type"] == "result", reply
                index += 1
            with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/healthz", timeout=2) as r:
                dropped = json.loads(r.read())["clients"] == 1
        assert dropped, "the stalled client was not disconnected"
        cut_off = time.time() - started
        assert open(daemon.log.name).read().count("session client closed: not reading") >= 1
        stuck.close()
        pong = await command(other, "alive", "session.current")
        assert pong["type"] == "result"
        await other.close()
        # SIGTERM with a client that reads nothing: boothd still stops promptly and cleanly.
        RawClient(daemon, "at-shutdown")
        stopping = time.time()
        daemon.process.terminate()
        daemon.process.wait(timeout=20)
        shutdown = time.time() - stopping
        assert daemon.process.returncode == 0 and shutdown < 10, (daemon.process.returncode, shutdown)
    finally:
        daemon.stop()
    ok(f"overflow/stall: unread replies over 64 KiB closed ({close_code or 'socket closed'}), "
       f"a stalled client cut off after {cut_off:.1f}s, bystander unaffected; SIGTERM with a "
       f"non-reading client stopped in {shutdown:.1f}s")


async def test_device_commands(state_dir):
    """measurement.start/stop and device.forget on the simulator's devices, through the real supervisor path."""
    daemon = Daemon(state_dir, free_port(), ["--set", "simulator.mode=on", "--set", "simulator.camera=false",
                                              "--set", "simulator.interval_seconds=600"])
    daemon.start()
    try:
        ws, welcome = await connect(daemon, "commander")
        assert welcome["capabilities"]["deviceCommands"] is True
        states = {}
        measured = []
        removed = []

        async def pump(until, timeout=10):
            deadline = time.time() + timeout
            while not until():
                message = await recv(ws, timeout=max(0.1, deadline - time.time()))
                if message["type"] == "device":
                    states[message["device"]["id"]] = message["device"]["state"]["name"] \
                        if isinstance(message["device"]["state"], dict) else message["device"]["state"]
                elif message["type"] == "device.removed":
                    removed.append(message["deviceId"])
                elif message["type"] == "event" and message["event"] == "measurement":
                    measured.append(message["data"])
                    await ws.send(json.dumps({"type": "ack", "upTo": message["id"]}))

        async def run(request_id, name, **params):
            await send(ws, {"type": "command", "id": request_id, "command": name, "params": params})
            reply = None
            while reply is None:
                message = await recv(ws)
                if message["type"] in ("result", "error") and message.get("id") == request_id:
                    reply = message
                elif message["type"] == "device":
                    states[message["device"]["id"]] = message["device"]["state"]["name"] \
                        if isinstance(message["device"]["state"], dict) else message["device"]["state"]
                elif message["type"] == "device.removed":
                    removed.append(message["deviceId"])
                elif message["type"] == "event" and message["event"] == "measurement":
                    measured.append(message["data"])
            return reply

        for device in (await run("d0", "devices.list"))["data"]["devices"]:
            states.setdefault(device["id"], device["state"]["name"] if isinstance(device["state"], dict)
                              else device["state"])
        await pump(lambda: all(states.get(d) == "ready" for d in ("sim:oximeter", "sim:bp-cuff", "sim:thermometer")))
        # The cuff takes its first periodic reading 3 s after it connects, then one every 40 minutes. Wait for that
        # first one: counted before the command only once it arrived (its event may still be on its way when the
        # device is ready), so any later cuff reading can only come from the command.
        await pump(lambda: any(m["measurement"]["device"]["id"] == "sim:bp-cuff" for m in measured), timeout=15)
        before = len([m for m in measured if m["measurement"]["device"]["id"] == "sim:bp-cuff"])
        reply = await run("d1", "measurement.start", deviceId="sim:bp-cuff")
        assert reply["type"] == "result" and reply["data"]["state"] == "measuring", reply
        await pump(lambda: len([m for m in measured if m["measurement"]["device"]["id"] == "sim:bp-cuff"]) > before)
        cuff = [m for m in measured if m["measurement"]["device"]["id"] == "sim:bp-cuff"][-1]
        assert cuff.get("fhir", {}).get("resourceType") == "Bundle", cuff.keys()
        await pump(lambda: states.get("sim:bp-cuff") == "ready")
        stopped = await run("d2", "measurement.stop", deviceId="sim:oximeter")
        assert stopped["type"] == "result" and stopped["data"]["state"] == "ready", stopped
        unknown = await run("d3", "measurement.start", deviceId="sim:nope")
        assert unknown["type"] == "error" and unknown["code"] == "unknown_device", unknown
        snapshot = await run("d4", "snapshot.take", deviceId="sim:oximeter")
        assert snapshot["type"] == "error" and snapshot["code"] == "not_available", snapshot
        forgot = await run("d5", "device.forget", deviceId="sim:thermometer")
        assert forgot["type"] == "result" and forgot["data"]["state"] == "gone", forgot
        await pump(lambda: "sim:thermometer" in removed)
        assert states.get("sim:thermometer") == "gone", states
        listed = await run("d6", "devices.list")
        assert "sim:thermometer" not in [d["id"] for d in listed["data"]["devices"]], listed
        again = await run("d7", "measurement.start", deviceId="sim:thermometer")
        assert again["type"] == "error" and again["code"] == "unknown_device", again
        await ws.close()
    finally:
        daemon.stop()
    ok("device commands: measurement.start takes a cuff reading now (event with FHIR Bundle), stop pauses the "
       "oximeter, unknown_device / not_available typed errors, device.forget → gone + device.removed")


async def test_web_page(daemon):
    with urllib.request.urlopen(f"http://127.0.0.1:{daemon.port}/", timeout=2) as r:
        body = r.read().decode()
        assert r.status == 200 and "<html" in body.lower()
    ok("web: the kiosk page is served at /")


async def kill_cycles(state_dir, cycles=20):
    """Producer records measurements (retrying unconfirmed ids), consumer reads and acks; boothd is killed
    with SIGKILL at a random moment each cycle and restarted on the same state directory."""
    port = free_port()
    daemon = Daemon(state_dir, port)
    confirmed = set()
    next_index = 0
    unconfirmed = []
    seen_events = {}  # event id → measurement id
    delivery_order = []
    raw_deliveries = 0
    rng = random.Random(int(os.environ.get("KILL_SEED", time.time())))

    async def produce(stop):
        nonlocal next_index
        ws, _ = await connect(daemon, "producer")
        while not stop.is_set():
            if unconfirmed:
                measurement_id = unconfirmed[0]
            else:
                measurement_id = f"k-{next_index}"
                next_index += 1
                unconfirmed.append(measurement_id)
            reply = await command(ws, f"q-{measurement_id}", "test.record", measurementId=measurement_id)
            assert reply["type"] == "result", reply
            unconfirmed.remove(measurement_id)
            confirmed.add(measurement_id)
            await asyncio.sleep(rng.uniform(0, 0.004))

    async def consume(stop, drain=False):
        nonlocal raw_deliveries
        ws, _ = await connect(daemon, "app")
        while True:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 1.0 if drain else 0.2))
            except asyncio.TimeoutError:
                if drain or stop.is_set():
                    return
                continue
            check_server(message)
            if message["type"] != "event" or message["event"] != "measurement":
                continue
            raw_deliveries += 1
            measurement_id = message["data"]["measurement"]["id"]
            if not measurement_id.startswith("k-"):
                continue
            if message["id"] not in seen_events:
                seen_events[message["id"]] = measurement_id
                delivery_order.append(message["id"])
            await ws.send(json.dumps({"type": "ack", "upTo": message["id"]}))

    for cycle in range(cycles):
        daemon.start()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(produce(stop)), asyncio.create_task(consume(stop))]
        await asyncio.sleep(rng.uniform(0.05, 0.8))
        daemon.kill9()
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, 5)
            except (ConnectionClosed, InvalidHandshake, OSError, asyncio.TimeoutError, AssertionError):
                pass
    # Final round: no kill; confirm the last unconfirmed id and drain.
    daemon.start()
    stop = asyncio.Event()
    if unconfirmed:
        ws, _ = await connect(daemon, "producer")
        for measurement_id in list(unconfirmed):
            reply = await command(ws, f"q-final-{measurement_id}", "test.record", measurementId=measurement_id)
            assert reply["type"] == "result"
            unconfirmed.remove(measurement_id)
            confirmed.add(measurement_id)
        await ws.close()
    await consume(stop, drain=True)
    daemon.stop()
    received = list(seen_events.values())
    assert delivery_order == sorted(delivery_order), "events were delivered out of order"
    assert len(received) == len(set(received)), "a measurement was recorded twice under two event ids"
    assert set(received) == confirmed, (
        f"sent {len(confirmed)} received {len(set(received))}: missing {sorted(confirmed - set(received))[:5]}")
    ok(f"kill -9 x{cycles}: sent {len(confirmed)}, received {len(received)} unique, 0 lost, 0 duplicated after "
       f"dedupe by id ({raw_deliveries - len(received)} redeliveries of unacknowledged events)")


async def main():
    with tempfile.TemporaryDirectory(prefix="boothd-e2e-") as state_dir:
        daemon = Daemon(state_dir, free_port())
        daemon.start()
        try:
            await test_auth(daemon)
            await test_origin(daemon)
            await test_malformed(daemon)
            await test_sessions(daemon)
            await test_slow_client(daemon)
            await test_mute_client(daemon)
            await test_flood_and_limits(daemon)
            await test_hello_timeout(daemon)
            await test_web_page(daemon)
        finally:
            daemon.stop()
    with tempfile.TemporaryDirectory(prefix="boothd-commands-") as state_dir:
        await test_device_commands(state_dir)
    with tempfile.TemporaryDirectory(prefix="boothd-overflow-") as state_dir:
        await test_overflow_and_stall(state_dir)
    with tempfile.TemporaryDirectory(prefix="boothd-kill-") as state_dir:
        await kill_cycles(state_dir)
    print(f"api e2e: all passed ({validated} server messages validated against the JSON Schema)")


if __name__ == "__main__":  # imported by 43-safety-e2e.py, 43-media-artifacts.py, 82-ecg-e2e.py, scripts/hwlab/ble/boothd_e2e.py
    asyncio.run(main())
