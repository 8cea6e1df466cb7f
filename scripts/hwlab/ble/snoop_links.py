#!/usr/bin/env python3
"""Lists the LE links in a btmon capture (`LAB_BTMON=1` in multi-lab.sh writes $HWLAB_OUT/btmon.snoop): each LE
Connection Complete and Disconnection Complete with its controller and handle, then the ACL packets sent and
received per controller and handle. This is how the btvirt 5.66 handle bug was seen (docs/ble.md): a device's
controller told handle 43 while its emulator side used 42, and no ACL packet coming back on 43. (btmon -r itself
crashed on these captures.)

usage: snoop_links.py CAPTURE
"""
import collections
import struct
import sys

data = open(sys.argv[1], "rb").read()
if data[:8] != b"btsnoop\0":
    sys.exit(f"{sys.argv[1]}: not a btsnoop file")
position, first, acl = 16, None, collections.Counter()
while position + 24 <= len(data):
    _, length, flags, _, stamp = struct.unpack(">IIIIq", data[position:position + 24])
    packet = data[position + 24:position + 24 + length]
    position += 24 + length
    first = stamp if first is None else first
    seconds = (stamp - first) / 1e6
    index, opcode = flags >> 16, flags & 0xFFFF  # monitor format: 3 event, 4 ACL to the controller, 5 ACL from it
    if opcode == 3 and len(packet) >= 14 and packet[0] == 0x3E and packet[2] in (0x01, 0x0A):
        peer = ":".join(f"{b:02X}" for b in reversed(packet[8:14]))
        role = "central" if packet[6] == 0 else "peripheral"
        print(f"{seconds:8.3f} hci{index} LE connection complete: status {packet[3]}, handle "
              f"{packet[4] | packet[5] << 8}, {role}, peer {peer}")
    elif opcode == 3 and len(packet) >= 6 and packet[0] == 0x05:
        print(f"{seconds:8.3f} hci{index} disconnection complete: handle {packet[3] | packet[4] << 8}, "
              f"reason {packet[5]:#04x}")
    elif opcode in (4, 5) and len(packet) >= 2:
        acl[(index, "sent" if opcode == 4 else "received", (packet[0] | packet[1] << 8) & 0x0FFF)] += 1
for (index, direction, handle), count in sorted(acl.items()):
    print(f"hci{index} ACL {direction} on handle {handle}: {count}")
