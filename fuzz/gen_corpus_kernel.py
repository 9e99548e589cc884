#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_kernel (fuzz/corpus/kernel/).

    fuzz/gen_corpus_kernel.py [BUILD_DIR] [VMLINUZ]

Seeds, each under 64 KiB:
  guest-hello.elf, guest-blk.elf
      the project's test guests (BUILD_DIR/tests/guests/*.elf), stripped
      (objcopy --strip-all) so only the headers, the PVH note and the
      loadable segments are left;
  vmlinuz-head, vmlinuz-head-fits
      the first 32 KiB of a distribution bzImage (VMLINUZ, default the
      first /boot/vmlinuz-*): the setup header plus the start of the
      protected-mode kernel (the setup code alone is ~20 KiB, so 16 KiB
      would stop at "truncated after its setup code").  The -fits copy has
      pref_address / init_size lowered so the image passes the
      "room to decompress" check in the fuzzer's 32 MiB of guest RAM;
  elf32-pvh, elf64-pvh-bss, bzimage-min
      small hand-made images: a 32-bit ELF, a 64-bit ELF whose segment is
      mostly bss, and the smallest bzImage the loader accepts.
Seeds whose source is missing are skipped (the committed ones stay).
"""
import glob
import os
import struct
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, 'corpus', 'kernel')
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(here), 'build')
vmlinuz = sys.argv[2] if len(sys.argv) > 2 else next(iter(sorted(glob.glob('/boot/vmlinuz-*'))), None)


def put(name, data):
    assert len(data) < 64 * 1024, name
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)


def pvh_note(entry):
    return struct.pack('<III', 4, 4, 18) + b'Xen\0' + struct.pack('<I', entry)


def elf64(paddr, code, memsz, entry):
    note = pvh_note(entry)
    ehdr_sz, phdr_sz = 64, 56
    phoff = ehdr_sz
    note_off = phoff + 2 * phdr_sz
    code_off = 0x1000
    eh = (b'\x7fELF' + bytes([2, 1, 1]) + bytes(9) +
          struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, entry, phoff, 0, 0,
                      ehdr_sz, phdr_sz, 2, 64, 0, 0))
    ph_load = struct.pack('<IIQQQQQQ', 1, 7, code_off, paddr, paddr,
                          len(code), memsz, 0x1000)
    ph_note = struct.pack('<IIQQQQQQ', 4, 4, note_off, 0, 0,
                          len(note), len(note), 4)
    img = bytearray(eh + ph_load + ph_note + note)
    img += bytes(code_off - len(img))
    return bytes(img + code)


def elf32(paddr, code, memsz, entry):
    note = pvh_note(entry)
    ehdr_sz, phdr_sz = 52, 32
    phoff = ehdr_sz
    note_off = phoff + 2 * phdr_sz
    code_off = 0x200
    eh = (b'\x7fELF' + bytes([1, 1, 1]) + bytes(9) +
          struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, entry, phoff, 0, 0,
                      ehdr_sz, phdr_sz, 2, 40, 0, 0))
    ph_load = struct.pack('<IIIIIIII', 1, code_off, paddr, paddr,
                          len(code), memsz, 7, 0x1000)
    ph_note = struct.pack('<IIIIIIII', 4, note_off, 0, 0,
                          len(note), len(note), 4, 4)
    img = bytearray(eh + ph_load + ph_note + note)
    img += bytes(code_off - len(img))
    return bytes(img + code)


def bzimage_min():
    setup_sects = 1
    img = bytearray((setup_sects + 1) * 512 + 512)
    img[0x1f1] = setup_sects
    img[0x201] = 0x68 - 2                    # setup header up to 0x268
    struct.pack_into('<I', img, 0x202, 0x53726448)   # "HdrS"
    struct.pack_into('<H', img, 0x206, 0x20f)         # protocol 2.15
    img[0x211] = 0x01                                  # LOADED_HIGH
    struct.pack_into('<I', img, 0x22c, 0x7fffffff)    # initrd_addr_max
    struct.pack_into('<I', img, 0x230, 0x200000)      # kernel_alignment
    img[0x236] = 0x03                                  # XLF_KERNEL_64 | above 4G
    struct.pack_into('<I', img, 0x238, 2047)          # cmdline_size
    struct.pack_into('<Q', img, 0x258, 0x1000000)     # pref_address
    struct.pack_into('<I', img, 0x260, 0x100000)      # init_size
    img[(setup_sects + 1) * 512:] = b'\xf4' * 512     # hlt
    return bytes(img)


def main():
    os.makedirs(out, exist_ok=True)
    for g in ('hello', 'blk'):
        src = os.path.join(build, 'tests', 'guests', g + '.elf')
        if not os.path.exists(src):
            print('skipped guest-%s.elf: no %s' % (g, src))
            continue
        with tempfile.TemporaryDirectory() as d:
            dst = os.path.join(d, 'g.elf')
            subprocess.run(['objcopy', '--strip-all', src, dst], check=True)
            put('guest-%s.elf' % g, open(dst, 'rb').read())
    if vmlinuz and os.path.exists(vmlinuz):
        head = bytearray(open(vmlinuz, 'rb').read(32 * 1024))
        put('vmlinuz-head', bytes(head))
        struct.pack_into('<Q', head, 0x258, 0x400000)
        struct.pack_into('<I', head, 0x260, 0x800000)
        put('vmlinuz-head-fits', bytes(head))
    else:
        print('skipped vmlinuz-head: no /boot/vmlinuz-*')
    code = b'\xf4' * 64
    put('elf32-pvh', elf32(0x100000, code, 0x2000, 0x100000))
    put('elf64-pvh-bss', elf64(0x200000, code, 0x100000, 0x200010))
    put('bzimage-min', bzimage_min())


if __name__ == '__main__':
    main()
