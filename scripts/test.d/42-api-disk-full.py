"""Disk full while boothd runs (state directory on a small tmpfs, mounted by 42-api-disk-full.sh).

Checks: connected clients get a `storage` message (degraded, "disk full") and `disk_full` errors; boothd keeps
running (healthz answers, same process); every simulated reading the supervisor could not store while the disk
was full (logged with its id) arrives exactly once after space is freed, and clients get `storage` ok again.
Every message is validated against docs/api/server-messages.schema.json.

Usage: python 42-api-disk-full.py BOOTHD_BINARY REPO_ROOT STATE_DIR
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import jsonschema
import websockets

BOOTHD, ROOT, STATE = sys.argv[1], sys.argv[2], sys.argv[3]
validator = jsonschema.Draft202012Validator(json.load(open(os.path.join(ROOT, "docs/api/server-messages.schema.json"))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
        return json.loads(r.read())


async def main():
    port = free_port()
    log_path = os.path.join("/tmp", f"boothd-diskfull-{os.getpid()}.log")  # not on the tmpfs: it must not fill
    log = open(log_path, "wb")
    process = subprocess.Popen([
        BOOTHD, "--set", f"api.port={port}", "--set", f"storage.state_directory={STATE}",
        "--set", "api.test_commands=true", "--set", "simulator.mode=on", "--set", "simulator.camera=false",
        "--set", "simulator.interval_seconds=0.3", "--set", "logging.format=text",
    ], stdout=log, stderr=log)
    filler = os.path.join(STATE, "filler")
    try:
        deadline = time.time() + 20
        while True:
            try:
                healthz(port)
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError(f"boothd did not start; see {log_path}")
                time.sleep(0.05)
        token = open(os.path.join(STATE, "api-token")).read().strip()
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=2**24)
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": token, "clientId": "diskfull"}))
        measurements = {}  # measurement id -> number of deliveries
        event_ids = []
        storage_states = []
        replies = {}

        async def reader():
            while True:
                message = json.loads(await ws.recv())
                validator.validate(message)
                if message["type"] == "storage":
                    storage_states.append(message["storage"]["state"])
                elif message["type"] in ("result", "error") and message.get("id"):
                    replies[message["id"]] = message
                elif message["type"] == "event":
                    event_ids.append(message["id"])
                    if message["event"] == "measurement":
                        measurement_id = message["data"]["measurement"]["id"]
                        measurements[measurement_id] = measurements.get(measurement_id, 0) + 1
                    await ws.send(json.dumps({"type": "ack", "upTo": message["id"]}))

        reading = asyncio.create_task(reader())

        async def until(condition, timeout, what):
            end = time.time() + timeout
            while not condition():
                if time.time() > end:
                    raise AssertionError(f"timed out waiting for {what}")
                if reading.done():
                    reading.result()
                await asyncio.sleep(0.05)

        await until(lambda: len(measurements) >= 3, 15, "the first simulated readings")
        # Fill the tmpfs.
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        filled_at = time.time()
        # A command that writes gets a typed error; the storage state is pushed.
        await ws.send(json.dumps({"type": "command", "id": "full-1", "command": "test.record",
                                  "params": {"measurementId": "while-full-1"}}))
        await until(lambda: "full-1" in replies, 10, "the reply to a write on a full disk")
        assert replies["full-1"]["type"] == "error" and replies["full-1"]["code"] == "disk_full", replies["full-1"]
        await until(lambda: "degraded" in storage_states, 10, "a storage message saying degraded")
        assert healthz(port)["storage"]["state"] == "degraded"
        # Stay full a while: the simulator keeps measuring, the supervisor keeps retrying; boothd stays up.
        await asyncio.sleep(3)
        assert process.poll() is None, "boothd exited while the disk was full"
        assert healthz(port)["status"] == "ok"
        pid_before = process.pid
        log_text = open(log_path, errors="replace").read()
        stuck = set(re.findall(r"cannot store measurement yet; retrying.*?measurement=(\S+)", log_text))
        assert stuck, "no simulated reading was held back while the disk was full"
        # Free the space: the held readings arrive, once each, and clients hear storage is ok again.
        os.remove(filler)
        freed_at = time.time()
        await until(lambda: stuck <= set(measurements), 30, f"the {len(stuck)} held readings")
        await until(lambda: storage_states[-1:] == ["ok"], 10, "a storage message saying ok")
        await ws.send(json.dumps({"type": "command", "id": "after-1", "command": "test.record",
                                  "params": {"measurementId": "after-free-1"}}))
        await until(lambda: "after-1" in replies, 10, "the reply after freeing space")
        assert replies["after-1"]["type"] == "result", replies["after-1"]
        await asyncio.sleep(1)
        duplicates = {k: v for k, v in measurements.items() if v > 1}
        assert not duplicates, f"measurements delivered twice: {duplicates}"
        assert event_ids == sorted(set(event_ids)), "events out of order or repeated"
        assert process.poll() is None and process.pid == pid_before
        reading.cancel()
        await ws.close()
        print(f"  ok  disk full: storage degraded pushed, disk_full error, boothd up for "
              f"{freed_at - filled_at:.1f}s full; {len(stuck)} held readings arrived once each after freeing; "
              f"storage ok pushed; {len(measurements)} readings, 0 duplicates")
    except BaseException:
        log.flush()
        print(open(log_path, errors="replace").read()[-3000:], file=sys.stderr)
        raise
    finally:
        if os.path.exists(filler):
            os.remove(filler)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if os.path.exists(log_path):
            os.remove(log_path)


asyncio.run(main())
