#!/usr/bin/env bash
# Builds the container images of a Tix chain, each FROM scratch (nothing is pulled from a registry):
#
#   tix-node:TAG       the venue node, /usr/bin/tix-node
#   tix-hub:TAG        the hub, /usr/bin/tix-hub
#   tix-mosquitto:TAG  Debian's Mosquitto with packaging/mosquitto's config and ACL
#
#   scripts/image.sh [--bin-dir DIR] [--tag TAG] [--no-strip]
#
# --bin-dir: where tix-node and tix-hub already are (default: `cargo build --release --locked`,
# then ${CARGO_TARGET_DIR:-target}/release). --tag: the images' tag (default: latest).
# --no-strip: put the binaries in as built. By default their debug info is stripped (strip, from
# Debian's binutils), as scripts/package.sh does: a debug build's tix-node is 480 MB with it and
# about 110 MB without; the symbol table stays, so a panic's backtrace still names functions.
#
# Each image holds its binary, exactly the shared libraries `ldd` lists (at their own paths) and the
# dynamic loader, the CA certificates (/etc/ssl/certs/ca-certificates.crt, for Stripe and SMTP over
# TLS), /etc/passwd and /etc/group naming the user and group `tix` (10001), which it runs as, and
# its data directory owned by 10001 as a VOLUME. Built with `podman build` (or `buildah build`) in
# the Docker image format, the only one that keeps a HEALTHCHECK.
#
# The broker's password file is made here with the host's mosquitto_passwd (Debian's package
# `mosquitto`), in the temporary build context, for the development chain of packaging/compose.yaml:
# the hub's account `tix-hub` and the venues `venue-north` and `venue-south`, with the passwords
# TIX_HUB_MQTT_PASSWORD, TIX_NORTH_MQTT_PASSWORD and TIX_SOUTH_MQTT_PASSWORD (development defaults
# below, the same as compose.yaml's). TIX_BROKER_PASSWD=FILE puts an existing password file in the
# image instead. Outside a development chain, mount a real one over /etc/mosquitto/tix.passwd.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '8p' "$0" >&2; exit 2; }

bin_dir=""
tag="latest"
strip_binaries=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) [ $# -ge 2 ] || usage; bin_dir=$2; shift 2 ;;
    --tag) [ $# -ge 2 ] || usage; tag=$2; shift 2 ;;
    --no-strip) strip_binaries=0; shift ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done

log() { printf '== %s\n' "$*"; }

if command -v podman >/dev/null 2>&1; then
  engine=(podman build)
elif command -v buildah >/dev/null 2>&1; then
  engine=(buildah build)
else
  echo "neither podman nor buildah is installed (Debian: apt install podman)" >&2
  exit 1
fi

if [ ! -x /usr/sbin/mosquitto ] || [ ! -x /usr/bin/mosquitto_passwd ]; then
  echo "/usr/sbin/mosquitto or /usr/bin/mosquitto_passwd is missing (Debian: apt install mosquitto)" >&2
  exit 1
fi
if [ "$strip_binaries" = 1 ] && ! command -v strip >/dev/null 2>&1; then
  echo "strip is missing (Debian's binutils); or pass --no-strip" >&2
  exit 1
fi
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "$ca is missing (Debian: apt install ca-certificates)" >&2; exit 1; }

if [ -z "$bin_dir" ]; then
  log "cargo build --release --locked -p tix-node -p tix-hub"
  cargo build --release --locked -p tix-node -p tix-hub
  bin_dir="${CARGO_TARGET_DIR:-target}/release"
fi
for bin in tix-node tix-hub; do
  [ -x "$bin_dir/$bin" ] || { echo "$bin_dir/$bin is missing" >&2; exit 1; }
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# copy_file SRC ROOTFS [DEST]: SRC (symlinks followed) to ROOTFS/DEST (default: SRC's own path).
copy_file() {
  local dest="$2${3:-$1}"
  mkdir -p "$(dirname "$dest")"
  cp -L "$1" "$dest"
}

