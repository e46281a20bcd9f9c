#!/usr/bin/env bash
# Fetches axe-core (the accessibility checker the storefront's browser tests run) from the npm
# registry once, checks it against the registry's published SHA-1, and prints the path of
# axe.min.js. Needs curl and tar.
set -euo pipefail

version=4.14.1
sha1=14d8a6f3f085afd126b8b5ca1e42e50e17fb1d99
dir="${TIX_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tix}/axe-core-$version"
script="$dir/axe.min.js"

if [[ ! -s "$script" ]]; then
    mkdir -p "$dir"
    tarball="$dir/axe-core.tgz"
    curl -fsSL --retry 3 -o "$tarball" "https://registry.npmjs.org/axe-core/-/axe-core-$version.tgz"
    echo "$sha1  $tarball" | sha1sum -c --quiet -
    tar -xzf "$tarball" -C "$dir" --strip-components=1 package/axe.min.js
    rm -f "$tarball"
fi
echo "$script"
