#!/usr/bin/env bash
# Builds the box office as a venue would install it (the `dist` profile: LTO, size-leaning, stripped)
# in both variants, and prints their sizes: with a node inside (standalone-capable, the default)
# and LAN-only (--no-default-features). Part of the box office benchmark; takes many minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
size() { stat -c %s "$1" | awk '{ printf "%.1f MB", $1 / 1e6 }'; }

cargo build --locked --profile dist -p tix-desktop
cp "$target/dist/tix-box-office" "$target/dist/tix-box-office-standalone"
cargo build --locked --profile dist -p tix-desktop --no-default-features --features custom-protocol
echo "tix-box-office (dist, with a node inside): $(size "$target/dist/tix-box-office-standalone")"
echo "tix-box-office (dist, LAN-only):           $(size "$target/dist/tix-box-office")"
