#!/usr/bin/env bash
# Installs the Debian packages DropFix builds and tests with, only when one is missing.
# Idempotent: a machine that has everything runs no apt-get at all.
# Usage: scripts/install-deps.sh [--build-only]
set -euo pipefail
cd "$(dirname "$0")/.."

build_pkgs=(build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev
	libsodium-dev libssl-dev zlib1g-dev liboath-dev libqrencode-dev libcurl4-openssl-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev postgresql-15 postgresql-client-15 nginx-light
	curl openssl wrk ca-certificates procps psmisc sqlite3 oathtool zbar-tools librsvg2-bin chromium fonts-dejavu-core
	ruby php-cli golang-go)

want=("${build_pkgs[@]}")
[ "${1:-}" = "--build-only" ] || want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install packages (run as root or: sudo apt-get install ${missing[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" != "--build-only" ]; then
	# The black-box and browser tests run on Node's own test runner.
	if ! command -v node >/dev/null; then
		echo "install-deps: Node.js >= 20 is needed for the tests (Debian 12's own nodejs is 18; install Node 20+)" >&2
		exit 1
	fi
	major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
	if [ "$major" -lt 20 ]; then
		echo "install-deps: Node.js $(node --version) found, tests need >= 20" >&2
		exit 1
	fi
	if [ -f package-lock.json ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
		npm ci --no-audit --no-fund --loglevel=error
	fi
fi
exit 0
