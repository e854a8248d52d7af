# The hardware abstraction the firmware's main loop (app.py) talks to. hal_rp2.py
# implements it on the RP2040 (the only module that imports `machine`); hal_sim.py
# implements it for tests and benchmarks. Everything else in firmware/ is pure.


class Hal:
    board = "unknown"           # board id reported in hello
    serial = "unknown"          # device serial number (unique id)
    finished = False            # True when the audio source has ended (simulations)

    def start(self, frame_samples):
        """Begin capture of frames of `frame_samples` stereo samples; arm the watchdog."""
        raise NotImplementedError

    def read_audio(self, samples):
        """Non-blocking: fill `samples` (int16 view, interleaved mic/earpiece) with the
        next frame and return how many samples were lost before it, or -1 when no frame
        is ready yet."""
        raise NotImplementedError

    def inputs(self):
        """Raw (hook off, ringing, button pressed) levels, already active-high."""
        raise NotImplementedError

    def set_led(self, colour):
        """(r, g, b) with 0..255 per channel."""
        raise NotImplementedError

    def write(self, data):
        """Send bytes to the edge; blocks until all are queued."""
        raise NotImplementedError

    def read(self):
        """Non-blocking: bytes received from the edge (b"" when none)."""
        raise NotImplementedError

    def ticks_ms(self):
        raise NotImplementedError

    def feed_watchdog(self):
        raise NotImplementedError

    def mem_free(self):
        raise NotImplementedError

    def boot_id(self):
        """16-bit number that differs between boots (tells the edge the clock restarted)."""
        raise NotImplementedError

    def reset(self, maintenance):
        """Reboot; with maintenance the next boot stays in the REPL."""
        raise NotImplementedError
