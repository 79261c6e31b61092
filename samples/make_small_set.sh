#!/usr/bin/env bash
# Regenerate the small committed sample set (samples/set-small/) with fixed seeds.
# The counts, seeds and formats live in samples/generator.py (SMALL_SET); output is byte-identical per seed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
rm -rf samples/set-small
"$PY" -m samples.generator --small-set --out samples/set-small "$@"
du -sh samples/set-small
