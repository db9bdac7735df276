#!/usr/bin/env bash
# The image's entry point: checks the output folder, prints what this container can run, then runs the
# whole study with run_all.sh. Arguments given to `docker run IMAGE ...` are passed on to run_all.sh.
set -euo pipefail

out="${OUT_DIR:-/out}"
backend="${BACKEND:-sc2}"

if ! mkdir -p "$out" 2>/dev/null || [ ! -w "$out" ]; then
  echo "error: $out is not writable by uid $(id -u); mount a writable folder, e.g." >&2
  echo "  docker run --user \"\$(id -u):\$(id -g)\" -v \"\$PWD/out:$out\" IMAGE" >&2
  exit 2
fi
if ! mountpoint -q "$out"; then
  echo "warning: $out is not a mounted volume; records and the report vanish with the container" >&2
fi

robust-qmix doctor
exec /app/run_all.sh --backend "$backend" --out "$out" "$@"
