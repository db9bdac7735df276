#!/usr/bin/env bash
# The whole study: the `paper` preset's sweep (training and the evaluation grid), then the report.
# Resumable: run it again with the same --out and finished runs are skipped, interrupted ones resumed.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: run_all.sh [--backend sim|sc2] [--out DIR] [--workers N] [--smoke | --preset NAME|FILE]
                  [--launcher local|ray] [--address ADDR]

  --backend   sim (built-in simulator) or sc2 (StarCraft II) [default: $BACKEND, else sim]
  --out       output folder: runs in DIR/runs, the report in DIR/report [default: $OUT_DIR, else runs/study]
  --workers   runs trained at once [default: $WORKERS, else the number of cores on sim and 1 on sc2,
              where each run starts env.batch_envs games]
  --smoke     the `smoke` preset instead of `paper`: every method and attack, minutes on the simulator
  --preset    another preset, by name or YAML file (e.g. a copy of paper.yaml with train.device: cuda)
  --launcher  local (processes on this machine) or ray (a Ray cluster, see README) [default: local]
  --address   Ray cluster address, with --launcher ray [default: a Ray instance on this machine]
EOF
}

backend="${BACKEND:-sim}"
out="${OUT_DIR:-runs/study}"
workers="${WORKERS:-}"
preset=paper
launcher=local
address=""

while [ "$#" -gt 0 ]; do
  case "$1" in
    --backend | --out | --workers | --preset | --launcher | --address)
      if [ "$#" -lt 2 ]; then
        echo "run_all.sh: $1 needs a value" >&2
        exit 2
      fi
      case "$1" in
        --backend) backend="$2" ;;
        --out) out="$2" ;;
        --workers) workers="$2" ;;
        --preset) preset="$2" ;;
        --launcher) launcher="$2" ;;
        --address) address="$2" ;;
      esac
      shift 2
      ;;
    --smoke) preset=smoke; shift ;;
    -h | --help) usage; exit 0 ;;
    *)
      echo "run_all.sh: unknown argument '$1'" >&2
      usage >&2
      exit 2
      ;;
  esac
done

case "$backend" in
  sim | sc2) ;;
  *) echo "run_all.sh: --backend must be sim or sc2, got '$backend'" >&2; exit 2 ;;
esac
if [ -z "$workers" ]; then
  if [ "$backend" = sim ]; then workers="$(nproc 2>/dev/null || echo 1)"; else workers=1; fi
fi

# The project's virtual environment (the README's install command) if there is one, else the installed
# command (the Docker image has it on PATH).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -x "$here/.venv/bin/robust-qmix" ]; then
  rq="$here/.venv/bin/robust-qmix"
elif command -v robust-qmix >/dev/null 2>&1; then
  rq="$(command -v robust-qmix)"
else
  echo "run_all.sh: robust-qmix is not installed; from the repository root run:" >&2
  echo "  python3 -m venv .venv && .venv/bin/pip install -e ." >&2
  exit 1
fi

sweep=("$rq" sweep --preset "$preset" --out "$out/runs" --backend "$backend" --workers "$workers" --launcher "$launcher")
if [ -n "$address" ]; then sweep+=(--address "$address"); fi

echo "== study: preset $preset, backend $backend, $workers worker(s), output $out"
"${sweep[@]}"
"$rq" report "$out/runs" --plan "$preset" --out "$out/report"  # --plan: the report says what is missing
echo "== done: $out/report/report.html"
