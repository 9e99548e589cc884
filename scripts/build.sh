#!/bin/sh
# Builds vmk into build/ (release-ish, -Werror) or, with "asan", into
# build-asan/ with AddressSanitizer and UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
asan)
	dir=build-asan
	[ -d $dir ] || meson setup $dir -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug >/dev/null
	;;
*)
	dir=build
	[ -d $dir ] || meson setup $dir -Dwerror=true >/dev/null
	;;
esac
ninja -C $dir >/dev/null || ninja -C $dir
echo "$dir"
