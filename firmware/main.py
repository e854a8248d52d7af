# Starts the monitor unless a technician asked for the REPL: the help button held at
# power-up, or a maintenance reboot requested by `seatwatch firmware flash`.
import os

from machine import Pin

import pins


def maintenance_requested():
    try:
        os.remove(pins.MAINTENANCE_FLAG)
        return True
    except OSError:
        pass
    button = Pin(pins.BUTTON, Pin.IN, Pin.PULL_UP)
    return button.value() == (0 if pins.BUTTON_ACTIVE_LOW else 1)


def main():
    if maintenance_requested():
        print("seatwatch: maintenance mode, REPL left open")
        return
    import app
    import config
    import hal_rp2
    app.App(hal_rp2.Rp2Hal(), config.load()).run()


main()
