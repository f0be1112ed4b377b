#!/usr/bin/env bash
# README.md must document every setting: each DROPFIX_* name that `build/dropfix help
# config` prints, and each "DROPFIX_*" string literal in src/ (variables the binary reads
# outside the settings table, such as test-build hooks), needs its own row in a README
# table (`| \`NAME\` | ...`). Builds nothing: `make test` has built build/dropfix.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${DROPFIX_RELEASE_BIN:-build/dropfix}
[ -x "$bin" ] || { echo "$bin is not built (make build/dropfix)"; exit 1; }
[ -f README.md ] || { echo "README.md is missing"; exit 1; }

if ! table=$("$bin" help config); then
	echo "$bin help config failed"
	exit 1
fi
from_help=$(printf '%s\n' "$table" | grep -oE 'DROPFIX_[A-Z0-9_]+' | sort -u)
[ -n "$from_help" ] || { echo "$bin help config printed no DROPFIX_ settings"; exit 1; }
from_src=$(grep -rhoE '"DROPFIX_[A-Z0-9_]+"' src --include='*.c' --include='*.h' | tr -d '"' | sort -u)

missing=0
for name in $(printf "%s\n" $from_help $from_src | sort -u); do
	if ! grep -Fq "| \`$name\` |" README.md; then
		echo "README.md has no configuration row for $name"
		missing=$((missing + 1))
	fi
done
if [ "$missing" -gt 0 ]; then
	echo "add the missing rows to README.md: settings to the configuration table (paste \`$bin help config\`),"
	echo "variables only test builds read to the \"Test builds only\" table below it"
	exit 1
fi
echo "README documents $(printf '%s\n' $from_help $from_src | sort -u | wc -l) settings"
