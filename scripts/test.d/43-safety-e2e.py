"""Consultation safety (issue 11) end to end: the real boothd, a real Python websockets client.

1. On the simulator (booth inventory with a glucose meter it does not have, the simulated camera as otoscope,
   cuff user slot 2 while the simulated cuff reports user 1): readiness over the API (and its durable
   readiness.report event), the multi-user cuff rule on live readings, binding reasons, explicit assign /
   discard with typed errors, manual entry accepted / warned / rejected with unit conversion and audit.
2. kill -9 in the middle of assignments (>= 10 times): every reading ends either assigned (one assigned event
   seen by the client, one audit row) or still unassigned; none lost, duplicated or half-assigned.

Every message is validated against docs/api/*.schema.json (through the helpers of 40-api-e2e.py).
Usage: python 43-safety-e2e.py BOOTHD_BINARY REPO_ROOT
"""

import asyncio
import importlib.util
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time

import jsonschema
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

_spec = importlib.util.spec_from_file_location("api_e2e", os.path.join(os.path.dirname(__file__), "40-api-e2e.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)  # helpers only: its main() runs under __main__

Daemon, connect, recv, send, ok, free_port = api.Daemon, api.connect, api.recv, api.send, api.ok, api.free_port
readiness_validator = jsonschema.Draft202012Validator(
    {"$ref": "#/$defs/readinessReport", "$defs": api.SERVER_SCHEMA["$defs"]})

SIMULATOR = [
    "--set", "simulator.mode=on",
    "--set", "simulator.interval_seconds=0.25",
    "--set", "booth.inventory=oximeter,bp,thermometer,glucometer,otoscope",
    "--set", "booth.cuff_user_slot=2",
]


async def connect_resuming(daemon, client_id, resume_after):
    """A client that has handled every event up to `resume_after` (hello's resumeAfter): no replay before it."""
    ws = await websockets.connect(daemon.url, max_size=2**24)
    await send(ws, {"type": "hello", "protocol": 1, "token": daemon.token, "clientId": client_id,
                    "resumeAfter": resume_after})
    assert (await recv(ws))["type"] == "welcome"
    assert (await recv(ws))["type"] == "devices"
    return ws


def database(state_dir):
    return sqlite3.connect(f"file:{os.path.join(state_dir, 'outbox.sqlite')}?mode=ro", uri=True)


backlog = {}  # id(ws) → messages read while waiting for a command's answer


async def command(ws, request_id, name, _invalid=False, **params):
    """Like 40-api-e2e.py's command, but keeps the other messages for wait_for (an event is often pushed before
    the answer to the command that caused it). `_invalid`: a deliberately bad request, not schema-checked."""
    message = {"type": "command", "id": request_id, "command": name, "params": params}
    if _invalid:
        await ws.send(json.dumps(message))
    else:
        await send(ws, message)
    while True:
        message = await recv(ws)
        if message["type"] in ("result", "error") and message["id"] == request_id:
            return message
        backlog.setdefault(id(ws), []).append(message)


async def wait_for(ws, predicate, timeout=15):
    """The first message (already read, or read now) that matches; events are validated on the way."""
    queue = backlog.setdefault(id(ws), [])
    for index, message in enumerate(queue):
        if predicate(message):
            del queue[:index + 1]
            return message
    queue.clear()
    deadline = time.time() + timeout
    while time.time() < deadline:
        message = await recv(ws, timeout=max(0.1, deadline - time.time()))
        if predicate(message):
            return message
    raise AssertionError("expected message did not arrive")


def is_measurement_from(device_id, received_after=0, other_than=None):
    return lambda m: (m["type"] == "event" and m["event"] == "measurement"
                      and m["data"]["measurement"]["device"]["id"] == device_id
                      and m["data"]["measurement"]["receivedAtMicros"] >= received_after
                      and m["data"]["measurement"]["id"] != other_than)


async def test_readiness(daemon):
    ws, _ = await connect(daemon, "readiness")
    # Wait until the simulated thermometer (the slowest device) has connected.
    deadline = time.time() + 20
    while True:
        listed = await command(ws, "d1", "devices.list")
        states = {d["id"]: d["state"] for d in listed["data"]["devices"]}
        if states.get("sim:thermometer") == "ready" and states.get("sim:bp-cuff") == "ready":
            break
        assert time.time() < deadline, states
        await asyncio.sleep(0.2)
    reply = await command(ws, "r1", "readiness")
    assert reply["type"] == "result", reply
    data = reply["data"]
    readiness_validator.validate(data)
    results = {r["role"]: r for r in data["report"]["results"]}
    assert list(results) == ["oximeter", "bp", "thermometer", "glucometer", "otoscope"], list(results)
    for role in ("oximeter", "bp", "thermometer"):
        assert results[role]["level"] == "ready", results[role]
        assert results[role]["batteryPercent"] == 92, results[role]
        assert "action" not in results[role]
    glucometer = results["glucometer"]
    assert glucometer["level"] == "missing" and "deviceID" not in glucometer
    assert glucometer["action"].startswith("switch on the glucose meter"), glucometer
    otoscope = results["otoscope"]
    assert otoscope["deviceID"] == "sim:camera" and otoscope["framesDelivered"] is True, otoscope
    assert otoscope["level"] == "ready", otoscope
    assert data["report"]["overall"] == "missing"
    duration_ms = data["durationMicros"] / 1000
    assert duration_ms < 5000, duration_ms
    # Recorded durably for the usage report: the event reaches the client and is in the outbox.
    event = await wait_for(ws, lambda m: m["type"] == "event" and m["event"] == "readiness.report")
    assert event["id"] == data["eventId"] and event["data"]["report"] == data["report"], event
    await ws.close()
    ok(f"readiness: oximeter/bp/thermometer ready (battery 92 %), glucose meter missing → \"{glucometer['action']}\", "
       f"otoscope (simulated camera) delivers frames; took {duration_ms:.1f} ms; readiness.report event {event['id']}")
    return data["eventId"]


def test_boothctl_check(daemon):
    """boothctl check asks the running boothd (same report, recorded too); without it, it says so."""
    boothctl = os.path.join(os.path.dirname(api.BOOTHD), "boothctl")
    common = ["--set", f"storage.state_directory={daemon.state_dir}", "--json"]
    run = subprocess.run([boothctl, "check", "--set", f"api.port={daemon.port}"] + common,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 1, (run.returncode, run.stderr)  # the glucose meter is missing
    output = json.loads(run.stdout)
    assert output["source"].startswith(f"boothd at ws://127.0.0.1:{daemon.port}/ws"), output["source"]
    readiness_validator.validate({"durationMicros": output["durationMicros"], "eventId": output["eventId"],
                                  "report": output["report"]})
    levels = {r["role"]: r["level"] for r in output["report"]["results"]}
    assert levels == {"oximeter": "ready", "bp": "ready", "thermometer": "ready", "glucometer": "missing",
                      "otoscope": "ready"}, levels
    text = subprocess.run([boothctl, "check", "--set", f"api.port={daemon.port}",
                           "--set", f"storage.state_directory={daemon.state_dir}"],
                          capture_output=True, text=True, timeout=30)
    assert "→ switch on the glucose meter" in text.stdout, text.stdout
    alone = subprocess.run([boothctl, "check", "--set", f"api.port={free_port()}",
                            "--set", "booth.inventory=thermometer"] + common, capture_output=True, text=True,
                           timeout=30)
    assert alone.returncode == 1, alone.stderr
    fallback = json.loads(alone.stdout)
    assert "without the running boothd" in fallback["source"] and "boothd is not running" in fallback["source"], fallback
    ok(f"boothctl check: asks the running boothd (event {output['eventId']}, {output['durationMicros'] / 1000:.1f} ms, "
       "exit 1 for a missing role, plain-language actions); without boothd it says so and checks locally")


async def test_cuff_slot_and_binding(daemon):
    ws, _ = await connect(daemon, "binding")
    started = await command(ws, "s1", "session.start", sessionId="S-safety", contextRef="opaque-consultation")
    assert started["type"] == "result", started
    start = started["data"]["session"]["startedAtMicros"]
    # The simulated cuff reports user 1; the booth's slot is 2: never bound to the session automatically.
    cuff = await wait_for(ws, is_measurement_from("sim:bp-cuff", start), timeout=20)
    assert cuff["data"]["binding"] == "unassigned" and cuff["data"]["bindingReason"] == "otherUserSlot", cuff["data"]
    assert cuff["sessionId"] is None and "otherUserSlot" in cuff["data"]["measurement"]["status"]
    assert cuff["data"]["measurement"]["provenance"]["userSlot"] == 1
    oximeter = await wait_for(ws, is_measurement_from("sim:oximeter", start))
    assert oximeter["data"]["binding"] == "session" and oximeter["data"]["bindingReason"] == "takenDuringSession"
    cuff_id = cuff["data"]["measurement"]["id"]
    # A record from device memory with no trusted time: history, shown apart with its reason.
    stored = await command(ws, "h1", "test.record", measurementId="memory-untrusted", origin="stored")
    assert stored["data"]["binding"] == "history", stored
    pending = await command(ws, "p1", "measurements.pending")
    waiting = {m["measurement"]["id"]: m for m in pending["data"]["measurements"]}
    assert waiting[cuff_id]["binding"] == "unassigned" and waiting[cuff_id]["bindingReason"] == "otherUserSlot"
    assert waiting["memory-untrusted"]["binding"] == "history", waiting["memory-untrusted"]
    assert waiting["memory-untrusted"]["bindingReason"] == "storedTimeUntrusted", waiting["memory-untrusted"]
    # Explicit decisions, with typed errors.
    assigned = await command(ws, "a1", "measurement.assign", measurementId=cuff_id, reason="patient confirmed")
    assert assigned["type"] == "result" and assigned["data"]["sessionId"] == "S-safety", assigned
    event = await wait_for(ws, lambda m: m["type"] == "event" and m["event"] == "measurement.assigned"
                           and m["data"]["measurementId"] == cuff_id)
    assert event["data"]["previousBinding"] == "unassigned"
    errors = [
        (await command(ws, "a2", "measurement.assign", measurementId=cuff_id), "already_bound"),
        (await command(ws, "a3", "measurement.discard", measurementId=cuff_id), "already_bound"),
        (await command(ws, "a4", "measurement.discard", measurementId="no-such-reading"), "unknown_measurement"),
        (await command(ws, "a5", "measurement.assign", measurementId="no-such-reading"), "unknown_measurement"),
    ]
    second = await wait_for(ws, is_measurement_from("sim:bp-cuff", start, other_than=cuff_id), timeout=20)
    second_id = second["data"]["measurement"]["id"]
    errors.append((await command(ws, "a6", "measurement.assign", measurementId=second_id, sessionId="S-none"),
                   "unknown_session"))
    for reply, code in errors:
        assert reply["type"] == "error" and reply["code"] == code, (reply, code)
    discarded = await command(ws, "a7", "measurement.discard", measurementId=second_id, reason="other user")
    assert discarded["type"] == "result", discarded
    await ws.close()
    ok("cuff slot: live reading from user 1 (booth slot 2) unassigned with reason otherUserSlot, oximeter bound, "
       "untrusted memory record history (storedTimeUntrusted); "
       f"assign/discard explicit; {len(errors)} typed errors (already_bound, unknown_measurement, unknown_session)")
    return cuff_id, second_id


async def test_manual_entry(daemon):
    ws, _ = await connect(daemon, "manual")
    accepted = await command(ws, "m1", "measurement.manual", role="thermometer", value="98,6", unit="[degF]",
                             operatorRef="op-4711", reason="thermometer battery flat", measurementId="manual-temp")
    assert accepted["type"] == "result", accepted
    data = accepted["data"]
    value = data["measurement"]["values"][0]
    assert value["number"] == {"mantissa": 370, "exponent": -1} and value["unit"]["code"] == "Cel", value
    assert data["measurement"]["method"] == "manual" and data["binding"] == "session", data
    assert data["bindingReason"] == "takenDuringSession" and data["sessionId"] == "S-safety" and data["warnings"] == []
    assert data["measurement"]["provenance"]["operatorRef"] == "op-4711"
    event = await wait_for(ws, lambda m: m["type"] == "event" and m["event"] == "measurement"
                           and m["data"]["measurement"]["id"] == "manual-temp")
    assert event["sessionId"] == "S-safety"
    # A retry with the same id is stored once.
    again = await command(ws, "m1b", "measurement.manual", role="thermometer", value="98,6", unit="[degF]",
                          operatorRef="op-4711", measurementId="manual-temp")
    assert again["type"] == "result" and again["data"]["binding"] == "session"
    warned = await command(ws, "m2", "measurement.manual", kind="oxygenSaturation", value=66, unit="%",
                           operatorRef="op-4711", measurementId="manual-spo2")
    assert warned["type"] == "result" and "implausibleValue" in warned["data"]["measurement"]["status"], warned
    assert warned["data"]["warnings"] and "70...100" in warned["data"]["warnings"][0], warned["data"]["warnings"]
    glucose = await command(ws, "m3", "measurement.manual", role="glucometer", value="1.05", unit="g/L",
                            operatorRef="op-4711", measurementId="manual-glucose")
    assert glucose["data"]["measurement"]["values"][0]["unit"]["code"] == "mmol/L", glucose
    assert glucose["data"]["measurement"]["values"][0]["number"] == {"mantissa": 58, "exponent": -1}, glucose
    bp = await command(ws, "m4", "measurement.manual", role="bp", operatorRef="op-4711", values=[
        {"code": "MDC_PRESS_BLD_NONINV_SYS", "value": 16, "unit": "kPa"},
        {"code": "MDC_PRESS_BLD_NONINV_DIA", "value": 80, "unit": "mm[Hg]"}])
    assert bp["type"] == "result" and bp["data"]["measurement"]["values"][0]["number"]["mantissa"] == 120, bp
    refused = await command(ws, "m5", "measurement.manual", role="bp", operatorRef="op-4711", values=[
        {"code": "MDC_PRESS_BLD_NONINV_SYS", "value": 400, "unit": "mm[Hg]"},
        {"code": "MDC_PRESS_BLD_NONINV_DIA", "value": 80, "unit": "mm[Hg]"}], measurementId="manual-refused")
    assert refused["type"] == "error" and refused["code"] == "value_impossible", refused
    assert "20...300" in refused["message"] and "MDC_PRESS_BLD_NONINV_SYS" in refused["message"], refused
    hot = await command(ws, "m6", "measurement.manual", role="thermometer", value=50, unit="Cel", operatorRef="op-1")
    assert hot["code"] == "value_impossible" and "25...45" in hot["message"], hot
    invalid = [
        await command(ws, "m7", "measurement.manual", _invalid=True, role="thermometer", value=37, unit="Cel"),
        await command(ws, "m8", "measurement.manual", role="thermometer", value="abc", unit="Cel", operatorRef="o"),
        await command(ws, "m9", "measurement.manual", role="thermometer", value=37, unit="kPa", operatorRef="o"),
        await command(ws, "m10", "measurement.manual", _invalid=True, role="otoscope", value=1, unit="%", operatorRef="o"),
    ]
    for reply in invalid:
        assert reply["type"] == "error" and reply["code"] == "invalid_params", reply
    ended = await command(ws, "m11", "session.end", sessionId="S-safety")
    assert ended["type"] == "result"
    # No session: a typed value waits, unassigned, like a live reading.
    after = await command(ws, "m12", "measurement.manual", kind="bodyTemperature", value=37.1, unit="Cel",
                          operatorRef="op-4711", measurementId="manual-between")
    assert after["data"]["binding"] == "unassigned" and after["data"]["bindingReason"] == "noActiveSession", after
    await ws.close()
    ok("manual entry: 98,6 °F → 37.0 Cel bound to the session, SpO2 66 % warned, 1.05 g/L → 5.8 mmol/L, 16 kPa → "
       "120 mmHg, 400 mmHg and 50 °C refused with value_impossible naming the range, 4 invalid_params, "
       "no session → unassigned")


def check_audit_and_events(state_dir, readiness_event, cuff_id, discarded_id):
    with database(state_dir) as db:
        audit = db.execute("SELECT action, measurement_id, session_id, reason, operator_ref FROM audit "
                           "ORDER BY id").fetchall()
        readiness = db.execute("SELECT count(*) FROM events WHERE type = 'readiness.report'").fetchone()[0]
    manual = [row for row in audit if row[0] == "manual_entry"]
    assert [row[1] for row in manual] == ["manual-temp", "manual-spo2", "manual-glucose", manual[3][1],
                                          "manual-between"], manual
    assert manual[0][2:] == ("S-safety", "thermometer battery flat", "op-4711"), manual[0]
    assert manual[4][2] is None
    assert ("assign", cuff_id, "S-safety", "patient confirmed", None) in audit, audit
    assert ("discard", discarded_id, None, "other user", None) in audit, audit
    assert not any(row[1] == "manual-refused" for row in audit)
    assert readiness == 3 and readiness_event >= 1, readiness  # the readiness command and two boothctl checks
    ok(f"audit trail: {len(audit)} rows (5 manual entries with operator ref, assign, discard; none for the "
       f"refused value); {readiness} readiness.report event(s) in the outbox")


async def kill_during_assignments(state_dir, cycles=12, readings=1000):
    """Creates unassigned readings, then assigns them while boothd is killed with SIGKILL at random moments."""
    rng = random.Random(int(os.environ.get("KILL_SEED", time.time())))
    daemon = Daemon(state_dir, free_port())
    daemon.start()
    ws, _ = await connect(daemon, "setup")
    ids = [f"u-{index}" for index in range(readings)]
    for measurement_id in ids:
        reply = await command(ws, f"c-{measurement_id}", "measurement.manual", role="oximeter", value=97, unit="%",
                              operatorRef="op-kill", measurementId=measurement_id)
        assert reply["type"] == "result" and reply["data"]["binding"] == "unassigned", reply
    assert (await command(ws, "start", "session.start", sessionId="S-kill", contextRef="ref"))["type"] == "result"
    await ws.close()
    ws, welcome = await connect(daemon, "setup-done")
    await ws.close()
    newest = {"assigner": welcome["lastEventId"], "observer": welcome["lastEventId"]}
    daemon.stop()

    confirmed = set()       # assign answered with a result
    answered_bound = set()  # assign answered already_bound (committed before a kill, answer lost)
    assigned_events = {}    # event id → measurement id, as the observing client saw them
    kills_in_flight = 0

    async def assign(stop, in_flight, assigning):
        client = await connect_resuming(daemon, "assigner", newest["assigner"])
        todo = [m for m in ids if m not in confirmed and m not in answered_bound]
        rng.shuffle(todo)
        if not todo:  # everything assigned already (a very fast machine): nothing left to interrupt
            assigning.set()
        for measurement_id in todo:
            if stop.is_set():
                return
            in_flight.add(measurement_id)
            assigning.set()
            reply = await api.command(client, f"a-{measurement_id}-{time.time()}", "measurement.assign",
                                  measurementId=measurement_id, reason="same patient")
            in_flight.discard(measurement_id)
            if reply["type"] == "result":
                confirmed.add(measurement_id)
                newest["assigner"] = max(newest["assigner"], reply["data"]["eventId"])
            else:
                assert reply["code"] == "already_bound", reply
                answered_bound.add(measurement_id)
            await asyncio.sleep(rng.uniform(0, 0.002))

    async def observe(stop, drain=False):
        # Resumes after the newest event it handled: with ids deduplicated, it sees every event exactly once.
        client = await connect_resuming(daemon, "observer", newest["observer"])
        while True:
            try:
                message = await recv(client, timeout=1.0 if drain else 0.2)
            except asyncio.TimeoutError:
                if drain or stop.is_set():
                    return
                continue
            if message["type"] == "event":
                assert message["id"] > newest["observer"], "an event replayed after the client's resume point"
                newest["observer"] = message["id"]
                if message["event"] == "measurement.assigned":
                    previous = assigned_events.setdefault(message["id"], message["data"]["measurementId"])
                    assert previous == message["data"]["measurementId"], "one event id, two measurements"
                await client.send(json.dumps({"type": "ack", "upTo": message["id"]}))

    for _ in range(cycles):
        daemon.start()
        stop = asyncio.Event()
        in_flight = set()
        assigning = asyncio.Event()
        tasks = [asyncio.create_task(assign(stop, in_flight, assigning)), asyncio.create_task(observe(stop))]
        # The kill lands at a random moment once assignments are under way (however slow the machine is).
        waiting = asyncio.create_task(assigning.wait())
        await asyncio.wait([waiting, tasks[0]], timeout=20, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if tasks[0].done():
            tasks[0].result()  # the assigner failed before assigning anything: show why
        await asyncio.sleep(rng.uniform(0, 0.35))
        if in_flight:
            kills_in_flight += 1
        daemon.kill9()
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, 5)
            except (ConnectionClosed, InvalidHandshake, OSError, asyncio.TimeoutError):  # killed mid-handshake too
                pass
    # Restart without a kill: the observer catches up; what is still unassigned stays so.
    daemon.start()
    await observe(asyncio.Event(), drain=True)
    ws, _ = await connect(daemon, "checker")
    pending = await command(ws, "pending", "measurements.pending")
    unassigned = {m["measurement"]["id"] for m in pending["data"]["measurements"] if m["binding"] == "unassigned"}
    await ws.close()
    daemon.stop()

    with database(state_dir) as db:
        rows = {row[0]: row[1:] for row in db.execute(
            "SELECT id, binding, session_id, binding_reason FROM measurements WHERE id LIKE 'u-%'")}
        audit_rows = {}
        for (measurement_id,) in db.execute("SELECT measurement_id FROM audit WHERE action = 'assign'"):
            audit_rows[measurement_id] = audit_rows.get(measurement_id, 0) + 1
    assert set(rows) == set(ids), f"lost readings: {sorted(set(ids) - set(rows))[:5]}"
    events_per_reading = {}
    for measurement_id in assigned_events.values():
        events_per_reading[measurement_id] = events_per_reading.get(measurement_id, 0) + 1
    assigned = set()
    for measurement_id, (binding, session_id, reason) in rows.items():
        if binding == "session":
            assigned.add(measurement_id)
            assert session_id == "S-kill" and reason == "assignedExplicitly", (measurement_id, session_id, reason)
            assert events_per_reading.get(measurement_id) == 1, (measurement_id, events_per_reading.get(measurement_id))
            assert audit_rows.get(measurement_id) == 1, (measurement_id, audit_rows.get(measurement_id))
        else:
            assert binding == "unassigned" and session_id is None, (measurement_id, binding, session_id)
            assert reason == "noActiveSession", (measurement_id, reason)
            assert measurement_id not in events_per_reading and measurement_id not in audit_rows, measurement_id
    # measurements.pending lists at most 200 readings.
    still = set(ids) - assigned
    assert unassigned <= still and len(unassigned) == min(200, len(still)), "the pending list disagrees"
    assert confirmed <= assigned, f"confirmed but not assigned: {sorted(confirmed - assigned)[:5]}"
    assert answered_bound <= assigned
    assert assigned, "no assignment happened"
    assert kills_in_flight > 0, "no kill landed while an assignment was in flight"
    ok(f"kill -9 x{cycles} during assignments ({kills_in_flight} with an assign in flight): {len(assigned)} assigned "
       f"(1 event, 1 audit row each; {len(confirmed)} confirmed, {len(answered_bound)} answered already_bound after "
       f"a lost reply), {len(still)} still unassigned, 0 lost, 0 duplicated, 0 half-assigned")


async def main():
    with tempfile.TemporaryDirectory(prefix="boothd-safety-") as state_dir:
        daemon = Daemon(state_dir, free_port(), extra=SIMULATOR)
        daemon.start()
        try:
            readiness_event = await test_readiness(daemon)
            test_boothctl_check(daemon)
            cuff_id, discarded_id = await test_cuff_slot_and_binding(daemon)
            await test_manual_entry(daemon)
        finally:
            daemon.stop()
        check_audit_and_events(state_dir, readiness_event, cuff_id, discarded_id)
    with tempfile.TemporaryDirectory(prefix="boothd-safety-kill-") as state_dir:
        await kill_during_assignments(state_dir)
    print(f"safety e2e: all passed ({api.validated} server messages validated against the JSON Schema)")


asyncio.run(main())
