#!/bin/sh
# Builds fuzz_virtq with clang directly (no meson) and runs it.
#
#   fuzz/run.sh [SECONDS] [extra libFuzzer options...]
#
# SECONDS defaults to 30.  The build and the working corpus go to
# build-fuzz/ at the top of the tree (BUILD_DIR overrides); the committed
# seeds in fuzz/corpus/virtq/ are read, never written.  Crash inputs land in
# the build directory as crash-*; re-run one with  BUILD_DIR/fuzz_virtq FILE.
set -eu

secs=${1:-30}
[ $# -gt 0 ] && shift

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-$root/build-fuzz}

if [ -z "${CC:-}" ]; then
	for c in clang clang-18 clang-17 clang-16 clang-15 clang-14; do
		if command -v "$c" >/dev/null 2>&1; then CC=$c; break; fi
	done
fi
if [ -z "${CC:-}" ]; then
	echo "run.sh: clang not found (set CC)" >&2
	exit 1
fi

mkdir -p "$build/corpus-virtq"
"$CC" -std=c17 -D_GNU_SOURCE -g -O1 -Wall -Wextra \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I"$root/src/lib" \
	"$root/src/lib/gmem.c" "$root/src/lib/virtq.c" "$here/fuzz_virtq.c" \
	-o "$build/fuzz_virtq"

cd "$build"
# new inputs go to the first directory; the seeds are only read
exec ./fuzz_virtq -max_total_time="$secs" -max_len=8192 -timeout=10 \
	-print_final_stats=1 "$@" corpus-virtq "$here/corpus/virtq"
