# The RP2040 board (hardware/pinout.toml, via pins.py): the only module that touches
# `machine`. Audio comes from a PCM1808 stereo ADC over I2S (32-bit slots, BCK = 64 fs)
# read in non-blocking mode: the I2S driver's DMA fills one of two preallocated
# buffers while the loop works on the other; the callback re-arms the next read.

import array
from binascii import hexlify
import gc
import os
import select
import sys
import time

import machine
import micropython
from machine import I2S, PWM, WDT, Pin

import pins
from hal import Hal


def _input(gpio, pull_up):
    return Pin(gpio, Pin.IN, Pin.PULL_UP) if pull_up else Pin(gpio, Pin.IN)


class Rp2Hal(Hal):
    board = pins.BOARD

    def __init__(self):
        self.serial = hexlify(machine.unique_id()).decode()
        self._pins = (_input(pins.HOOK, pins.HOOK_PULL_UP), _input(pins.RING, pins.RING_PULL_UP),
                      _input(pins.BUTTON, pins.BUTTON_PULL_UP))
        self._active_low = (pins.HOOK_ACTIVE_LOW, pins.RING_ACTIVE_LOW, pins.BUTTON_ACTIVE_LOW)
        self._leds = []
        for gpio in (pins.LED_RED, pins.LED_GREEN, pins.LED_BLUE):
            pwm = PWM(Pin(gpio))
            pwm.freq(pins.LED_PWM_HZ)
            self._leds.append(pwm)
        self.set_led((0, 0, 0))
        # the ADC's system clock, locked to the same crystal as the I2S clocks
        self._mclk = PWM(Pin(pins.I2S_MCLK))
        self._mclk.freq(pins.I2S_MCLK_HZ)
        self._mclk.duty_u16(32768)
        self._i2s = None
        self._wdt = None
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._ms = 0
        self._last = time.ticks_ms()
        self._frame = 0
        self._words = (array.array("i"), array.array("i"))     # sized by start()
        self._filling = 0
        self._ready = -1
        self._overruns = 0

    def start(self, frame_samples):
        self._frame = frame_samples
        self._words = (array.array("i", bytes(8 * frame_samples)),
                       array.array("i", bytes(8 * frame_samples)))
        self._i2s = I2S(pins.I2S_ID, sck=Pin(pins.I2S_SCK), ws=Pin(pins.I2S_WS),
                        sd=Pin(pins.I2S_SD), mode=I2S.RX, bits=32, format=I2S.STEREO,
                        rate=pins.I2S_RATE, ibuf=pins.I2S_IBUF)
        self._i2s.irq(self._on_filled)           # a callback makes readinto non-blocking
        self._i2s.readinto(self._words[0])
        micropython.kbd_intr(-1)                 # 0x03 in a command must not raise Ctrl-C
        self._wdt = WDT(timeout=pins.WATCHDOG_MS)

    def _on_filled(self, i2s):
        if self._ready >= 0:
            self._overruns += 1                  # the loop never took the last frame
        self._ready = self._filling
        self._filling ^= 1
        i2s.readinto(self._words[self._filling])

    def read_audio(self, samples):
        ready = self._ready
        if ready < 0:
            return -1
        self._ready = -1
        words = self._words[ready]
        for i in range(2 * self._frame):
            samples[i] = words[i] >> 16          # 24-bit sample in the slot's top bits
        lost = self._overruns * self._frame
        self._overruns = 0
        return lost

    def inputs(self):
        p = self._pins
        a = self._active_low
        return (p[0].value() == (0 if a[0] else 1), p[1].value() == (0 if a[1] else 1),
                p[2].value() == (0 if a[2] else 1))

    def set_led(self, colour):
        for pwm, level in zip(self._leds, colour):
            duty = level * 257
            pwm.duty_u16(65535 - duty if pins.LED_ACTIVE_LOW else duty)

    def write(self, data):
        self._out.write(data)

    def read(self):
        data = b""
        while len(data) < 64 and self._poll.poll(0):
            data += self._in.read(1)
        return data

    def ticks_ms(self):
        now = time.ticks_ms()
        self._ms += time.ticks_diff(now, self._last)
        self._last = now
        return self._ms

    def feed_watchdog(self):
        if self._wdt is not None:
            self._wdt.feed()

    def mem_free(self):
        return gc.mem_free()

    def boot_id(self):
        b = os.urandom(2)
        return b[0] | (b[1] << 8)

    def reset(self, maintenance):
        if maintenance:
            with open(pins.MAINTENANCE_FLAG, "w") as f:
                f.write("1")
        time.sleep_ms(50)                        # let the ack leave over USB
        machine.reset()
