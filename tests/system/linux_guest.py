"""Debian's kernel as a real Linux guest: the vmlinux inside its bzImage
(for PVH), and busybox initramfs images: one that loads the virtio
modules, reads a virtio-blk disk, brings up virtio-net and powers off
(build_initramfs), and one that stays on the network for a while,
answering pings (build_net_initramfs, for the vhost-user interoperability
test)."""
import glob
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile

BOOT_MODULES = [  # load order: each needs the ones before it
    "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_mmio.ko",  # vmx's transport
    "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci.ko",  # the QEMU reference run's transport
    "net/core/failover.ko",
    "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko",
    "drivers/block/virtio_blk.ko",
]

INIT_SCRIPT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "vmk-init: started"
for m in /modules/*.ko; do insmod $m || echo "vmk-init: insmod $m failed"; done
sleep 1
if [ -b /dev/vda ]; then
    echo "vmk-init: disk $(dd if=/dev/vda bs=512 count=1 2>/dev/null | md5sum)"
else
    echo "vmk-init: no /dev/vda"
fi
if ip link set eth0 up 2>/dev/null; then
    ip addr add 10.78.0.2/24 dev eth0
    ping -c 1 -W 5 10.78.0.1 >/dev/null 2>&1 && echo "vmk-init: ping ok" || echo "vmk-init: ping failed"
else
    echo "vmk-init: no eth0"
fi
echo "vmk-init: powering off"
poweroff -f
"""


# Parameters come from the kernel command line: vmk.ip=ADDR/LEN (eth0's
# address), vmk.peer=ADDR (pinged once a second until it answers) and
# vmk.seconds=N (how long the guest stays up, answering pings, before it
# powers off: the guest bounds its own life); vmk.debug=1 prints eth0's
# counters every second.  Lines starting "vmk-init:" are what the tests
# read, "vmk-init: carrier 0|1" at each change of eth0's link (QEMU drops
# the link while its vhost-user back end is away).
NET_INIT_SCRIPT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "vmk-init: started"
ip=; peer=; secs=30
for w in $(cat /proc/cmdline); do
    case "$w" in
    vmk.ip=*) ip="${w#vmk.ip=}" ;;
    vmk.peer=*) peer="${w#vmk.peer=}" ;;
    vmk.seconds=*) secs="${w#vmk.seconds=}" ;;
    vmk.debug=1) VMK_DEBUG=1 ;;
    esac
done
for m in /modules/*.ko; do insmod $m || echo "vmk-init: insmod $m failed"; done
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null
echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6 2>/dev/null
end=$(( $(date +%s) + secs ))
if ip link set eth0 up && ip addr add "$ip" dev eth0; then
    echo "vmk-init: eth0 up $ip $(cat /sys/class/net/eth0/address)"
    ok=0; carrier=
    while [ $(date +%s) -lt $end ]; do
        c=$(cat /sys/class/net/eth0/carrier 2>/dev/null)
        if [ "$c" != "$carrier" ]; then
            carrier=$c
            echo "vmk-init: carrier $c"
        fi
        [ -n "$VMK_DEBUG" ] && grep eth0 /proc/net/dev
        if [ $ok = 0 ] && ping -c 1 -W 1 "$peer" >/dev/null 2>&1; then
            ok=1
            echo "vmk-init: ping ok"
        fi
        sleep 1  # also paces a ping that fails at once
    done
    [ $ok = 1 ] || echo "vmk-init: ping failed"
else
    echo "vmk-init: no eth0"
fi
echo "vmk-init: powering off"
poweroff -f
"""


def kernel_release():
    images = sorted(glob.glob("/boot/vmlinuz-*"))
    return os.path.basename(images[-1])[len("vmlinuz-"):] if images else None


def bzimage():
    rel = kernel_release()
    return "/boot/vmlinuz-" + rel if rel else None


def extract_vmlinux(bz, out_dir):
    """The ELF vmlinux from a bzImage: its LZ4 payload, decompressed."""
    out = os.path.join(out_dir, "vmlinux-" + os.path.basename(bz))
    if os.path.exists(out):
        return out
    data = open(bz, "rb").read()
    setup_sects = data[0x1F1] or 4
    off, length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + off
    payload = data[start:start + length]
    if payload[:4] != b"\x02\x21\x4c\x18":
        raise RuntimeError("%s payload is not LZ4 (magic %s)" % (bz, payload[:4].hex()))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        # The payload ends with the 4-byte uncompressed size, which lz4 ignores.
        r = subprocess.run(["lz4", "-dc"], input=payload, stdout=f, stderr=subprocess.PIPE)
    if open(tmp, "rb").read(4) != b"\x7fELF":
        raise RuntimeError("lz4 did not give an ELF: " + r.stderr.decode())
    os.rename(tmp, out)
    return out


def build_initramfs(out_dir):
    return _initramfs(os.path.join(out_dir, "initramfs-vmk.cpio"), INIT_SCRIPT)


def build_net_initramfs(out_dir):
    """The network guest; its file name carries the script's hash, so that
    an edited script never meets a stale image."""
    tag = hashlib.sha256(NET_INIT_SCRIPT.encode()).hexdigest()[:12]
    return _initramfs(os.path.join(out_dir, "initramfs-vmk-net-%s.cpio" % tag), NET_INIT_SCRIPT)


def _initramfs(out, script):
    if os.path.exists(out):
        return out
    rel = kernel_release()
    root = tempfile.mkdtemp(prefix="vmk-initramfs-")
    try:
        for d in ("bin", "proc", "sys", "dev", "modules"):
            os.makedirs(os.path.join(root, d))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        for i, m in enumerate(BOOT_MODULES):
            shutil.copy(os.path.join("/lib/modules", rel, "kernel", m),
                        os.path.join(root, "modules", "%02d-%s" % (i, os.path.basename(m))))
        with open(os.path.join(root, "init"), "w") as f:
            f.write(script)
        os.chmod(os.path.join(root, "init"), 0o755)
        files = subprocess.run("find . | sort", shell=True, cwd=root, check=True,
                               capture_output=True).stdout
        with open(out + ".tmp", "wb") as f:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files,
                           stdout=f, check=True)
        os.rename(out + ".tmp", out)  # never a half-written image for the next run
    finally:
        shutil.rmtree(root)
    return out


def kvm_backend():
    """'intel' or 'amd' when KVM runs guests on hardware, 'pvm' when it emulates them."""
    for name in ("kvm_intel", "kvm_amd", "kvm_pvm"):
        if os.path.isdir("/sys/module/" + name):
            return name[4:]
    return "unknown"
