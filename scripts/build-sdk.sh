#!/bin/sh
# Builds the browser SDK: sdk/src/dropfix.js -> sdk/dist/dropfix.js (the unversioned, always
# latest file) and sdk/dist/v<version>/dropfix.js (the released, immutable file; version from
# sdk/package.json). Minified by esbuild, pinned in the root package.json/package-lock.json.
# A released file is never rewritten: if sdk/dist/v<version>/ exists with other bytes the build
# fails and the version in sdk/package.json must be bumped. Prints the gzipped size and fails
# above 8 KB (8192 bytes, gzip -9).
#   scripts/build-sdk.sh           write sdk/dist/
#   scripts/build-sdk.sh --check   build into a temporary directory and compare with sdk/dist/
set -eu
cd "$(dirname "$0")/.."
mode=${1:-write}
esbuild=node_modules/.bin/esbuild
[ -x "$esbuild" ] || { echo "build-sdk: $esbuild missing (run npm ci)" >&2; exit 1; }
version=$(node -p 'require("./sdk/package.json").version')
case $version in
'' | *[!0-9.]* ) echo "build-sdk: bad version '$version' in sdk/package.json" >&2; exit 1 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$esbuild" sdk/src/dropfix.js --minify --target=es2017 --legal-comments=inline --log-level=warning \
	"--define:__DROPFIX_VERSION__=\"$version\"" --outfile="$tmp/dropfix.js"
gz=$(gzip -9 -n -c "$tmp/dropfix.js" | wc -c)
raw=$(wc -c <"$tmp/dropfix.js")
echo "sdk: dropfix.js v$version: $raw bytes minified, $gz bytes gzipped (limit 8192)"
[ "$gz" -le 8192 ] || { echo "build-sdk: gzipped size $gz exceeds 8192 bytes" >&2; exit 1; }
released=sdk/dist/v$version/dropfix.js
if [ -f "$released" ] && ! cmp -s "$released" "$tmp/dropfix.js"; then
	echo "build-sdk: $released is released and differs from this build; bump sdk/package.json version" >&2
	exit 1
fi
if [ "$mode" = --check ]; then
	for f in sdk/dist/dropfix.js "$released"; do
		cmp -s "$f" "$tmp/dropfix.js" || { echo "build-sdk: $f does not match a fresh build (run scripts/build-sdk.sh)" >&2; exit 1; }
	done
	exit 0
fi
mkdir -p "sdk/dist/v$version"
cp "$tmp/dropfix.js" sdk/dist/dropfix.js
[ -f "$released" ] || cp "$tmp/dropfix.js" "$released"
