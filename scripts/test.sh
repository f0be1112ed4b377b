#!/usr/bin/env bash
# Runs every test phase of `make test` and prints a per-phase timing table.
# Usage: scripts/test.sh [--only PHASE]   (phases: build static unit asan fuzz http e2e docs)
set -uo pipefail
cd "$(dirname "$0")/.."
only=""
[ "${1:-}" = "--only" ] && only="${2:-}"

export DROPFIX_TEST_TMP=$(mktemp -d /tmp/dropfix-test.XXXXXX)
chmod 755 "$DROPFIX_TEST_TMP"
passed=0
failed=0
failures=()
declare -a phase_names phase_secs

cleanup() {
	if declare -F pg_stop >/dev/null; then pg_stop; fi
	rm -rf "$DROPFIX_TEST_TMP"
}
trap cleanup EXIT

# run_case NAME CMD...: one test case; counts and reports it.
run_case() {
	local name=$1
	shift
	local log="$DROPFIX_TEST_TMP/case.log"
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		printf '  ok    %s\n' "$name"
	else
		failed=$((failed + 1))
		failures+=("$name")
		printf '  FAIL  %s\n' "$name"
		sed 's/^/        /' "$log" | tail -60
	fi
}

# phase NAME FUNC: times one phase.
phase() {
	local name=$1 fn=$2
	if [ -n "$only" ] && [ "$only" != "$name" ] && [ "$name" != build ] && [ "$name" != pg ]; then return; fi
	echo "== $name"
	local t0=$SECONDS
	$fn
	phase_names+=("$name")
	phase_secs+=($((SECONDS - t0)))
}

do_build() {
	if make -j"$(nproc)" test-build >"$DROPFIX_TEST_TMP/build.log" 2>&1; then
		passed=$((passed + 1))
		echo "  ok    build (release, test, asan, fuzz)"
	else
		cat "$DROPFIX_TEST_TMP/build.log" | tail -40
		echo "build failed"
		exit 1
	fi
}

do_static() {
	run_case banned-functions scripts/check-banned.sh
	for t in tests/static/*.sh; do
		[ -e "$t" ] && run_case "static/$(basename "$t")" bash "$t"
	done
}

run_units() {
	local dir=$1
	for t in "$dir"/unit/test_*; do
		[ -x "$t" ] || continue
		run_case "$(basename "$dir")/$(basename "$t")" "$t"
	done
}
do_unit() { run_units build/test; }
do_asan() {
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	run_units build/asan
}

do_fuzz() {
	for f in build/fuzz/bin/fuzz_*; do
		[ -x "$f" ] || continue
		local name
		name=$(basename "$f")
		local corpus="fuzz/corpus/$name"
		if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ]; then
			run_case "fuzz-replay/$name" "$f" -runs=0 "$corpus"
		else
			failed=$((failed + 1))
			failures+=("fuzz-replay/$name (no corpus)")
			echo "  FAIL  fuzz-replay/$name: fuzz/corpus/$name is empty"
		fi
	done
}

# One PostgreSQL cluster for the whole run (tests/lib/pg.sh exports its URLs).
do_pg() {
	if [ -f tests/lib/pg.sh ]; then
		# shellcheck source=/dev/null
		. tests/lib/pg.sh
		if pg_start; then
			passed=$((passed + 1))
			echo "  ok    postgresql test cluster on port ${DROPFIX_TEST_PG_PORT:-?}"
		else
			echo "  FAIL  PostgreSQL test cluster failed to start"
			failed=$((failed + 1))
			failures+=("postgresql cluster start")
		fi
	fi
}

do_http() {
	export DROPFIX_BIN="$PWD/build/asan/dropfix"
	export DROPFIX_RELEASE_BIN="$PWD/build/dropfix"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
	for t in tests/http/*.test.mjs; do
		[ -e "$t" ] || continue
		run_case "http/$(basename "$t" .test.mjs)" node --test --test-reporter=spec "$t"
	done
}

# Browser tests (tests/e2e/): playwright-core driving Debian's chromium against the plain
# test build (ASan would make every page load slow; the http phase covers ASan). One
# chromium for the phase (tests/e2e/browser-server.mjs), each file in its own contexts.
# Here a missing chromium is a failure (scripts/install-deps.sh installs it); run by hand
# without it, the tests skip with a message. Failure screenshots stay in build/e2e-artifacts/.
do_e2e() {
	export DROPFIX_BIN="$PWD/build/test/dropfix"
	export DROPFIX_E2E_REQUIRED=1
	export DROPFIX_E2E_ARTIFACTS="$PWD/build/e2e-artifacts"
	rm -rf "$DROPFIX_E2E_ARTIFACTS"
	local ws_file="$DROPFIX_TEST_TMP/e2e-browser.ws" bpid="" i
	node tests/e2e/browser-server.mjs >"$ws_file" 2>"$DROPFIX_TEST_TMP/e2e-browser.log" &
	bpid=$!
	for ((i = 0; i < 300; i++)); do
		grep -q '^ws://' "$ws_file" 2>/dev/null && break
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q '^ws://' "$ws_file" 2>/dev/null; then
		export DROPFIX_E2E_WS_ENDPOINT=$(head -1 "$ws_file")
	else
		# Each file then launches its own chromium and reports why it cannot.
		echo "  note  shared chromium did not start: $(tail -1 "$DROPFIX_TEST_TMP/e2e-browser.log")"
		unset DROPFIX_E2E_WS_ENDPOINT
	fi
	for t in tests/e2e/*.test.mjs; do
		[ -e "$t" ] || continue
		run_case "e2e/$(basename "$t" .test.mjs)" timeout -k 10 300 node --test --test-reporter=spec "$t"
	done
	kill "$bpid" 2>/dev/null
	wait "$bpid" 2>/dev/null
	unset DROPFIX_E2E_WS_ENDPOINT
}

do_docs() {
	for t in tests/docs/*.sh; do
		[ -e "$t" ] && run_case "docs/$(basename "$t")" bash "$t"
	done
}

phase build do_build
phase static do_static
phase pg do_pg
phase unit do_unit
phase asan do_asan
phase fuzz do_fuzz
phase http do_http
phase e2e do_e2e
phase docs do_docs

echo
echo "phase     seconds"
total=0
for i in "${!phase_names[@]}"; do
	printf '%-9s %7d\n' "${phase_names[$i]}" "${phase_secs[$i]}"
	total=$((total + phase_secs[i]))
done
printf '%-9s %7d\n' total "$total"
echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
