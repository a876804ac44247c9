#!/usr/bin/env bash
# The main job: installs dependencies, builds, and runs the default lethe study (`lethe run`).
# Until lethe's own base model is shipped under models/lethe-base (see docs/base_model.md), `lethe run`
# has no model to start from: the script then says so and runs a generation with the fixture model.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
if [ -f models/lethe-base/config.json ] || [ $# -gt 0 ]; then
  exec ./build/lethe run "$@"
fi
echo "run.sh: models/lethe-base is not shipped yet (docs/base_model.md makes it); running a generation" \
     "with the fixture model ../shared/fixtures/qwen2-tiny instead" >&2
exec ./build/lethe generate ../shared/fixtures/qwen2-tiny --prompt-ids 1,2,3,4,5 --max-new-tokens 12
