#!/bin/sh
# Builds a libFuzzer target with clang directly (no meson) and runs it.
#
#   fuzz/run.sh [TARGET] [SECONDS] [extra libFuzzer options...]
#
# TARGET is virtq (the default, so `fuzz/run.sh 60` still fuzzes the
# virtqueue library), kernel (ELF/PVH and bzImage parsers), virtio_blk
# (virtio-blk on the virtio-mmio transport), virtio_net (virtio-net on
# it, with a socketpair for the TAP) or vmxfile (.vmx files) or
# vhost_user (the vhost-user back end).  SECONDS defaults to 30.
# The build and the working corpus go to build-fuzz/ at the top of the
# tree (BUILD_DIR overrides); the committed seeds in fuzz/corpus/TARGET/
# are read, never written.  Crash inputs land in the build directory as
# crash-*; re-run one with  BUILD_DIR/fuzz_TARGET FILE.
set -eu

target=virtq
case "${1:-}" in
virtq|kernel|virtio_blk|virtio_net|vmxfile|vhost_user) target=$1; shift ;;
esac
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

lib=$root/src/lib
vmm=$root/src/vmm
extra_ld=
support=$root/tests/support
case $target in
virtq)
	srcs="$lib/gmem.c $lib/virtq.c"
	max_len=20480
	;;
kernel)
	srcs="$lib/gmem.c $lib/log.c $vmm/boot/elf.c $vmm/boot/bzimage.c $vmm/boot/pvh.c $vmm/x86/e820.c"
	max_len=65536
	;;
virtio_blk)
	srcs="$support/fake_vm.c $support/virtq_driver.c $support/virtio_fuzz.c $lib/gmem.c $lib/log.c $lib/virtq.c $vmm/bus.c $vmm/devices/virtio/mmio.c $vmm/devices/virtio/blk.c"
	extra_ld="-Wl,--wrap=preadv -Wl,--wrap=pwritev -lpthread"
	max_len=4096
	;;
virtio_net)
	# net.c itself is #included by the target
	srcs="$support/fake_vm.c $support/virtq_driver.c $support/virtio_fuzz.c $lib/gmem.c $lib/log.c $lib/virtq.c $vmm/bus.c $vmm/devices/virtio/mmio.c"
	extra_ld="-Wl,--wrap=readv -Wl,--wrap=writev -Wl,--wrap=gmem_ptr -Wl,--wrap=virtio_mmio_pop -lpthread"
	max_len=4096
	;;
vhost_user)
	srcs="$lib/gmem.c $lib/virtq.c $lib/vhost_user.c $lib/vhost_user_backend.c"
	max_len=8192
	;;
vmxfile)
	srcs="$lib/vmxfile.c $lib/vmxfile_config.c $lib/vmmac.c"
	max_len=16384
	;;
esac

mkdir -p "$build/corpus-$target"
# shellcheck disable=SC2086  # word splitting of the source lists is wanted
"$CC" -std=c17 -D_GNU_SOURCE -fno-strict-aliasing -g -O1 -Wall -Wextra \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I"$lib" -I"$vmm" -I"$support" \
	$srcs "$here/fuzz_$target.c" $extra_ld \
	-o "$build/fuzz_$target"

cd "$build"
# new inputs go to the first directory; the seeds are only read
exec "./fuzz_$target" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
	-print_final_stats=1 "$@" "corpus-$target" "$here/corpus/$target"
