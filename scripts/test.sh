#!/usr/bin/env bash
# Runs the whole test suite (see README.md). Safe to run on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
. scripts/h2load.sh
cargo test --workspace --all-targets
cargo test --workspace --doc
