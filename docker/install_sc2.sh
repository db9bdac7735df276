#!/usr/bin/env bash
# Installs StarCraft II (Linux, headless) and SMAC's maps into $1, for the Dockerfile's `sc2` stage.
#
# The game is Blizzard's official Linux package, verified against SC2_SHA256 before it is unpacked. Its
# zip password stands for acceptance of Blizzard's AI and Machine Learning License, so it is used only
# when the build was given ACCEPT_SC2_EULA=yes. The maps come from SMAC's repository at SMAC_COMMIT,
# each file verified against docker/smac_maps.sha256.
set -euo pipefail

target="${1:?usage: install_sc2.sh TARGET_DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
: "${SC2_URL:?}" "${SC2_SHA256:?}" "${SMAC_COMMIT:?}"

if [ "${ACCEPT_SC2_EULA:-}" != "yes" ]; then
  cat >&2 <<'EOF'
StarCraft II is licensed by Blizzard under its AI and Machine Learning License:
  https://blzdistsc2-a.akamaihd.net/AI_AND_MACHINE_LEARNING_LICENSE.html
Building this image downloads the game and unpacks it with the licence's acceptance password.
If you accept the licence, build again with:  docker build --build-arg ACCEPT_SC2_EULA=yes ...
EOF
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "downloading ${SC2_URL} (about 4 GB)"
curl -fsSL --retry 5 --retry-delay 10 -o "$work/sc2.zip" "$SC2_URL"
echo "${SC2_SHA256}  $work/sc2.zip" | sha256sum --check --strict -
# The archive holds one folder, StarCraftII/. The password is the licence acceptance checked above.
unzip -q -P iagreetotheeula "$work/sc2.zip" -d "$work"
rm "$work/sc2.zip"
mkdir -p "$(dirname "$target")"
mv "$work/StarCraftII" "$target"

echo "fetching SMAC maps at commit ${SMAC_COMMIT}"
curl -fsSL --retry 5 -o "$work/smac.tar.gz" "https://github.com/oxwhirl/smac/archive/${SMAC_COMMIT}.tar.gz"
tar -xzf "$work/smac.tar.gz" -C "$work"
maps="$work/smac-${SMAC_COMMIT}/smac/env/starcraft2/maps/SMAC_Maps"
(cd "$maps" && sha256sum --check --strict --quiet "$here/smac_maps.sha256")
mkdir -p "$target/Maps/SMAC_Maps"
cp "$maps"/*.SC2Map "$target/Maps/SMAC_Maps/"

# pysc2 runs the newest Versions/Base* build: there must be exactly the study's one.
builds="$(find "$target/Versions" -mindepth 1 -maxdepth 1 -name 'Base*' -printf '%f\n')"
if [ "$builds" != "Base75689" ]; then
  echo "expected only Versions/Base75689 (StarCraft II 4.10), found: ${builds//$'\n'/ }" >&2
  exit 1
fi
echo "StarCraft II 4.10 and $(find "$target/Maps/SMAC_Maps" -name '*.SC2Map' | wc -l) SMAC maps in $target"
