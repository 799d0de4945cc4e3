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
mkdir -p "$tmp/src/profile"
# Hand-written files live beside the generated ones; copy everything so they are compared too.
cp -r core/src/command core/src/checkin core/src/ddm "$tmp/src/"
cp -r core/src/profile/payloads "$tmp/src/profile/"
python3 tools/gen_schema.py "$schema" "$tmp/src" >/dev/null
status=0
for dir in command checkin ddm profile/payloads; do
  if ! diff -r "core/src/$dir" "$tmp/src/$dir" >/dev/null; then
    echo "check-generated: core/src/$dir is out of date; run: python3 tools/gen_schema.py $schema" >&2
    diff -r "core/src/$dir" "$tmp/src/$dir" | head -20 >&2 || true
    status=1
  fi
done
[ "$status" = 0 ] || exit 1
echo "check-generated: generated code matches Apple's schema"
