#!/usr/bin/env bash
# The README's test command: installs the project with its test extras into .venv and runs the tests.
# Set FAST=1 to skip the learning tests marked `slow`. The tests run in TEST_WORKERS processes (default 2, one
# per core of the machines this project is built on), a test file to a process: a file's module fixtures (its
# trained runs) are then built once, and the Ray tests keep to one Ray head.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
marker=()
if [ "${FAST:-0}" = 1 ]; then marker=(-m "not slow"); fi
.venv/bin/pytest -q -n "${TEST_WORKERS:-2}" --dist loadfile "${marker[@]}" "$@"
