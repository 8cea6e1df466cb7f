"""Session API benchmark against the real boothd (durable writes: WAL, synchronous=FULL).

1. notify-to-client latency: from the moment boothd received a measurement (its receivedAtMicros, taken just
   before the durable write) to the moment a subscribed client has the event; paced at RATE/s.
2. sustained measurements/s with 10 subscribed clients: producers record as fast as boothd accepts; the figure is
   measurements durably recorded and delivered to all 10 clients per second.

Usage: python notify_bench.py BOOTHD_BINARY [SAMPLES] [RATE] [BURST]
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

BOOTHD = sys.argv[1]
SAMPLES = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
RATE = float(sys.argv[3]) if len(sys.argv) > 3 else 100
BURST = int(sys.argv[4]) if len(sys.argv) > 4 else 5000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(port, token, client_id):
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=2**24)
    await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": token, "clientId": client_id}))
    while json.loads(await ws.recv())["type"] != "devices":
        pass
    return ws


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def latency(port, token):
    subscriber = await client(port, token, "latency-sub")
    producer = await client(port, token, "latency-pub")
    samples = []

    async def read():
        while len(samples) < SAMPLES:
            raw = await subscriber.recv()
            now = time.time()
            message = json.loads(raw)
            if message["type"] == "event" and message["event"] == "measurement":
                samples.append(now * 1e6 - message["data"]["measurement"]["receivedAtMicros"])
                await subscriber.send(json.dumps({"type": "ack", "upTo": message["id"]}))

    async def drain_replies():
        while True:
            await producer.recv()

    reader = asyncio.create_task(read())
    replies = asyncio.create_task(drain_replies())
    for index in range(SAMPLES):
        await producer.send(json.dumps({"type": "command", "id": f"l{index}", "command": "test.record",
                                        "params": {"measurementId": f"lat-{index}"}}))
        await asyncio.sleep(1 / RATE)
    await asyncio.wait_for(reader, 60)
    replies.cancel()
    micros = [value / 1000 for value in samples]
    print(f"notify-to-client latency ({SAMPLES} measurements at {RATE:.0f}/s, 1 client, synchronous=FULL): "
          f"p50 {statistics.median(micros):.2f} ms, p99 {percentile(micros, 0.99):.2f} ms, max {max(micros):.2f} ms")
    # One machine-readable line per phase (scripts/bench/all.py collects them).
    print("bench-json: " + json.dumps({"notify_latency_ms_p50": round(statistics.median(micros), 2),
                                       "notify_latency_ms_p99": round(percentile(micros, 0.99), 2),
                                       "notify_latency_ms_max": round(max(micros), 2)}))
    await subscriber.close()
    await producer.close()


async def throughput(port, token, clients=10, producers=4):
    subscribers = [await client(port, token, f"tp-sub-{index}") for index in range(clients)]
    writers = [await client(port, token, f"tp-pub-{index}") for index in range(producers)]
    done = asyncio.Event()
    counts = [0] * clients

    async def read(index, ws):
        while counts[index] < BURST:
            message = json.loads(await ws.recv())
            if message["type"] == "event" and message["event"] == "measurement" and \
                    message["data"]["measurement"]["id"].startswith("tp-"):
                counts[index] += 1
                if counts[index] % 50 == 0 or counts[index] == BURST:
                    await ws.send(json.dumps({"type": "ack", "upTo": message["id"]}))

    async def produce(index, ws):
        # Up to 32 requests in flight per producer.
        in_flight = 0
        sent = 0
        mine = range(index, BURST, producers)
        pending = list(mine)
        while pending or in_flight:
            while pending and in_flight < 32:
                number = pending.pop(0)
                await ws.send(json.dumps({"type": "command", "id": f"t{number}", "command": "test.record",
                                          "params": {"measurementId": f"tp-{number}"}}))
                in_flight += 1
                sent += 1
            message = json.loads(await ws.recv())
            if message["type"] in ("result", "error"):
                in_flight -= 1
                if message["type"] == "error":
                    raise RuntimeError(message)

    started = time.time()
    readers = [asyncio.create_task(read(index, ws)) for index, ws in enumerate(subscribers)]
    await asyncio.gather(*(produce(index, ws) for index, ws in enumerate(writers)))
    recorded = time.time() - started
    await asyncio.wait_for(asyncio.gather(*readers), 120)
    delivered = time.time() - started
    print(f"sustained: {BURST} measurements recorded durably in {recorded:.2f} s = {BURST / recorded:.0f}/s; "
          f"delivered to all {clients} clients in {delivered:.2f} s = {BURST / delivered:.0f} measurements/s "
          f"({BURST * clients / delivered:.0f} events/s sent)")
    print("bench-json: " + json.dumps({"recorded_per_s": round(BURST / recorded),
                                       "delivered_10_clients_per_s": round(BURST / delivered)}))
    for ws in subscribers + writers:
        await ws.close()


def main():
    with tempfile.TemporaryDirectory(prefix="boothd-bench-") as state:
        port = free_port()
        log = open(os.path.join(state, "boothd.log"), "wb")
        daemon = subprocess.Popen([
            BOOTHD, "--set", f"api.port={port}", "--set", f"storage.state_directory={state}",
            "--set", "api.test_commands=true", "--set", "api.commands_per_second=10000",
            "--set", "api.max_clients=32", "--set", "simulator.mode=off", "--set", "logging.level=warning",
        ], stdout=log, stderr=log)
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            token = open(os.path.join(state, "api-token")).read().strip()
            print(f"boothd: {BOOTHD}")
            asyncio.run(latency(port, token))
            asyncio.run(throughput(port, token))
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)


main()
