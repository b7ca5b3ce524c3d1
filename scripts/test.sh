#!/usr/bin/env bash
# Runs Cesar's whole test suite: installs missing Debian packages (idempotent),
# builds with warnings as errors, then runs every unit and integration test
# through CTest. Extra arguments go to ctest (e.g. -L unit, -R wer).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCESAR_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
