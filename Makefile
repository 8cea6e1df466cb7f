SHELL := /bin/bash
.PHONY: run test build install clean bench bench-fast faults soak soak-ble

# Installs what is missing, builds, and starts boothd on the simulator (Ctrl-C stops it).
run:
	scripts/bootstrap
	scripts/release-build --product boothd
	scripts/release-build --product boothctl
	scripts/run-simulator

# The whole test suite (what CI runs).
test:
	scripts/test

# Installs boothd system-wide (binaries, systemd unit, sysusers, udev rules, profiles, kiosk page); as root.
install:
	scripts/install

build:
	swift build

# Every benchmark, one JSON file per run under .build/bench-results/ (compare: scripts/bench/all.sh compare latest previous).
bench:
	scripts/bench/all.sh

bench-fast:
	scripts/bench/all.sh --fast

# The fast fault suite plus the in-process Swift fault tests; docs/reliability.md lists the rest.
faults:
	scripts/faults/all.sh --swift

# A compressed 24 h booth day on the simulator (MINUTES=10 by default).
soak:
	scripts/soak/run.sh --minutes $${MINUTES:-10}

# A BLE device power-cycled against real bluetoothd in the lab VM (CYCLES=500 by default, ~30-45 min).
soak-ble:
	BLE_CYCLES=$${CYCLES:-500} scripts/faults/ble-power-cycle.sh

clean:
	rm -rf .build
