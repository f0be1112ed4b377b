#!/usr/bin/env bash
# Store insert rates vs raw sqlite3 / libpq, same run (bench/store_bench.c).
# Usage: bench/store_bench.sh [--seconds S]   (root; starts a durable PostgreSQL cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/release/libdropfix.a
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c17 -O2 -g -D_GNU_SOURCE -Isrc $(pkg-config --cflags libpq sqlite3) -o build/bench/store_bench \
	bench/store_bench.c build/release/libdropfix.a \
	$(pkg-config --libs libmicrohttpd jansson sqlite3 libpq libsodium libcrypto zlib) -lpthread -lm
export DROPFIX_TEST_TMP
DROPFIX_TEST_TMP=$(mktemp -d /tmp/dropfix-bench.XXXXXX)
chmod 755 "$DROPFIX_TEST_TMP"
export DROPFIX_BENCH_DIR="$DROPFIX_TEST_TMP"
# shellcheck source=/dev/null
. tests/lib/pg.sh
trap 'pg_stop; rm -rf "$DROPFIX_TEST_TMP"' EXIT
if ! DROPFIX_TEST_PG_DURABLE=1 pg_start; then
	echo "store_bench: no PostgreSQL cluster; measuring SQLite only" >&2
fi
build/bench/store_bench "$@"
