"""BLE device power cycles against real bluetoothd, inside the lab guest (issue #9: "device power-cycling 500
times, no fd, memory or D-Bus match growth").

boothd (ble.adapter=hci1, ble.connect=matching) reads one simulated device (peripheral.py on hci0). Each cycle:
SIGUSR1 to the device (its controller powered off for LAB_OFF_S, advertising again after), then wait until boothd
has reconnected and a reading the device sent after it came back has reached the WebSocket client. Every phase is
timed from the device's log (CLOCK_MONOTONIC, the same clock as here) and the device states boothd pushes:
  off      SIGUSR1 -> the device says "switched on" (its controller off and on again)
  lost     SIGUSR1 -> boothd shows the device not ready (gone/error/connecting): it saw the link go
  connect  switched on -> boothd shows the device ready again (scan/advert, connect, service resolution, reads)
  reading  ready -> first reading sent after "switched on" arrives on the WebSocket
Every BLE_SAMPLE_EVERY cycles (default 25) and at the end, once the device is read again: boothd's fds, RSS,
threads, match rules as dbus-daemon counts them (Debug.Stats GetConnectionStats), and the /metrics gauges
boothd_ble_dbus_signal_subscriptions (GLib GDBus signal subscriptions), _notification_streams, _event_listeners.
Prints a table, the growth per 100 cycles (least squares over the samples after the first) and a verdict; writes
OUT/ble-power-cycles.json.

Environment: LAB_DEVICES name=ADDRESS=PID=LOG (one device), BLE_CYCLES (default 500), BLE_SAMPLE_EVERY,
BLE_SOAK_SECONDS (stop cycling after this long and report the cycles reached; default none), BLE_SOAK_SETTINGS
(extra boothd --set pairs, comma-separated key=value), BLE_CYCLE_TIMEOUT (s per cycle, default 60).
usage: ble_power_cycles.py ROOT BUILD_DIR OUT_DIR
"""

import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT, BUILD_DIR, OUT = sys.argv[1:4]
sys.path.insert(0, os.path.join(ROOT, "scripts/lib"))
from boothd_harness import Boothd, EventFollower  # noqa: E402

NAME, ADDRESS, PERIPHERAL_PID, PERIPHERAL_LOG = os.environ["LAB_DEVICES"].split(",")[0].split("=")
PERIPHERAL_PID = int(PERIPHERAL_PID)
DEVICE_ID = f"ble:{ADDRESS}"
LIVE_UUID = {"plx": "2a5f", "hts": "2a1c"}  # devices that send readings on their own while subscribed
CYCLES = int(os.environ.get("BLE_CYCLES", "500"))
SAMPLE_EVERY = int(os.environ.get("BLE_SAMPLE_EVERY", "25"))
SOAK_SECONDS = float(os.environ.get("BLE_SOAK_SECONDS", "0") or 0)
CYCLE_TIMEOUT = float(os.environ.get("BLE_CYCLE_TIMEOUT", "60"))
WARMUP = int(os.environ.get("BLE_WARMUP_CYCLES", "100"))
EXTRA = dict(pair.split("=", 1) for pair in os.environ.get("BLE_SOAK_SETTINGS", "").split(",") if "=" in pair)
POLL = 0.05


class PeripheralLog:
    """The device's log, read incrementally: `<monotonic> [periph] <what>` lines."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = ""
        self.switched_on = []  # monotonic times
        self.sent = {}  # hex -> last monotonic time sent (live readings only)

    def poll(self):
        with open(self.path, errors="replace") as f:
            f.seek(self.offset)
            data = f.read()
            self.offset = f.tell()
        lines = (self.partial + data).split("\n")
        self.partial = lines.pop()
        for line in lines:
            parts = line.split(maxsplit=2)
            if len(parts) != 3 or parts[1] != "[periph]":
                continue
            when, what = float(parts[0]), parts[2]
            if what.startswith("switched on"):
                self.switched_on.append(when)
            elif what.startswith("sent " + LIVE_UUID.get(NAME, "????") + " "):
                self.sent[what.split()[2]] = when


def dbus_call(method, *args):
    """dbus-send's reply text; "" when it did not answer in time (the guest is slow under a loaded host)."""
    for _ in range(3):
        try:
            return subprocess.run(["dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus",
                                   "/org/freedesktop/DBus", method, *args], capture_output=True, text=True,
                                  timeout=30).stdout
        except subprocess.TimeoutExpired:
            continue
    return ""


