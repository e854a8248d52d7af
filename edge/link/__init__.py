"""The serial link to the inline device: framing shared with the firmware, and a source."""
