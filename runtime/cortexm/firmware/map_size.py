#!/usr/bin/env python3
"""Flash and RAM use of a linked firmware image, per input object, from its GNU ld map file.

    map_size.py image.elf.map

Flash = .isr_vector, .text (code and read-only data), .ARM.exidx, .init_array and the load image
of .data; RAM = .data + .bss (the stack is everything above .bss and is not counted). Code that
header templates instantiate (try_spawn, block_on, awaiters, coroutine frames) is counted with
the object that instantiated it, usually the application's.
"""
import collections
import os
import re
import sys

FLASH = {".isr_vector", ".text", ".ARM.exidx", ".init_array"}
RAM_INIT = {".data"}
RAM_ZERO = {".bss"}
ENTRY = re.compile(r"^\s*(\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")


def owner(path):
    m = re.match(r"(.*)\((.*)\)$", path)  # archive(member)
    name = m.group(2) if m else path
    name = os.path.basename(name)
    for suffix in (".cpp.obj", ".obj", ".o"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def main(path):
    lines = open(path).read().split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("Linker script and memory map"))
    flash = collections.Counter()
    ram = collections.Counter()
    section = None
    pending = None
    for line in lines[start:]:
        top = re.match(r"^(\.[A-Za-z_.]+)\s", line + " ")
        if top and not line.startswith(" "):
            section = top.group(1)
            pending = None
            continue
        if section not in FLASH | RAM_INIT | RAM_ZERO:
            continue
        if re.match(r"^ \.\S+$", line):  # a long input section name; its numbers follow
            pending = line.strip()
            continue
        m = ENTRY.match(line)
        if not m or (m.group(1) is None and pending is None):
            continue
        if m.group(1) is not None and not m.group(1).startswith("."):
            continue
        pending = None
        size = int(m.group(3), 16)
        obj = owner(m.group(4).strip())
        if section in FLASH or section in RAM_INIT:
            flash[obj] += size
        if section in RAM_INIT or section in RAM_ZERO:
            ram[obj] += size
    print(f"{'object':<28}{'flash':>8}{'ram':>8}")
    for obj in sorted(set(flash) | set(ram), key=lambda o: -(flash[o] + ram[o])):
        print(f"{obj:<28}{flash[obj]:>8}{ram[obj]:>8}")
    print(f"{'total':<28}{sum(flash.values()):>8}{sum(ram.values()):>8}")


if __name__ == "__main__":
    main(sys.argv[1])
