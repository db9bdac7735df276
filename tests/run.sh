#!/usr/bin/env bash
# The README's test command: installs the project with its test extras into .venv and runs the tests.
# Set FAST=1 to skip the learning tests marked `slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
marker=()
if [ "${FAST:-0}" = 1 ]; then marker=(-m "not slow"); fi
.venv/bin/pytest -q "${marker[@]}" "$@"
