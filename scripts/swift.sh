# Sourced by scripts/test.sh (or run: `bash scripts/swift.sh`; `bash scripts/swift.sh
# --update` rewrites the committed generated files instead of diffing them). Checks the
# Swift component (bindings/swift) on a machine without a Swift compiler:
#   1. builds the cdylib (debug) and the in-workspace uniffi-bindgen (same uniffi version);
#   2. generates the Swift bindings (Swift source, C header, modulemap) and diffs them
#      against the committed ones under bindings/swift/Sources;
#   3. generates UniFFI's Python bindings of the same cdylib and runs the pytest suite
#      (bindings/swift/tests: the parity cases and every area of the surface) over them;
#   4. parses the generated Swift and examples/swift/*.swift with tree-sitter's Swift
#      grammar (no ERROR or MISSING node) and checks the example calls only what the
#      generated Swift declares.
# Its venv is .venv-swift (gitignored; separate from scripts/python.sh's .venv, so the two
# scripts never fight over one interpreter's packages). Needs python3 with venv, openssl,
# and PyPI for pytest, tree-sitter and tree-sitter-swift.
# shellcheck shell=bash
(
  set -euo pipefail
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  root=$PWD
  update=0
  [ "${1:-}" = "--update" ] && update=1
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "swift: installing python3-venv" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  [ -x .venv-swift/bin/python ] || python3 -m venv .venv-swift
  py=$root/.venv-swift/bin/python
  "$py" -m pip install -q --disable-pip-version-check \
    "pytest>=8" "tree-sitter>=0.23,<0.27" "tree-sitter-swift>=0.7,<0.8"

  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
  # Two builds, not one: built together, cargo would unify uniffi's features (the
  # generator's `cli`) into the library and rebuild everything below it.
  cargo build -q -p mdmkit-swift
  cargo build -q -p mdmkit-uniffi-bindgen
  lib=$CARGO_TARGET_DIR/debug/libmdmkit_swift.so
  [ -f "$lib" ] || lib=$CARGO_TARGET_DIR/debug/libmdmkit_swift.dylib
  bindgen=$CARGO_TARGET_DIR/debug/uniffi-bindgen
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT

  # Swift: generated, then compared with (or copied over) the committed files.
  "$bindgen" generate --library "$lib" --language swift --out-dir "$out/swift" >/dev/null
  committed=bindings/swift/Sources
  declare -A places=(
    ["MdmKit.swift"]="$committed/MdmKit/MdmKit.swift"
    ["MdmKitFFI.h"]="bindings/swift/ffi/MdmKitFFI.h"
    ["MdmKitFFI.modulemap"]="bindings/swift/ffi/module.modulemap"
  )
  for generated in "${!places[@]}"; do
    target=${places[$generated]}
    if [ "$update" = 1 ]; then
      mkdir -p "$(dirname "$target")"
      cp "$out/swift/$generated" "$target"
    elif ! diff -u "$target" "$out/swift/$generated"; then
      echo "swift: $target is stale: run bash scripts/swift.sh --update and commit" >&2
      exit 1
    fi
  done

  # Python bindings of the same cdylib: the suite that exercises the FFI surface here.
  "$bindgen" generate --library "$lib" --language python --out-dir "$out/python" >/dev/null
  cp "$lib" "$out/python/"
  PYTHONPATH=$out/python "$py" -m pytest -q -p no:cacheprovider bindings/swift/tests

  # tree-sitter: the generated Swift and the hand-written example parse; the example uses
  # only what the generated Swift declares.
  "$py" bindings/swift/tools/check_swift.py "$committed/MdmKit/MdmKit.swift" examples/swift/*.swift
)
