#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the default lethe study.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
exec ./build/lethe run "$@"
