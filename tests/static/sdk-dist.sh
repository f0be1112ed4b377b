#!/usr/bin/env bash
# The committed browser SDK (sdk/dist/, ARCHITECTURE §8b "Node": make needs no Node) must be
# exactly what scripts/build-sdk.sh makes from sdk/src/dropfix.js with the pinned esbuild,
# the released sdk/dist/v<version>/dropfix.js of the current version included, and stay at
# most 8 KB gzipped (the build prints the size and fails above it).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build-sdk.sh --check
# Every released version keeps a file (the server embeds them all, mk/sdk.mk).
version=$(node -p 'require("./sdk/package.json").version')
[ -f "sdk/dist/v$version/dropfix.js" ] || { echo "sdk/dist/v$version/dropfix.js missing"; exit 1; }
for f in sdk/dist/v*/dropfix.js; do
	case $f in sdk/dist/v[0-9]*.[0-9]*.[0-9]*/dropfix.js) ;; *) echo "bad release dir: $f"; exit 1 ;; esac
done
