#!/usr/bin/env bash
# Property-based tests of the node's JSON API against its own OpenAPI document: schemathesis (from
# PyPI, in a venv under ~/.cache/tix) generates requests for every operation of
# GET /api/openapi.json and checks every answer: no 5xx, the status, content type and body as the
# document says. Bounded: a few examples per operation, a time limit for the whole run.
#
#   scripts/api-fuzz.sh [path/to/tix-node]
#
# The node runs on its embedded defaults on a free loopback port, with a staff account signed in
# (its session cookie goes with every request, so the box office's operations run past 401).
# The checks are the document's: no 5xx, and each answer's status, content type, headers and body
# as declared. (Schemathesis' other checks judge business outcomes, e.g. that a schema-valid
# sign-in succeeds, and that an undeclared method gets 405, where the contract answers 404.)
set -euo pipefail
cd "$(dirname "$0")/.."

node_bin=${1:-${CARGO_TARGET_DIR:-target}/debug/tix-node}
venv="${XDG_CACHE_HOME:-$HOME/.cache}/tix/schemathesis-venv"
if ! "$venv/bin/st" --version >/dev/null 2>&1; then
  echo "installing schemathesis into $venv"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'schemathesis==4.32.*'
fi

work=$(mktemp -d)
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$node_bin" --listen "127.0.0.1:$port" --data-dir "$work/data" --first-user-is-staff \
  >"$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null

# The first account is staff; a listed ticket and an order give the generator something to find.
cookie=$(curl -fsS -D - -o /dev/null -H 'content-type: application/json' \
  -d '{"email":"staff@fuzz.test","password":"password"}' "$base/api/users/signup" |
  sed -n 's/^set-cookie: \(session=[^;]*\).*/\1/Ip' | tr -d '\r')
[ -n "$cookie" ] || { echo "no session cookie from sign-up"; exit 1; }
curl -fsS -o /dev/null -H 'content-type: application/json' -H "cookie: $cookie" \
  -d '{"title":"Fuzz night","price":12}' "$base/api/tickets"

fuzz() {
  timeout 600 "$venv/bin/st" run "$base/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "${TIX_FUZZ_EXAMPLES:-30}" \
    --request-timeout 10 \
    --seed 20261201 \
    --no-color "$@"
}
# Signing out ends the session it is sent with, so it runs on its own, without the staff's.
status=0
fuzz --exclude-path /api/users/signout --header "cookie: $cookie" || status=$?
fuzz --include-path /api/users/signout || status=$?
if [ "$status" -ne 0 ]; then
  echo "== the node's log"
  grep -m5 -B2 -A8 "panicked" "$work/node.log" || true
  tail -n 50 "$work/node.log"
fi
exit "$status"
