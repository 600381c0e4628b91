#!/usr/bin/env bash
# Conformance: run OpenStack Placement's own gabbi files (../shared/conformance)
# against cmd/placement-api, restarting it on a fresh empty database before
# each file. Skips (exit 0) when ../shared is absent; exits non-zero when any
# gabbi test fails. Ends with the runner's "N passed, N failed" line.
#
#   bash .ci/gabbi.sh [FILE.yaml ...]
#
# Environment: GABBI_DB=memory (default) or sqlite (a temporary file per run).
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED=../shared/conformance
if [ ! -d "$SHARED/gabbits" ] || [ ! -f "$SHARED/run-gabbits.sh" ]; then
	echo "gabbi conformance: $SHARED is absent, skipping"
	exit 0
fi

if ! /usr/bin/python3 -c 'import gabbi' 2>/dev/null; then
	echo "installing python3-gabbi"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq python3-gabbi >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq python3-gabbi >/dev/null; }
fi

work=$(mktemp -d /tmp/placement-gabbi.XXXXXX)
cleanup() {
	if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/placement-api" ./cmd/placement-api
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db=${GABBI_DB:-memory}

# RESET_CMD: stop the server (if any) and start it on an empty database.
cat >"$work/reset.sh" <<EOF
#!/usr/bin/env bash
if [ -f "$work/pid" ]; then
	kill "\$(cat "$work/pid")" 2>/dev/null || true
	for i in \$(seq 1 50); do kill -0 "\$(cat "$work/pid")" 2>/dev/null || break; sleep 0.05; done
fi
database=memory
if [ "$db" = sqlite ]; then rm -f "$work"/db.sqlite*; database="$work/db.sqlite"; fi
"$work/placement-api" --listen 127.0.0.1:$port --database "\$database" --log-level warn >>"$work/server.log" 2>&1 &
echo \$! >"$work/pid"
for i in \$(seq 1 200); do
	curl -fs -o /dev/null http://127.0.0.1:$port/ && exit 0
	sleep 0.05
done
echo "placement-api did not start"; tail -20 "$work/server.log"; exit 1
EOF
chmod +x "$work/reset.sh"

mkdir -p "$work/logs"
status=0
RESET_CMD="$work/reset.sh" GABBI_LOG_DIR="$work/logs" \
	bash "$SHARED/run-gabbits.sh" "http://127.0.0.1:$port" "$SHARED/gabbits" "$@" || status=$?
if [ "$status" != 0 ]; then
	echo
	echo "--- failure details"
	grep -h -A 3 '^FAIL\|^ERROR' "$work"/logs/*.log 2>/dev/null | grep -v '^--$' | head -200 || true
	echo "--- server log (last 50 lines)"
	tail -50 "$work/server.log" || true
fi
exit "$status"
