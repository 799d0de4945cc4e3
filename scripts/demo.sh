#!/usr/bin/env bash
# Runs the main demonstration (see README.md). Safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo run --quiet -p mdmkit-examples --bin demo
