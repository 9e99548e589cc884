#!/usr/bin/python3
"""vmx memory beyond guest RAM with a small running guest, against QEMU
microvm with its RAM in a memfd too (so guest RAM is shared memory in
both and RssAnon + RssFile is the VMM's own).  Goal: vmx <= 2 MiB.
"""
import subprocess
import time

from common import QEMU, VMX, guest, qemu_microvm, report


def rss_kib(pid):
    fields = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        if k.startswith("Rss"):
            fields[k] = int(v.split()[0])
    return fields


def measure(argv, settle=2.0):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle)
        if p.poll() is not None:
            raise RuntimeError("%s exited early (%d)" % (argv[0], p.returncode))
        return rss_kib(p.pid)
    finally:
        p.kill()
        p.wait()


def main():
    cmdline = "dirty.mb=4 dirty.rate=200 dirty.seconds=0"
    v = measure([VMX, "--kernel", guest("dirty"), "--memory", "128M", "--serial", "none",
                 "--cmdline", cmdline])
    own = (v["RssAnon"] + v["RssFile"]) / 1024
    rows = [("vmx RssAnon+RssFile (own memory)", own, "MiB"),
            ("vmx RssShmem (guest RAM touched)", v["RssShmem"] / 1024, "MiB")]
    if QEMU:
        q = measure(qemu_microvm(guest("dirty"), "kvm", [
            "-m", "128M", "-object", "memory-backend-memfd,id=mem,size=128M",
            "-machine", "memory-backend=mem", "-serial", "none", "-append", cmdline]))
        qown = (q["RssAnon"] + q["RssFile"]) / 1024
        rows += [("qemu RssAnon+RssFile (own memory)", qown, "MiB"),
                 ("ratio vmx/qemu", own / qown, "x")]
    report("memory: VMM overhead beyond guest RAM (goal vmx <= 2 MiB)", rows)


if __name__ == "__main__":
    main()
