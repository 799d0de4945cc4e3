#!/usr/bin/env bash
# Checks that the committed generated code matches what tools/gen_schema.py makes from
# Apple's schema (../shared/reference/apple-device-management beside the project, or
# $MDMKIT_SCHEMA). Skips with a message when the schema is not there.
set -euo pipefail
cd "$(dirname "$0")/.."
schema=${MDMKIT_SCHEMA:-../shared/reference/apple-device-management}
if [ ! -d "$schema" ]; then
  echo "check-generated: no schema at $schema; skipped"
  exit 0
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src"
cp -r core/src/command core/src/checkin "$tmp/src/"
python3 tools/gen_schema.py "$schema" "$tmp/src" >/dev/null
if ! diff -r core/src/command "$tmp/src/command" >/dev/null || ! diff -r core/src/checkin "$tmp/src/checkin" >/dev/null; then
  echo "check-generated: generated code is out of date; run: python3 tools/gen_schema.py $schema" >&2
  diff -r core/src/command "$tmp/src/command" | head -20 >&2 || true
  exit 1
fi
echo "check-generated: generated code matches Apple's schema"
