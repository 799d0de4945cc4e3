#!/usr/bin/env bash
# Builds MdmKitFFI.xcframework (bindings/swift/MdmKitFFI.xcframework, which Package.swift's
# binary target names) from the mdmkit-swift static library for macOS (arm64 + x86_64),
# iOS devices (arm64) and the iOS simulator (arm64 + x86_64), with the committed C header
# and modulemap. Runs on a Mac only (Xcode's xcodebuild and lipo); it was NOT run where this
# package was written (Linux, no Swift compiler), see docs/swift.md.
#
#   rustup target add aarch64-apple-darwin x86_64-apple-darwin aarch64-apple-ios \
#       aarch64-apple-ios-sim x86_64-apple-ios
#   bash bindings/swift/scripts/build-xcframework.sh
#   swift build --package-path bindings/swift && swift test --package-path bindings/swift
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
if [ "$(uname -s)" != Darwin ]; then
    echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo)" >&2
    exit 1
fi
target_dir=${CARGO_TARGET_DIR:-$root/target}
targets=(aarch64-apple-darwin x86_64-apple-darwin aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
for target in "${targets[@]}"; do
    cargo build --release -p mdmkit-swift --lib --target "$target"
done
lib=libmdmkit_swift.a
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/macos" "$work/ios-sim"
lipo -create "$target_dir/aarch64-apple-darwin/release/$lib" \
    "$target_dir/x86_64-apple-darwin/release/$lib" -output "$work/macos/$lib"
lipo -create "$target_dir/aarch64-apple-ios-sim/release/$lib" \
    "$target_dir/x86_64-apple-ios/release/$lib" -output "$work/ios-sim/$lib"
headers=bindings/swift/ffi
out=bindings/swift/MdmKitFFI.xcframework
rm -rf "$out"
xcodebuild -create-xcframework \
    -library "$work/macos/$lib" -headers "$headers" \
    -library "$target_dir/aarch64-apple-ios/release/$lib" -headers "$headers" \
    -library "$work/ios-sim/$lib" -headers "$headers" \
    -output "$out"
echo "built $out"
