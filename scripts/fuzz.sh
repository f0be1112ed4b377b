#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer target for FUZZ_SECONDS (default 60) each, on a copy
# of its committed corpus, and reports crashes. New interesting inputs stay in the copy
# (build/fuzz/work/<target>); promote the useful ones into fuzz/corpus/ by hand.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
status=0
for name in "$@"; do
	bin=build/fuzz/bin/$name
	work=build/fuzz/work/$name
	mkdir -p "$work" build/fuzz/crashes
	cp -n fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
	echo "== $name (${secs}s)"
	if "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=build/fuzz/crashes/"$name"- \
		"$work" >build/fuzz/"$name".log 2>&1; then
		grep -E 'stat::number_of_executed_units|stat::new_units_added' build/fuzz/"$name".log | sed 's/^/  /'
	else
		echo "  CRASH: see build/fuzz/$name.log and build/fuzz/crashes/"
		tail -30 build/fuzz/"$name".log
		status=1
	fi
done
exit $status
