#!/usr/bin/python3
"""vmx memory beyond guest RAM with a small running guest, against QEMU
microvm with its RAM in a memfd too (so guest RAM is shared memory in
both and RssAnon + RssFile is the VMM's own).  Goal: vmx <= 2 MiB.

usage: bench/memory.py          (VMK_BUILD selects the build, default build/)

Both VMMs run the dirty guest (4 MiB working set, 200 pages/s, forever)
with 128 MiB of RAM; after 2 s the script reads /proc/PID/status and
/proc/PID/smaps_rollup, then kills the VMM.  Reported per VMM:

  RssAnon            private anonymous memory: heap, thread stacks (the
                     touched part), copy-on-write pages of the libraries'
                     data.  The VMM's own memory in the strictest sense.
  RssFile            file pages mapped in: the executable and the shared
                     libraries (libc, ld.so, libjansson for vmx).  Most of
                     it is libc text that every process on the machine
                     shares, so it is resident whether or not vmx runs;
                     the Pss_File line splits it fairly between the
                     processes mapping it.
  RssAnon + RssFile  the figure held against the goal (the conservative
                     one: shared library pages counted in full).
  Pss_Anon+Pss_File  the same with shared pages divided among sharers.
  RssShmem           guest RAM the guest touched (memfd), not overhead.

For vmx the largest RssFile mappings are listed too.
"""
import os
import subprocess
import time

from common import QEMU, VMX, guest, qemu_microvm, report


def rss_kib(pid):
    fields = {}
    for line in open("/proc/%d/status" % pid):
        k, _, v = line.partition(":")
        if k.startswith("Rss"):
            fields[k] = int(v.split()[0])
    for line in open("/proc/%d/smaps_rollup" % pid):
        k, _, v = line.partition(":")
        if k.startswith("Pss_"):
            fields[k] = int(v.split()[0])
    return fields


def file_mappings_kib(pid):
    """Rss of each file-backed mapping (summed per file), minus its
    anonymous (copy-on-write) pages, which RssAnon counts."""
    per, cur = {}, None
    for line in open("/proc/%d/smaps" % pid):
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:
            cur = head[5] if len(head) > 5 and head[5].startswith("/") and head[4] != "0" else None
            if cur and cur.startswith("/memfd:"):
                cur = None
        elif cur and head[0] in ("Rss:", "Anonymous:"):
            per[cur] = per.get(cur, 0) + int(head[1]) * (1 if head[0] == "Rss:" else -1)
    return sorted(per.items(), key=lambda kv: -kv[1])


def measure(argv, settle=2.0):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle)
        if p.poll() is not None:
            raise RuntimeError("%s exited early (%d)" % (argv[0], p.returncode))
        return rss_kib(p.pid), file_mappings_kib(p.pid)
    finally:
        p.kill()
        p.wait()


def rows_for(name, v):
    return [("%s RssAnon (private anonymous)" % name, v["RssAnon"] / 1024, "MiB"),
            ("%s RssFile (executable + shared libraries)" % name, v["RssFile"] / 1024, "MiB"),
            ("%s RssAnon+RssFile (own memory)" % name, (v["RssAnon"] + v["RssFile"]) / 1024, "MiB"),
            ("%s Pss_Anon+Pss_File (shared pages split)" % name,
             (v.get("Pss_Anon", 0) + v.get("Pss_File", 0)) / 1024, "MiB"),
            ("%s RssShmem (guest RAM touched)" % name, v["RssShmem"] / 1024, "MiB")]


def main():
    cmdline = "dirty.mb=4 dirty.rate=200 dirty.seconds=0"
    v, vfiles = measure([VMX, "--kernel", guest("dirty"), "--memory", "128M", "--serial", "none",
                         "--cmdline", cmdline])
    own = (v["RssAnon"] + v["RssFile"]) / 1024
    rows = rows_for("vmx", v)
    rows += [("  vmx RssFile: %s" % os.path.basename(f), kib / 1024, "MiB")
             for f, kib in vfiles[:5]]
    if QEMU:
        # No virtio devices here, so no -global virtio-mmio.force-legacy=false.
        q, _ = measure(qemu_microvm(guest("dirty"), "kvm", [
            "-m", "128M", "-object", "memory-backend-memfd,id=mem,size=128M",
            "-machine", "memory-backend=mem", "-serial", "none", "-append", cmdline]))
        qown = (q["RssAnon"] + q["RssFile"]) / 1024
        rows += rows_for("qemu", q)
        rows += [("ratio vmx/qemu, RssAnon+RssFile", own / qown, "x"),
                 ("ratio vmx/qemu, RssAnon", v["RssAnon"] / q["RssAnon"], "x")]
    else:
        print("qemu-system-x86_64 not installed: no peer, no ratio")
    report("memory: VMM overhead beyond guest RAM (goal vmx RssAnon+RssFile <= 2 MiB)", rows)


if __name__ == "__main__":
    main()
