#!/bin/sh
# Installs what vmk needs to build, test and benchmark on Debian 12.
# Each package is justified in docs/dependencies.md.
set -eu
PKGS="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
libjansson-dev libcmocka-dev libsqlite3-dev libmnl-dev libseccomp-dev
qemu-system-x86 linux-image-cloud-amd64 busybox-static lz4 cpio
python3 python3-pytest iproute2 valgrind hyperfine socat iperf3 dnsmasq-base"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
