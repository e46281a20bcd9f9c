#!/usr/bin/env bash
# Builds Tix's Debian packages from the workspace's binaries and the plain files in
# packaging/debian/, with dpkg-deb alone (no packaging tool to install):
#
#   scripts/package.sh [--bin-dir DIR] [--out DIR] [--no-strip]
#
#   tix-node        /usr/bin/tix-node, tix-node.service, /etc/tix/node.env (conffile), the
#                   Mosquitto example config under /usr/share/doc/tix-node/examples/mosquitto/
#   tix-hub         /usr/bin/tix-hub, tix-hub.service, /etc/tix/hub.env (conffile)
#   tix-box-office  /usr/bin/tix-box-office, its .desktop entry and icon
#
# --bin-dir DIR (or TIX_PACKAGE_BIN_DIR): take tix-node, tix-hub and tix-box-office from DIR
#     instead of running `cargo build --release --locked` (the tests pass target/debug).
# --out DIR: where the .deb files go; ${CARGO_TARGET_DIR:-target}/debian by default.
# --no-strip: ship the binaries as built. By default their debug info is stripped, as Debian's
#     packages are (the symbol table stays, so a panic's backtrace still names functions).
#
# Version: [workspace.package] version of Cargo.toml. Architecture: dpkg --print-architecture.
# Depends: dpkg-shlibdeps (dpkg-dev) on each binary when it is there, else the packages that own
# the libraries each binary names (readelf, ldd, dpkg -S).
set -euo pipefail
umask 022

usage() { sed -n '2,17s/^# \{0,1\}//p' "$0"; }

bin_dir=${TIX_PACKAGE_BIN_DIR:-}
out_dir=""
strip_binaries=1
while [ $# -gt 0 ]; do
  case "$1" in
  --bin-dir) bin_dir=${2:?--bin-dir needs a directory}; shift 2 ;;
  --out) out_dir=${2:?--out needs a directory}; shift 2 ;;
  --no-strip) strip_binaries=0; shift ;;
  -h | --help) usage; exit 0 ;;
  *) echo "package.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
# Paths given are the caller's; from here on the script works from the workspace's root.
[ -z "$bin_dir" ] || bin_dir=$(realpath -m "$bin_dir")
[ -z "$out_dir" ] || out_dir=$(realpath -m "$out_dir")
cd "$(dirname "$0")/.."
out_dir=${out_dir:-${CARGO_TARGET_DIR:-target}/debian}

for tool in dpkg dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "package.sh: $tool is missing (Debian's dpkg)" >&2; exit 1; }
done
if [ "$strip_binaries" = 1 ] && ! command -v strip >/dev/null; then
  echo "package.sh: strip is missing (Debian's binutils); or pass --no-strip" >&2
  exit 1
fi

if [ -z "$bin_dir" ]; then
  echo "== cargo build --release (tix-node, tix-hub, tix-box-office)"
  cargo build --release --locked -p tix-node -p tix-hub -p tix-desktop
  bin_dir=${CARGO_TARGET_DIR:-target}/release
fi
for bin in tix-node tix-hub tix-box-office; do
  [ -x "$bin_dir/$bin" ] || { echo "package.sh: no executable $bin_dir/$bin" >&2; exit 1; }
done