# copy_binary BIN ROOTFS DEST [strip]: the binary at DEST (its debug info stripped with `strip`
# unless --no-strip), and every library ldd lists plus the loader at their own paths. A library ldd
# cannot find fails the build.
copy_binary() {
  local bin=$1 rootfs=$2 dest=$3 deps
  deps=$(ldd "$bin") || { echo "ldd $bin failed (a static binary needs no libraries)" >&2; deps=""; }
  if grep -q "not found" <<<"$deps"; then
    echo "ldd $bin: $(grep "not found" <<<"$deps")" >&2
    exit 1
  fi
  copy_file "$bin" "$rootfs" "$dest"
  if [ "${4:-}" = strip ] && [ "$strip_binaries" = 1 ]; then
    strip --strip-debug "$rootfs$dest"
  fi
  # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)";
  # linux-vdso.so.1 is the kernel's, with no file.
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$deps" |
    sort -u | while read -r lib; do copy_file "$lib" "$rootfs"; done
}

# base ROOTFS: the files every image has besides its binary.
base() {
  local rootfs=$1
  mkdir -p "$rootfs/etc" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\ntix:x:10001:10001:Tix:/data:/sbin/nologin\n' \
    >"$rootfs/etc/passwd"
  printf 'root:x:0:\ntix:x:10001:\n' >"$rootfs/etc/group"
  # Names come from /etc/hosts (the engine's, with the other services) and DNS, both in libc.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  copy_file "$ca" "$rootfs"
}

# context NAME: a fresh build context with rootfs/ laid out and an empty data/.
context() {
  local dir="$work/$1"
  mkdir -p "$dir/rootfs" "$dir/data"
  base "$dir/rootfs"
  printf '%s\n' "$dir"
}

# build IMAGE CONTEXT: the image IMAGE:TAG from packaging/container/IMAGE.Containerfile.
build() {
  local name=$1 dir=$2
  log "$name:$tag"
  # One layer per image (--layers=false): no intermediate images to keep.
  "${engine[@]}" --format docker --layers=false --build-arg "VERSION=$version" \
    -f "packaging/container/${name#tix-}.Containerfile" -t "$name:$tag" "$dir"
}

dir=$(context node)
copy_binary "$bin_dir/tix-node" "$dir/rootfs" /usr/bin/tix-node strip
build tix-node "$dir"

dir=$(context hub)
copy_binary "$bin_dir/tix-hub" "$dir/rootfs" /usr/bin/tix-hub strip
build tix-hub "$dir"

dir=$(context mosquitto)
copy_binary /usr/sbin/mosquitto "$dir/rootfs" /usr/sbin/mosquitto
copy_binary /usr/bin/mosquitto_passwd "$dir/rootfs" /usr/bin/mosquitto_passwd
copy_file packaging/mosquitto/mosquitto.conf "$dir/rootfs" /etc/mosquitto/mosquitto.conf
copy_file packaging/mosquitto/acl "$dir/rootfs" /etc/mosquitto/tix.acl
mkdir -p "$dir/secrets"
passwd="$dir/secrets/tix.passwd"
if [ -n "${TIX_BROKER_PASSWD:-}" ]; then
  cp "$TIX_BROKER_PASSWD" "$passwd"
else
  # Development passwords: the same defaults as packaging/compose.yaml's.
  mosquitto_passwd -b -c "$passwd" tix-hub "${TIX_HUB_MQTT_PASSWORD:-dev-hub-password}"
  mosquitto_passwd -b "$passwd" venue-north "${TIX_NORTH_MQTT_PASSWORD:-dev-north-password}"
  mosquitto_passwd -b "$passwd" venue-south "${TIX_SOUTH_MQTT_PASSWORD:-dev-south-password}"
fi
chmod 0640 "$passwd"
build tix-mosquitto "$dir"

if command -v podman >/dev/null 2>&1; then
  for name in tix-node tix-hub tix-mosquitto; do
    printf '%s:%s\t%s bytes\n' "$name" "$tag" "$(podman image inspect --format '{{.Size}}' "$name:$tag")"
  done
fi
