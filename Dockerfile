# syntax=docker/dockerfile:1
# The whole study in a container: StarCraft II 4.10 (Blizzard's headless Linux build), SMAC's maps, and this
# project with its `sc2` extra. `docker run IMAGE` runs run_all.sh and writes the run records and the report
# to the mounted /out. Build arguments and run-time variables: README.md, "Docker (real StarCraft II)".
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- stage 1: the game and the maps, verified; only the unpacked folder leaves this stage ------------------
FROM ${PYTHON_IMAGE} AS sc2
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl unzip \
 && rm -rf /var/lib/apt/lists/*
# Empty by default: the build stops with the licence's address until it is given ACCEPT_SC2_EULA=yes.
ARG ACCEPT_SC2_EULA=""
ARG SC2_URL=https://blzdistsc2-a.akamaihd.net/Linux/SC2.4.10.zip
ARG SC2_SHA256=1052f249f30a242bf5e17cc3315324919f9689307ca6dbcdb30bb41ea3004884
# The same commit as the `smac` pin of pyproject.toml's `sc2` extra (tests/test_lint.py checks it).
ARG SMAC_COMMIT=d6aab33f76abc3849c50463a8592a84f59a5ef84
COPY docker/install_sc2.sh docker/smac_maps.sha256 /tmp/docker/
RUN ACCEPT_SC2_EULA="$ACCEPT_SC2_EULA" SC2_URL="$SC2_URL" SC2_SHA256="$SC2_SHA256" SMAC_COMMIT="$SMAC_COMMIT" \
    bash /tmp/docker/install_sc2.sh /opt/StarCraftII

# --- stage 2: the runtime ------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# git: pip installs SMAC from its repository, at the commit the `sc2` extra pins.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --shell /bin/bash bench \
 && mkdir /out && chown bench:bench /out
# Copied before the project, so that a code change does not copy the 8 GB game again.
COPY --from=sc2 --chown=bench:bench /opt/StarCraftII /opt/StarCraftII
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    SC2PATH=/opt/StarCraftII \
    BACKEND=sc2 \
    OUT_DIR=/out
WORKDIR /app
COPY pyproject.toml README.md ./
# cpu: torch's CPU-only wheel (small); cuda: PyPI's torch, which brings the CUDA libraries along (run the
# image with --gpus all). The version is the one pyproject.toml pins (hence DL3013 does not apply).
ARG TORCH_VARIANT=cpu
# hadolint ignore=DL3013
RUN python -m venv /opt/venv \
 && torch_pin="$(python -c 'import tomllib; deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; print(next(d for d in deps if d.startswith("torch==")))')" \
 && case "$TORCH_VARIANT" in \
      cpu) pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "$torch_pin" ;; \
      cuda) pip install --no-cache-dir "$torch_pin" ;; \
      *) echo "TORCH_VARIANT must be cpu or cuda, got '$TORCH_VARIANT'" >&2; exit 1 ;; \
    esac
COPY benchmark ./benchmark
# Every dependency, the `sc2` extra's included, is pinned in pyproject.toml. The build fails here unless the
# game, the study's maps and the packages are all in place.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[sc2]' && python -m benchmark.envs.sc2_install
COPY run_all.sh ./
COPY docker/entrypoint.sh ./docker/
# The numeric id of `bench`, so that hosts resolve it.
USER 1000:1000
WORKDIR /out
VOLUME ["/out"]
ENTRYPOINT ["/app/docker/entrypoint.sh"]
