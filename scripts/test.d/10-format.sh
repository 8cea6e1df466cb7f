#!/usr/bin/env bash
# Formatting is part of the build: unformatted code fails CI.
set -euo pipefail
swift format lint --strict --recursive --parallel Sources Tests Package.swift
echo "format: clean"
