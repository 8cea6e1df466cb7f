SHELL := /bin/bash
.PHONY: run test build install clean

# Installs what is missing, builds, and starts boothd on the simulator (Ctrl-C stops it).
run:
	scripts/bootstrap
	swift build -c release --product boothd
	swift build -c release --product boothctl
	scripts/run-simulator

# The whole test suite (what CI runs).
test:
	scripts/test

# Installs boothd system-wide (binaries, systemd unit, sysusers, udev rules, profiles, kiosk page); as root.
install:
	scripts/install

build:
	swift build

clean:
	rm -rf .build