def bus_name_of(pid):
    names = re.findall(r'string "(:[0-9.]+)"', dbus_call("org.freedesktop.DBus.ListNames"))
    for name in names:
        reply = dbus_call("org.freedesktop.DBus.GetConnectionUnixProcessID", f"string:{name}")
        if re.search(rf"uint32 {pid}\b", reply):
            return name
    return None


def match_rules(bus_name):
    """boothd's match rules as dbus-daemon counts them (Debug.Stats); None when the bus does not offer it."""
    if not bus_name:
        return None
    reply = dbus_call("org.freedesktop.DBus.Debug.Stats.GetConnectionStats", f"string:{bus_name}")
    found = re.search(r'"MatchRules"\s+variant\s+uint32 (\d+)', reply)
    return int(found.group(1)) if found else None


def gauges(daemon):
    try:
        _, body = daemon.http("/metrics", timeout=30)
    except OSError:
        return {}
    found = {}
    for line in body.decode().splitlines():
        for key in ("dbus_signal_subscriptions", "notification_streams", "event_listeners"):
            if line.startswith(f"boothd_ble_{key} ") or line.startswith(f"boothd_ble_{key}{{"):
                found[key] = float(line.rsplit(" ", 1)[1])
    return found


METRICS = ("fds", "rss_mib", "anon_mib", "threads", "match_rules", "dbus_signal_subscriptions", "notification_streams",
           "event_listeners")


BUS_NAME = {}  # boothd's unique bus name, looked up again while unknown


async def sample(daemon, bus_name, cycle):
    # The gauges are refreshed every 2 s inside boothd: wait for a fresh value after the reconnect.
    await asyncio.sleep(2.2)
    if not BUS_NAME.get("name"):
        BUS_NAME["name"] = bus_name or bus_name_of(daemon.process.pid)
    figures = {"cycle": cycle, "t": round(time.monotonic(), 1), "fds": daemon.fds(),
               "rss_mib": round(daemon.rss_mib(), 2), "anon_mib": round(daemon.status_kib("RssAnon") / 1024, 2),
               "threads": daemon.threads(),
               "match_rules": match_rules(BUS_NAME["name"])}
    figures.update(gauges(daemon))
    return figures


def slope_per_100(points):
    """Least-squares growth per 100 cycles of (cycle, value) points; None with fewer than two."""
    points = [(x, y) for x, y in points if y is not None]
    if len(points) < 2 or len({x for x, _ in points}) < 2:
        return None
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return round(100 * sxy / sxx, 3)


def percentiles(values):
    if not values:
        return None
    ordered = sorted(values)
    return {"p50": round(ordered[len(ordered) // 2], 2), "p95": round(ordered[min(len(ordered) - 1,
                                                                                 int(len(ordered) * 0.95))], 2),
            "max": round(ordered[-1], 2), "min": round(ordered[0], 2)}


async def until(watcher, predicate, timeout, log, what=None):
    """watcher.wait_for, reading the device's log before each look (every POLL s)."""
    def fresh():
        log.poll()
        return predicate()
    return await watcher.wait_for(fresh, timeout, what=what, interval=POLL)


def state(watcher):
    return watcher.state().get("state")


async def cycle_once(watcher, log):
    """One power cycle; returns (phases dict, failure or None)."""
    ons = len(log.switched_on)
    states_before = len(watcher.statuses)
    readings_before = len(watcher.measurements)  # the ones before this cycle are not looked at again
    t0 = time.monotonic()
    os.kill(PERIPHERAL_PID, signal.SIGUSR1)
    if not await until(watcher, lambda: len(log.switched_on) > ons, 30, log):
        return {}, "the device did not switch on again within 30 s"
    on = log.switched_on[-1]
    phases = {"off": on - t0}

    def lost_at():
        return next((t for t, s in watcher.statuses[states_before:] if s["state"] != "ready"), None)

    def ready_at():
        lost = lost_at()
        return next((t for t, s in watcher.statuses[states_before:]
                     if s["state"] == "ready" and lost is not None and t > lost), None)

    def delivered_at():
        fresh = {value for value, when in log.sent.items() if when > on}
        return next((t for t, m, _ in watcher.measurements[readings_before:]
                     if t > on and bytes(m["raw"]).hex() in fresh), None)

    ok = await until(watcher, lambda: delivered_at() is not None and ready_at() is not None, CYCLE_TIMEOUT, log)
    lost, ready, delivered = lost_at(), ready_at(), delivered_at()
    if lost is not None:
        phases["lost"] = lost - t0
    if ready is not None:
        phases["connect"] = ready - on
    if delivered is not None and ready is not None:
        phases["reading"] = delivered - ready
    phases["total"] = time.monotonic() - t0
    if not ok:
        what = ("boothd never showed the device leaving" if lost is None else
                "boothd did not show the device ready again" if ready is None else
                "no reading sent after the switch-on reached the WebSocket")
        return phases, f"{what} within {CYCLE_TIMEOUT:.0f} s (state now {state(watcher)})"
    return phases, None


