# The boot-time slot choice (firmware/slots.py) on every layout in a directory, written
# for both interpreters: tests/firmware/test_slots.py prepares the layouts
# (slot_layouts.py), runs this under CPython and MicroPython and compares.
# One "slot <layout> <json>" line per layout.

import json
import os

import slots


def main(base):
    for name in sorted(os.listdir(base)):
        root = base + "/" + name
        c = slots.select(root)
        directory = c.directory
        if directory is not None:
            directory = directory[len(root):]       # the same on both interpreters
        print("slot", name, json.dumps([c.slot, c.version, c.previous, directory, c.problem]))
