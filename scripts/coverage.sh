#!/usr/bin/env bash
# Test coverage, child processes included (pyproject.toml [tool.coverage.run] patch = subprocess):
# the CLI in subprocesses, the demo, `run exec` and crash drivers count as well as in-process code.
# Arguments go to pytest, e.g. scripts/coverage.sh tests/cli
set -euo pipefail
cd "$(dirname "$0")/.."
python -m coverage erase
python -m coverage run -m pytest -q -p no:cacheprovider "$@" || status=$?
python -m coverage combine -q
python -m coverage report
exit "${status:-0}"
