#!/usr/bin/env bash
# Fault suite, fast part (about 1.5 min): outbox.sqlite corrupted while stopped and while running; SIGHUP every
# 50 ms under load; graceful stop leaves the databases checkpointed; 500 power cycles per device and clock jumps,
# run alone so that fds/threads/RSS mean something.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-$(swift build --show-bin-path)} timeout 400 scripts/faults/all.sh --swift
