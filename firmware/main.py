# Starts the monitor from the slot boot.py chose (slots.py) unless a technician asked
# for the REPL: the help button held at power-up, or a maintenance reboot requested by
# `seatwatch firmware flash`. No verified firmware also leaves the REPL open, so the
# board can always be flashed again.
import os

from machine import Pin

import slots


def maintenance_requested(pins):
    try:
        os.remove(pins.MAINTENANCE_FLAG)
        return True
    except OSError:
        pass
    button = Pin(pins.BUTTON, Pin.IN, Pin.PULL_UP)
    return button.value() == (0 if pins.BUTTON_ACTIVE_LOW else 1)


def main():
    choice = slots.activate()            # boot.py chose already; this only reads it
    if choice.directory is None:
        print("seatwatch: no verified firmware (%s), REPL left open" % choice.problem)
        return
    import pins
    if maintenance_requested(pins):
        print("seatwatch: maintenance mode, REPL left open")
        return
    import app
    import config
    import hal_rp2
    settings = config.load(slots.join(choice.directory, config.PATH))
    # the hello tells the edge which slot runs, what it can roll back to, and why the
    # committed slot was passed over (if it was)
    update = (choice.slot or "", choice.previous or "", choice.problem or "")
    app.App(hal_rp2.Rp2Hal(), settings, update).run()


main()
