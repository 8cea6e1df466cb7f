"""Security checks against the real boothd (CI step scripts/test.d/48-security.sh).

1. Bind: with boothd's default api.host, every listening socket of the process is on a loopback address
   (/proc/net/tcp{,6} matched against the process's socket inodes), and a connection to each of the
   machine's non-loopback addresses on the API port is refused.
2. No patient data in logs: a consultation is run with unique markers in every client-supplied free-text field
   that could link to the patient (session contextRef, assign/discard reasons, client id), at logging.level=trace;
   boothd's whole log must not contain any of them.
Checked elsewhere (referenced in docs/reliability.md): wrong token/origin refused (scripts/test.d/40-api-e2e.py,
test_auth and test_origin), unit sandboxing (`systemd-analyze security`, scripts/test.d/72-systemd.sh).

Usage: python checks.py BOOTHD
"""

import asyncio
import os
import secrets
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from boothd_harness import Boothd, Client, checker  # noqa: E402

BOOTHD = sys.argv[1]
check, failures = checker()


def hex_address(text, family):
    raw = bytes.fromhex(text)
    if family == socket.AF_INET:
        return socket.inet_ntop(family, raw[::-1])
    # /proc/net/tcp6: four 32-bit words, each in host (little-endian) order.
    words = b"".join(raw[index:index + 4][::-1] for index in range(0, 16, 4))
    return socket.inet_ntop(family, words)


def listening(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not os.path.exists(table):
            continue
        for line in open(table).readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                found.append((hex_address(address, family), int(port, 16)))
    return found


def host_addresses():
    output = subprocess.run(["ip", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True).stdout
    addresses = [line.split()[3].split("/")[0] for line in output.splitlines() if len(line.split()) > 3]
    if not addresses:  # no iproute2: the address the default route would use
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect(("192.0.2.1", 9))
                addresses = [probe.getsockname()[0]]
            except OSError:
                addresses = []
    return [address for address in addresses if address not in ("127.0.0.1", "::1")]


def bind_check():
    print("bind: boothd's default api.host")
    daemon = Boothd(BOOTHD, settings={"api.host": None, "simulator.mode": "on", "simulator.camera": "false"}).start()
    try:
        sockets = listening(daemon.process.pid)
        check(any(port == daemon.port for _, port in sockets), f"listening sockets found: {sockets}")
        check(all(address in ("127.0.0.1", "::1") or address.startswith("127.") for address, _ in sockets),
              "every listening socket is on loopback")
        addresses = host_addresses()
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.settimeout(2)
                try:
                    probe.connect((address, daemon.port))
                    reached = True
                except OSError:
                    reached = False
            check(not reached, f"not reachable on {address}:{daemon.port}")
        if not addresses:
            print("  (this machine has no non-loopback address to try)")
    finally:
        daemon.cleanup()


async def consultation(daemon, markers):
    client = await Client.connect(daemon, f"kiosk-{markers['client']}")
    replies = []
    replies.append(await client.command("test.record", measurementId="sec-between"))
    replies.append(await client.command("test.record", measurementId="sec-noise"))
    replies.append(await client.command("session.start", sessionId="sec-S1", contextRef=markers["context"]))
    replies.append(await client.command("test.record", measurementId="sec-during"))
    replies.append(await client.command("measurement.assign", measurementId="sec-between", reason=markers["assign"]))
    replies.append(await client.command("measurement.discard", measurementId="sec-noise", reason=markers["discard"]))
    replies.append(await client.command("session.end", sessionId="sec-S1"))
    # A malformed command carrying a marker: error paths must not echo it into the log either.
    replies.append(await client.command("session.start", sessionId="", contextRef=markers["error"]))
    await client.close()
    return replies


def log_check():
    print("logs: no patient markers, at logging.level=trace")
    token = secrets.token_hex(4)
    markers = {name: f"PATIENT-{name.upper()}-{token}" for name in ("context", "assign", "discard", "error", "client")}
    daemon = Boothd(BOOTHD, settings={"simulator.mode": "on", "simulator.camera": "false",
                                      "simulator.interval_seconds": "0.2", "api.test_commands": "true",
                                      "logging.level": "trace"}).start()
    try:
        replies = asyncio.run(consultation(daemon, markers))
        outcomes = [reply.get("code", reply["type"]) for reply in replies]
        check(outcomes == ["result"] * 7 + ["invalid_params"], f"the consultation ran: {outcomes}")
        daemon.stop()
        log = daemon.log_text()
        check(len(log.splitlines()) > 10, f"boothd logged {len(log.splitlines())} lines at trace level")
        for name, marker in markers.items():
            if name == "client":
                # The client id is an operator label, logged on connect: the positive control that this scan
                # reads the log of this very consultation.
                check(marker in log, "control: the client id (logged on connect) is found by the same scan")
                continue
            check(marker not in log, f"{name} marker absent from the log")
        # The state directory's other files (not the outbox: it stores the contextRef by design).
        for name in os.listdir(daemon.state_dir):
            if name.startswith("outbox.sqlite") or name == "boothd.log":
                continue
            path = os.path.join(daemon.state_dir, name)
            if os.path.isfile(path):
                content = open(path, "rb").read()
                check(not any(marker.encode() in content for marker in markers.values()), f"{name} has no marker")
    finally:
        daemon.cleanup()


bind_check()
log_check()
if failures:
    sys.exit(f"security checks: {len(failures)} failed")
print("security checks: passed")
