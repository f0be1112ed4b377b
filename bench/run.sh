#!/usr/bin/env bash
# DropFix benchmarks on this machine (`make bench` builds build/dropfix, then runs this).
# Prints a results table and writes bench/out/results.json (+ a timestamped copy).
#
# Usage: bench/run.sh [--list] [NAME...]     no NAME: every registered benchmark
# Benchmarks live in bench/*.sh (one `bench_<name>` function each, registered with
# bench_register; helpers in bench/lib.sh). Add a file to add a benchmark.
#
# Environment:
#   DROPFIX_BENCH_BIN       binary to measure (default build/dropfix)
#   DROPFIX_BENCH_DURATION  seconds per wrk run (default 10)
#   DROPFIX_BENCH_ROUNDS    wrk rounds per server, alternating order, medians (default 3)
#   DROPFIX_BENCH_STARTS    cold starts to take the median of (default 5)
#   DROPFIX_BENCH_KEEP=1    keep the temp directory (logs, raw wrk output)
#   DROPFIX_BENCH_SYNC      ingest: SQLite synchronous for dropfix and the Node reference,
#                           FULL (default) or NORMAL (DROPFIX_SQLITE_SYNCHRONOUS)
set -uo pipefail
cd "$(dirname "$0")/.."

BENCH_BIN=${DROPFIX_BENCH_BIN:-build/dropfix}
BENCH_DURATION=${DROPFIX_BENCH_DURATION:-10}
BENCH_ROUNDS=${DROPFIX_BENCH_ROUNDS:-3}
BENCH_STARTS=${DROPFIX_BENCH_STARTS:-5}
BENCH_WRK_THREADS=2
BENCH_WRK_CONNS=64
BENCH_OUT=bench/out

for v in BENCH_DURATION BENCH_ROUNDS BENCH_STARTS; do
	case ${!v} in
	'' | *[!0-9]* | 0) echo "bench: DROPFIX_${v} must be a positive integer" >&2; exit 2 ;;
	esac
done

# shellcheck source=bench/lib.sh
. bench/lib.sh
for f in bench/*.sh; do
	case $f in bench/run.sh | bench/lib.sh) continue ;; esac
	# shellcheck source=/dev/null
	. "$f"
done

if [ "${1:-}" = --list ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
	echo "usage: bench/run.sh [NAME...]"
	for n in "${BENCH_NAMES[@]}"; do printf '  %-10s %s\n' "$n" "${BENCH_DESC[$n]}"; done
	exit 0
fi

selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${BENCH_NAMES[@]}")
for n in "${selected[@]}"; do
	if [ -z "${BENCH_DESC[$n]+x}" ]; then
		echo "bench: unknown benchmark '$n' (bench/run.sh --list)" >&2
		exit 2
	fi
done

[ -x "$BENCH_BIN" ] || { echo "bench: $BENCH_BIN not built (make build/dropfix)" >&2; exit 2; }
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
	scripts/install-deps.sh || exit 2
fi

BENCH_TMP=$(mktemp -d /tmp/dropfix-bench.XXXXXX)
BENCH_RESULTS_TSV="$BENCH_TMP/results.tsv"
: >"$BENCH_RESULTS_TSV"
finish() {
	stop_all
	if [ "${DROPFIX_BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $BENCH_TMP" >&2
	else
		rm -rf "$BENCH_TMP"
	fi
}
trap finish EXIT
trap 'exit 130' INT TERM

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load_before" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
	say "load average is $load_before on $(nproc) cores: something else is running, expect noisy numbers"
fi
failed=()
for n in "${selected[@]}"; do
	say "== $n: ${BENCH_DESC[$n]}"
	if ! "bench_$n"; then
		failed+=("$n")
		say "$n FAILED"
	fi
	stop_all
done

# --- Report ----------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo "+dirty" || true)
echo
echo "DropFix benchmarks  $started  rev $rev$dirty  $(nproc) cores  ${cpu:-unknown cpu}"
echo "wrk -t$BENCH_WRK_THREADS -c$BENCH_WRK_CONNS -d${BENCH_DURATION}s --latency, $BENCH_ROUNDS round(s); binary $BENCH_BIN; load average before: $load_before"
echo
awk -F'\t' '
	BEGIN { printf "%-10s %-30s %14s %-6s %s\n", "bench", "metric", "value", "unit", "note"
	        printf "%-10s %-30s %14s %-6s %s\n", "-----", "------", "-----", "----", "----" }
	{ printf "%-10s %-30s %14s %-6s %s\n", $1, $2, $3, $4, $5 }' "$BENCH_RESULTS_TSV"
if [ ${#failed[@]} -gt 0 ]; then
	echo
	echo "FAILED: ${failed[*]}"
fi

mkdir -p "$BENCH_OUT"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json_str() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/ /g'; }
{
	printf '{\n  "started": "%s",\n  "git_rev": "%s%s",\n' "$started" "$rev" "$dirty"
	printf '  "machine": {"cores": %d, "cpu": "%s", "kernel": "%s", "load_before": %s},\n' "$(nproc)" \
		"$(json_str "${cpu:-unknown}")" "$(uname -r)" "$load_before"
	printf '  "binary": "%s",\n' "$(json_str "$BENCH_BIN")"
	printf '  "wrk": {"threads": %d, "connections": %d, "duration_s": %d, "rounds": %d},\n' \
		"$BENCH_WRK_THREADS" "$BENCH_WRK_CONNS" "$BENCH_DURATION" "$BENCH_ROUNDS"
	printf '  "failed": ['
	sep=""
	for n in "${failed[@]}"; do printf '%s"%s"' "$sep" "$n"; sep=", "; done
	printf '],\n  "results": [\n'
	awk -F'\t' '
		function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
		function num(v) { return (v ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) ? v : "null" }
		{ printf "%s    {\"bench\": %s, \"metric\": %s, \"value\": %s, \"unit\": %s, \"note\": %s}",
			(NR > 1 ? ",\n" : ""), q($1), q($2), num($3), q($4), q($5) }
		END { if (NR) printf "\n" }' "$BENCH_RESULTS_TSV"
	printf '  ]\n}\n'
} >"$BENCH_OUT/results-$stamp.json"
cp "$BENCH_OUT/results-$stamp.json" "$BENCH_OUT/results.json"
echo
echo "results: $BENCH_OUT/results.json"
[ ${#failed[@]} -eq 0 ]
