#!/usr/bin/env bash
# The container tests' Python tools, from PyPI in a venv under ~/.cache/tix: podman-compose (runs
# packaging/compose.yaml with podman) and kubernetes-validate (checks packaging/k8s/ against the
# Kubernetes schemas it bundles, with no network). Prints the venv's bin directory, which
# scripts/test.sh exports as TIX_CONTAINER_TOOLS for tests/containers.rs.
#
#   scripts/container-tools.sh
set -euo pipefail

venv="${XDG_CACHE_HOME:-$HOME/.cache}/tix/container-tools-venv"
if ! "$venv/bin/podman-compose" --help >/dev/null 2>&1 ||
  ! "$venv/bin/kubernetes-validate" --version >/dev/null 2>&1; then
  echo "installing podman-compose and kubernetes-validate into $venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'podman-compose==1.6.*' 'kubernetes-validate==1.37.*' >&2
fi
printf '%s\n' "$venv/bin"