async def main():
    state_dir = tempfile.mkdtemp(prefix="boothd-ble-cycles-")
    settings = {"ble.adapter": "hci1", "ble.connect": "matching",
                "profiles.directories": f"{ROOT}/firmware-profiles"}
    settings.update(EXTRA)
    daemon = Boothd(os.path.join(BUILD_DIR, "boothd"), state_dir=state_dir, settings=settings)
    watcher = None
    log = PeripheralLog(PERIPHERAL_LOG)
    samples, cycles, failures = [], [], []
    result = {"device": NAME, "address": ADDRESS, "cycles_asked": CYCLES, "settings": EXTRA,
              "off_seconds": float(os.environ.get("LAB_OFF_S", os.environ.get("BLE_OFF_S", "1")))}
    verdict_ok = False
    try:
        daemon.start(timeout=90)
        watcher = await EventFollower.open(daemon.ws_url, daemon.token, "ble-power-cycles", devices={DEVICE_ID})
        started = time.monotonic()
        first = await until(watcher, lambda: state(watcher) == "ready" and watcher.measurements, 120, log,
                            what="the device ready and read once")
        print(f"ble power cycles: first reading {time.monotonic() - started:.1f} s after boothd started "
              f"(device {state(watcher)})", flush=True)
        if not first:
            raise SystemExit("ble power cycles: the device was never read; nothing to cycle")
        bus_name = bus_name_of(daemon.process.pid)
        samples.append(await sample(daemon, bus_name, 0))
        header = f"{'cycle':>6} {'min':>6} " + " ".join(f"{k:>9}" for k in
                                                       ("fds", "rss_mib", "anon_mib", "threads", "matches",
                                                        "gdbus_sub",
                                                        "streams", "listeners"))
        print(header, flush=True)

        def show(s):
            print(f"{s['cycle']:>6} {(s['t'] - samples[0]['t']) / 60:>6.1f} "
                  + " ".join(f"{str(s.get(k)):>9}" for k in METRICS), flush=True)
        show(samples[0])
        soak_started = time.monotonic()
        consecutive = 0
        while len(cycles) < CYCLES:
            if SOAK_SECONDS and time.monotonic() - soak_started > SOAK_SECONDS:
                print(f"ble power cycles: time budget {SOAK_SECONDS:.0f} s reached after {len(cycles)} cycles",
                      flush=True)
                break
            phases, failure = await cycle_once(watcher, log)
            number = len(cycles) + len(failures) + 1
            if failure:
                failures.append({"cycle": number, "failure": failure, "phases": phases, "at": time.monotonic()})
                print(f"  cycle {number}: FAILED: {failure}; phases {phases}", flush=True)
                consecutive += 1
                if consecutive >= 3:
                    print("ble power cycles: 3 failed cycles in a row; stopping", flush=True)
                    break
                continue
            consecutive = 0
            cycles.append(phases)
            if len(cycles) % SAMPLE_EVERY == 0 or len(cycles) == CYCLES:
                recent = cycles[-SAMPLE_EVERY:]
                samples.append(await sample(daemon, bus_name, len(cycles)))
                show(samples[-1])
                print("         last %d cycles: %s" % (len(recent), ", ".join(
                    f"{k} p50 {statistics.median(c[k] for c in recent if k in c):.2f} s"
                    for k in ("off", "lost", "connect", "reading", "total") if any(k in c for c in recent))),
                    flush=True)
        elapsed = time.monotonic() - soak_started
        if samples[-1]["cycle"] != len(cycles):
            samples.append(await sample(daemon, bus_name, len(cycles)))
            show(samples[-1])
        # A connection being set up or a scrape in flight holds an fd for a moment: the last sample's fds is the
        # fewest of three looks a few seconds apart (a leak stays in every one).
        for _ in range(2):
            await asyncio.sleep(2)
            samples[-1]["fds"] = min(samples[-1]["fds"], daemon.fds())

        # Growth. Counts (fds, match rules, subscriptions, streams, listeners, threads): the first sample (right
        # after the first connection) is the baseline, and any rise at the end is growth. RSS: after a warm-up
        # (WARMUP cycles: SQLite's page cache and malloc arenas fill while the outbox grows by ~2 readings/s),
        # least-squares slope per 100 cycles and the rise from the first warm sample to the last.
        warm = [s for s in samples if s["cycle"] >= WARMUP] if len(cycles) > 2 * WARMUP else samples[1:]
        warm = warm if len(warm) >= 2 else samples
        growth = {k: slope_per_100([(s["cycle"], s.get(k)) for s in warm]) for k in METRICS}
        first_s, last_s = samples[0], samples[-1]
        grew = [k for k in ("fds", "match_rules", "dbus_signal_subscriptions", "notification_streams",
                            "event_listeners")
                if first_s.get(k) is not None and last_s.get(k) is not None and last_s[k] > first_s[k]]
        # Threads come and go with the runtime's pools (14-16 seen in one run): only a trend counts.
        if growth["threads"] is not None and len(warm) >= 4 and growth["threads"] >= 1:
            grew.append("threads")
        rss_growth = last_s["rss_mib"] - warm[0]["rss_mib"]
        rss_ok = rss_growth < 4 and (growth["rss_mib"] is None or growth["rss_mib"] < 1.0 or len(warm) < 4)
        phase_stats = {k: percentiles([c[k] for c in cycles if k in c]) for k in ("off", "lost", "connect",
                                                                                 "reading", "total")}
        verdict_ok = bool(cycles) and not failures and not grew and rss_ok and len(cycles) == CYCLES
        print(f"figure: {len(cycles)} power cycles of {NAME} in {elapsed:.0f} s "
              f"({elapsed / max(len(cycles), 1):.2f} s each), {len(failures)} failed", flush=True)
        for k, v in phase_stats.items():
            if v:
                print(f"  phase {k:8} p50 {v['p50']:6.2f} s  p95 {v['p95']:6.2f} s  max {v['max']:6.2f} s",
                      flush=True)
        print(f"  growth per 100 cycles (least squares over the {len(warm)} samples from cycle "
              f"{warm[0]['cycle']}): " + ", ".join(f"{k} {growth[k]:+}" for k in METRICS if growth[k] is not None),
              flush=True)
        print("  first -> last: " + ", ".join(f"{k} {first_s.get(k)} -> {last_s.get(k)}" for k in METRICS),
              flush=True)
        verdict = ("PASS: no growth" if verdict_ok else
                   "FAIL: " + "; ".join(filter(None, [
                       f"{len(failures)} cycle(s) did not reconnect" if failures else "",
                       f"grew: {', '.join(grew)}" if grew else "",
                       f"RSS +{rss_growth:.2f} MiB" if not rss_ok else "",
                       f"only {len(cycles)} of {CYCLES} cycles" if len(cycles) < CYCLES else ""])))
        print(f"verdict: {verdict}", flush=True)
        result.update({"cycles": len(cycles), "failed_cycles": failures, "seconds": round(elapsed, 1),
                       "seconds_per_cycle": round(elapsed / max(len(cycles), 1), 2), "phases": phase_stats,
                       "samples": samples, "growth_per_100_cycles": growth, "grew": grew,
                       "rss_growth_mib": round(rss_growth, 2), "warm_from_cycle": warm[0]["cycle"], "verdict": verdict,
                       "per_cycle": [{k: round(v, 3) for k, v in c.items()} for c in cycles]})
    finally:
        try:
            if watcher is not None:
                await watcher.close()
        except Exception:  # noqa: BLE001 - the figures matter more than a clean close
            pass
        daemon.stop()
        shutil.copy(daemon.log_path, os.path.join(OUT, "boothd-power-cycles.log"))
        with open(os.path.join(OUT, "ble-power-cycles.json"), "w") as f:
            json.dump(result, f, indent=1)
        if not verdict_ok:
            print("--- boothd log (tail)")
            print("".join(open(daemon.log_path, errors="replace").readlines()[-40:]))
    sys.exit(0 if verdict_ok else 1)


asyncio.run(main())
