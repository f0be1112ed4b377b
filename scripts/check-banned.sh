#!/usr/bin/env bash
# Fails when a banned C function (CONVENTIONS.md) appears in our sources.
set -u
cd "$(dirname "$0")/.."
hits=$(grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|gets|atoi|atol|gmtime|localtime)\s*\(' \
	--include='*.c' --include='*.h' src tests fuzz bench 2>/dev/null)
if [ -n "$hits" ]; then
	echo "banned functions used (see CONVENTIONS.md):"
	echo "$hits"
	exit 1
fi
echo "banned-function check: clean"
