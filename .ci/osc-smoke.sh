#!/usr/bin/env bash
# Smoke test with a real client: the OpenStack CLI with osc-placement
# (Debian python3-openstackclient + python3-osc-placement) against
# cmd/placement-api on an in-memory store. Skips (exit 0) when the packages
# cannot be installed; exits non-zero when a command fails or answers wrong.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v openstack >/dev/null || ! /usr/bin/python3 -c 'import osc_placement' 2>/dev/null; then
	echo "installing python3-openstackclient python3-osc-placement"
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get install -y -qq python3-openstackclient python3-osc-placement >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq python3-openstackclient python3-osc-placement >/dev/null; }; }; then
		echo "osc smoke: the OpenStack CLI with osc-placement cannot be installed here, skipping"
		exit 0
	fi
fi

work=$(mktemp -d /tmp/placement-osc.XXXXXX)
cleanup() {
	if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/placement-api" ./cmd/placement-api
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/placement-api" --listen "127.0.0.1:$port" --database memory --log-level warn >"$work/server.log" 2>&1 &
echo $! >"$work/pid"
for i in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done

# noauth2: the "admin_token" auth plugin sends X-Auth-Token: admin to the
# given endpoint.
export OS_AUTH_TYPE=admin_token OS_TOKEN=admin OS_ENDPOINT="http://127.0.0.1:$port" OS_PLACEMENT_API_VERSION=1.39
passed=0
failed=0
check() { # check NAME EXPECTED-SUBSTRING COMMAND...
	local name=$1 want=$2
	shift 2
	local out
	if out=$(timeout 120 openstack "$@" 2>&1) && [[ "$out" == *"$want"* ]]; then
		echo "ok   $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name: openstack $*"
		echo "$out" | sed 's/^/     /' | tail -20
		failed=$((failed + 1))
	fi
	LAST=$out
}

consumer=6f1c2a3e-5b4d-4c6e-8f7a-9b0c1d2e3f40
check "resource provider create" "cn1" resource provider create cn1 -f value -c name
check "resource provider list" "cn1" resource provider list -f value -c uuid -c name
rp=$(timeout 60 openstack resource provider list -f value -c uuid --name cn1)
check "resource provider inventory set" "262144" resource provider inventory set "$rp" \
	--resource VCPU=64 --resource VCPU:allocation_ratio=4.0 \
	--resource MEMORY_MB=262144 --resource MEMORY_MB:reserved=2048 --resource DISK_GB=4000 -f value
check "resource provider inventory list" "4.0" resource provider inventory list "$rp" -f value
check "trait create" "" trait create CUSTOM_SMOKE
check "resource provider trait set" "CUSTOM_SMOKE" resource provider trait set "$rp" --trait CUSTOM_SMOKE -f value
check "allocation candidate list" "DISK_GB=40,MEMORY_MB=4096,VCPU=2" allocation candidate list \
	--resource VCPU=2 --resource MEMORY_MB=4096 --resource DISK_GB=40 --required CUSTOM_SMOKE -f value
check "resource provider allocation set" "$rp" resource provider allocation set "$consumer" \
	--allocation "rp=$rp,VCPU=2,MEMORY_MB=4096" --project-id proj --user-id user --consumer-type INSTANCE -f value
check "resource provider usage show" "VCPU 2" resource provider usage show "$rp" -f value
check "resource usage show" "'MEMORY_MB': 4096" resource usage show proj -f value
check "resource provider allocation delete" "" resource provider allocation delete "$consumer"
check "resource provider delete" "" resource provider delete "$rp"

echo "osc smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
