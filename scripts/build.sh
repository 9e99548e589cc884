#!/bin/sh
# Builds vmk into build/ (gcc, -Werror); "asan": build-asan/ with
# AddressSanitizer and UndefinedBehaviorSanitizer; "clang": build-clang/
# with clang -Werror and the libFuzzer targets.
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
asan)
	dir=build-asan
	[ -d $dir ] || meson setup $dir -Dwerror=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug >/dev/null
	;;
clang)
	# clang -Werror, with the libFuzzer targets (their seed corpora run as tests)
	dir=build-clang
	[ -d $dir ] || CC=clang meson setup $dir -Dwerror=true -Dfuzz=true >/dev/null
	;;
*)
	dir=build
	[ -d $dir ] || meson setup $dir -Dwerror=true >/dev/null
	;;
esac
ninja -C $dir >/dev/null || ninja -C $dir
echo "$dir"
