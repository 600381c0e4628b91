#!/usr/bin/env bash
# The gophercloud v2 integration module (its own go.mod, replace => ../):
# drives placementtest.NewServer with gophercloud's placement v1 client.
set -euo pipefail
cd "$(dirname "$0")/../integration"
go vet ./...
go test -count=1 -v ./... 2>&1 | grep -v '^=== RUN'