version=$(awk '/^\[workspace\.package\]/ { in_section = 1; next }
               /^\[/ { in_section = 0 }
               in_section && $1 == "version" { gsub(/"/, "", $3); print $3; exit }' Cargo.toml)
[ -n "$version" ] || { echo "package.sh: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
arch=$(dpkg --print-architecture)
maintainer="Tix maintainers <maintainers@users.noreply.b-seed-1979efed.example>"
src=packaging/debian

# Each package is staged in $work/debian/<package>/, beside a minimal $work/debian/control: the
# layout dpkg-shlibdeps expects. Next to the output, not in /tmp: unstripped binaries are large.
mkdir -p "$out_dir"
work=$(mktemp -d "$out_dir/staging.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debian"
cat >"$work/debian/control" <<'EOF'
Source: tix

Package: tix-node
Architecture: any

Package: tix-hub
Architecture: any

Package: tix-box-office
Architecture: any
EOF

# put MODE SOURCE PACKAGE DEST: installs one file into the package's tree.
put() {
  install -D -m "$1" "$2" "$work/debian/$3$4"
}

# put_binary PACKAGE NAME: /usr/bin/NAME from the binaries' directory, stripped unless --no-strip.
put_binary() {
  local dest="$work/debian/$1/usr/bin/$2"
  install -D -m 0755 "$bin_dir/$2" "$dest"
  if [ "$strip_binaries" = 1 ]; then
    strip --strip-debug "$dest"
  fi
}

# put_docs PACKAGE: copyright and the packaging README, in /usr/share/doc/PACKAGE/.
put_docs() {
  put 0644 "$src/copyright" "$1" "/usr/share/doc/$1/copyright"
  put 0644 packaging/README.md "$1" "/usr/share/doc/$1/README.md"
}

# depends PACKAGE: the shared libraries' packages of the package's binaries, as a Depends list.
depends() {
  local binaries=("$work/debian/$1"/usr/bin/*)
  if command -v dpkg-shlibdeps >/dev/null; then
    # One -e<binary> argument per binary.
    (cd "$work" && dpkg-shlibdeps -O "${binaries[@]/#/-e}") | sed -n 's/^shlibs:Depends=//p'
    return
  fi
  # Without dpkg-dev: the packages owning the libraries the binaries name (NEEDED; not the
  # libraries' own, those packages depend on them), found where ldd resolves them. Unversioned.
  local needed
  needed=$(readelf -d "${binaries[@]}" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | sort -u)
  ldd "${binaries[@]}" |
    awk -v needed="$needed" 'BEGIN { split(needed, names, "\n"); for (i in names) direct[names[i]] = 1 }
                             $2 == "=>" && ($1 in direct) && $3 ~ /^\// { print $3 }' | sort -u |
    while read -r lib; do
      dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null || true
    done | cut -d: -f1 | sort -u | paste -sd, - | sed 's/,/, /g'
}

# build PACKAGE: DEBIAN/control from control.in, md5sums, maintainer scripts, then the .deb.
build() {
  local package=$1 root="$work/debian/$1"
  local deps size
  install -d -m 0755 "$root/DEBIAN"
  deps=$(depends "$package")
  [ -n "$deps" ] || { echo "package.sh: found no library dependencies for $package" >&2; exit 1; }
  size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$size|" -e "s|@DEPENDS@|$deps|" \
    "$src/$package/control.in" >"$root/DEBIAN/control"
  for script in preinst postinst prerm postrm; do
    if [ -f "$src/$package/$script" ]; then
      install -m 0755 "$src/$package/$script" "$root/DEBIAN/$script"
    fi
  done
  # Every file under /etc is a conffile: dpkg keeps an admin's edits on upgrade and on remove.
  if [ -d "$root/etc" ]; then
    (cd "$root" && find etc -type f -printf '/%p\n' | sort) >"$root/DEBIAN/conffiles"
  fi
  # dpkg --verify reads these; conffiles have their own sums in dpkg's database.
  (cd "$root" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z |
    xargs -0 md5sum) >"$root/DEBIAN/md5sums"
  local deb="$out_dir/${package}_${version}_${arch}.deb"
  dpkg-deb --build --root-owner-group "$root" "$deb"
}

echo "== staging tix-node, tix-hub and tix-box-office $version ($arch) from $bin_dir"

put_binary tix-node tix-node
put 0644 "$src/tix-node/tix-node.service" tix-node /lib/systemd/system/tix-node.service
put 0644 "$src/tix-node/node.env" tix-node /etc/tix/node.env
put_docs tix-node
for file in mosquitto.conf acl README.md; do
  put 0644 "packaging/mosquitto/$file" tix-node "/usr/share/doc/tix-node/examples/mosquitto/$file"
done

put_binary tix-hub tix-hub
put 0644 "$src/tix-hub/tix-hub.service" tix-hub /lib/systemd/system/tix-hub.service
put 0644 "$src/tix-hub/hub.env" tix-hub /etc/tix/hub.env
put_docs tix-hub

put_binary tix-box-office tix-box-office
put 0644 "$src/tix-box-office/tix-box-office.desktop" tix-box-office \
  /usr/share/applications/tix-box-office.desktop
put 0644 desktop/icons/icon.png tix-box-office /usr/share/icons/hicolor/128x128/apps/tix-box-office.png
put 0644 "$src/copyright" tix-box-office /usr/share/doc/tix-box-office/copyright

# Side by side: most of the time is dpkg-deb's xz compression, one core each.
pids=()
for package in tix-node tix-hub tix-box-office; do
  build "$package" &
  pids+=("$!")
done
for pid in "${pids[@]}"; do
  wait "$pid"
done
ls -l "$out_dir"/*_"${version}"_"${arch}".deb
