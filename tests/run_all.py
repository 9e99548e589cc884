#!/usr/bin/python3
"""Runs every vmk test and prints one summary line.

  1. build/ (-Werror): unit tests (meson test), then the system tests (pytest)
  2. build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer): unit
     tests, then the system tests marked for it (the VM runs; the slow
     Linux boots and QEMU reference runs are not repeated)
  3. build-clang/ (clang -Werror): unit tests and the fuzz targets'
     seed corpora replayed under libFuzzer, ASan and UBSan

The last line is "N passed, N failed, N skipped"; the exit status is 0
only when nothing failed.  Skips are listed with their reasons.
"""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
totals = {"passed": 0, "failed": 0, "skipped": 0}


def banner(text):
    print("\n==== %s ====" % text, flush=True)


def build(kind):
    banner("build " + (kind or "default"))
    r = subprocess.run(["sh", os.path.join(ROOT, "scripts", "build.sh")] + ([kind] if kind else []),
                       stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print("build failed")
        totals["failed"] += 1
        return None
    return os.path.join(ROOT, r.stdout.strip().splitlines()[-1])


def unit_tests(build_dir, label):
    banner("unit tests (%s)" % label)
    subprocess.run(["meson", "test", "-C", build_dir, "--print-errorlogs", "--num-processes", "2"])
    log = os.path.join(build_dir, "meson-logs", "testlog.json")
    if not os.path.exists(log):
        totals["failed"] += 1
        return
    for line in open(log):
        t = json.loads(line)
        if t["result"] == "OK":
            totals["passed"] += 1
        elif t["result"] == "SKIP":
            totals["skipped"] += 1
            print("SKIPPED unit test %s" % t["name"])
        else:
            totals["failed"] += 1
            print("FAILED unit test %s: %s" % (t["name"], t["result"]))


def system_tests(build_dir, label, extra):
    banner("system tests (%s)" % label)
    xml = os.path.join(build_dir, "pytest-results.xml")
    env = dict(os.environ, VMK_BUILD=build_dir)
    subprocess.run(["/usr/bin/python3", "-m", "pytest", "-rs", "-q", "-p", "no:cacheprovider",
                    "--junitxml", xml, os.path.join(ROOT, "tests", "system")] + extra, env=env)
    if not os.path.exists(xml):
        totals["failed"] += 1
        return
    root = ET.parse(xml).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    tests = int(suite.get("tests"))
    failed = int(suite.get("failures")) + int(suite.get("errors"))
    skipped = int(suite.get("skipped"))
    totals["passed"] += tests - failed - skipped
    totals["failed"] += failed
    totals["skipped"] += skipped


def main():
    subprocess.run(["sh", os.path.join(ROOT, "scripts", "deps.sh")], check=True)
    only_fast = "--fast" in sys.argv
    b = build(None)
    if b:
        unit_tests(b, "build")
        system_tests(b, "build", ["-m", "not slow"] if only_fast else [])
    if not only_fast:
        a = build("asan")
        if a:
            unit_tests(a, "asan+ubsan")
            system_tests(a, "asan+ubsan", ["-m", "not slow and not reference"])
        c = build("clang")
        if c:
            unit_tests(c, "clang + fuzz seeds")
    print("\n%d passed, %d failed, %d skipped" % (totals["passed"], totals["failed"], totals["skipped"]))
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
