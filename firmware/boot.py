# Runs first after every reset: picks the firmware slot whose files all match their
# manifest (slots.py puts it first on the import path), then sets the system clock the
# ADC's master clock divides exactly (hardware/pinout.toml explains the choice), and a
# quiet heap. With no verified firmware there is no pins module to import: main.py
# leaves the REPL open.
import gc

import machine

import slots

if slots.activate().directory is not None:
    import pins
    machine.freq(pins.SYS_CLOCK_HZ)
gc.collect()
