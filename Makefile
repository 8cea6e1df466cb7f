SHELL := /bin/bash
.PHONY: run test build release clean

# Installs what is missing, builds, and starts boothd on the simulator (Ctrl-C stops it).
run:
	scripts/bootstrap
	swift build -c release --product boothd
	swift build -c release --product boothctl
	scripts/run-simulator

# The whole test suite (what CI runs).
test:
	scripts/test

build:
	swift build

clean:
	rm -rf .build
