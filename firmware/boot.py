# Runs first after every reset: the system clock the ADC's master clock divides
# exactly (hardware/pinout.toml explains the choice), and a quiet heap.
import gc

import machine

import pins

machine.freq(pins.SYS_CLOCK_HZ)
gc.collect()
