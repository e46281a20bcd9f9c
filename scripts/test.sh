#!/usr/bin/env bash
# Runs every check and test of the workspace, installing what a fresh Debian machine lacks.
#
#   scripts/test.sh
#
# Steps: system packages (C compiler for ring), the pinned Rust toolchain, rustfmt check,
# clippy with warnings denied, then `cargo test --workspace` (unit, property and integration
# tests; the integration tests start real tix-node, tix-hub and mosquitto processes on loopback
# ports; the storefront's browser tests drive Debian's headless Chromium through chromedriver and
# check accessibility with axe-core from the npm registry; the box office's window test runs the
# real Tauri app under Xvfb through tauri-driver and Debian's WebKitWebDriver), then schemathesis
# (PyPI, in a venv) against the node's OpenAPI document on a real node (scripts/api-fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
  # Another apt may hold the archive briefly; one retry covers it.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" ||
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}"
}

if command -v dpkg >/dev/null 2>&1; then
  # mosquitto: the sync tests start their own broker (Debian's) on a free loopback port.
  # postgresql: the hub's tests on PostgreSQL start their own server (a cluster of their own, made
  # by initdb in a temporary directory) on a free loopback port.
  # nats-server, apache2-utils: the chain's tests start a three-node NATS cluster from
  # packaging/nats/, whose accounts packaging/nats/add-venue makes (bcrypt through htpasswd).
  # chromium, chromium-driver: the storefront's tests run in a real headless browser.
  # poppler-utils: pdftotext reads the passes' PDF back in the tests.
  # dpkg-dev (dpkg-shlibdeps), systemd (systemd-analyze verify): the Debian packages' test builds,
  # checks and installs them (its setpriv and useradd come with util-linux and passwd, always there).
  # podman, runc, netavark, aardvark-dns: the container tests build the images and run the compose
  # chain (runc: crun cannot start containers in some sandboxes; netavark and aardvark-dns: the
  # chain's network, where services find each other by name; iptables: netavark sets that network
  # up with it, and a fresh Debian has none).
  # The rest: Tauri 2's build libraries (webkit2gtk 4.1, GTK 3, libsoup 3, ...) for the box
  # office, and Xvfb + WebKitWebDriver to drive its real window in the tests.
  apt_install build-essential pkg-config ca-certificates curl mosquitto mosquitto-clients postgresql \
    nats-server apache2-utils \
    chromium chromium-driver \
    libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev librsvg2-dev libssl-dev file \
    xvfb xauth webkit2gtk-driver fonts-dejavu-core python3 python3-venv poppler-utils \
    dpkg-dev systemd \
    podman runc netavark aardvark-dns iptables
fi

log "axe-core (accessibility checks in the browser tests)"
TIX_AXE_JS=$(scripts/fetch-axe.sh)
export TIX_AXE_JS
echo "$TIX_AXE_JS"

log "podman-compose and kubernetes-validate (the container tests)"
TIX_CONTAINER_TOOLS=$(scripts/container-tools.sh)
export TIX_CONTAINER_TOOLS
echo "$TIX_CONTAINER_TOOLS"

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    log "installing rustup (the toolchain itself is pinned by rust-toolchain.toml)"
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain none
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

log "toolchain"
rustup show active-toolchain 2>/dev/null || true
cargo --version

# tauri-driver (the WebDriver front for Tauri apps) is a cargo tool; about 2 minutes to build once.
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$PATH:$cargo_bin"
if ! command -v tauri-driver >/dev/null 2>&1; then
  log "installing tauri-driver"
  cargo install --locked tauri-driver --version '^2'
fi
TIX_TAURI_DRIVER=$(command -v tauri-driver)
export TIX_TAURI_DRIVER

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo clippy -D warnings: the LAN-only box office (no node inside)"
cargo clippy -p tix-desktop --lib --tests --no-default-features --features custom-protocol --locked -- -D warnings

log "cargo test"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$results"
status=${PIPESTATUS[0]}
# The LAN-only box office build has its own code path for "standalone" (refused plainly).
if [ "$status" -eq 0 ]; then
  cargo test -p tix-desktop --lib --no-default-features --features custom-protocol --locked 2>&1 | tee -a "$results"
  status=${PIPESTATUS[0]}
fi
# The JSON API against its own OpenAPI document: schemathesis (PyPI) on a real node.
if [ "$status" -eq 0 ]; then
  log "schemathesis: every operation of /api/openapi.json on a real node"
  scripts/api-fuzz.sh "${CARGO_TARGET_DIR:-target}/debug/tix-node" 2>&1 | tee -a "$results"
  status=${PIPESTATUS[0]}
fi
set -e
# One closing line for the whole workspace: cargo prints one result line per test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\nworkspace: %d passed, %d failed\n", p, f }' "$results"
exit "$status"
