"""hardware/pinout.toml -> firmware/pins.py: one pin map, rendered for the firmware.

The firmware cannot parse TOML on the device, so the map is rendered as constants; a
test keeps the rendered file identical to what this module produces from the TOML.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from seatwatch.edge.resources import data_file

PINOUT = data_file("hardware", "pinout.toml")
PINS_PY = data_file("firmware", "pins.py")
RP2040_GPIOS = range(0, 30)


class PinoutError(ValueError):
    pass


def load(path: Path = PINOUT) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PinoutError(f"{path}: not a readable TOML file ({exc})") from None
    check(data, str(path))
    return data


def gpios(data: dict[str, Any]) -> dict[str, int]:
    """Every signal name -> GPIO number."""
    i2s, led, inputs = data["i2s"], data["led"], data["inputs"]
    out = {f"i2s.{name}": int(i2s[name]) for name in ("sck", "ws", "sd", "mclk")}
    out.update({f"inputs.{name}": int(inputs[name]["gpio"]) for name in ("hook", "ring", "button")})
    out.update({f"led.{name}": int(led[name]) for name in ("red", "green", "blue")})
    return out


def check(data: dict[str, Any], where: str = "pinout") -> None:
    """Every pin present, on a real GPIO, used once; the I2S constraint held."""
    try:
        pins = gpios(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise PinoutError(f"{where}: missing or malformed entry {exc}") from None
    for name, gpio in pins.items():
        if gpio not in RP2040_GPIOS:
            raise PinoutError(f"{where}: {name} = {gpio} is not an RP2040 GPIO (0-29)")
    seen: dict[int, str] = {}
    for name, gpio in pins.items():
        if gpio in seen:
            raise PinoutError(f"{where}: GPIO {gpio} used by both {seen[gpio]} and {name}")
        seen[gpio] = name
    if pins["i2s.ws"] != pins["i2s.sck"] + 1:
        raise PinoutError(f"{where}: i2s.ws must be i2s.sck + 1 (machine.I2S on rp2)")
    board, i2s = data["board"], data["i2s"]
    if board["sys_clock_hz"] % i2s["mclk_hz"]:
        raise PinoutError(f"{where}: sys_clock_hz is not a multiple of i2s.mclk_hz")
    if i2s["mclk_hz"] != 256 * i2s["rate"]:
        raise PinoutError(f"{where}: i2s.mclk_hz must be 256 x rate for the PCM1808")


def render(data: dict[str, Any]) -> str:
    board, i2s, led, inputs = data["board"], data["i2s"], data["led"], data["inputs"]
    lines = [
        "# Generated from hardware/pinout.toml by `seatwatch firmware pins`: do not edit.",
        "from micropython import const",
        "",
        f"BOARD = {board['name']!r}",
        f"SYS_CLOCK_HZ = const({board['sys_clock_hz']})",
        f"WATCHDOG_MS = const({board['watchdog_ms']})",
        f"MAINTENANCE_FLAG = {board['maintenance_flag']!r}",
        f"I2S_ID = const({i2s['id']})",
        f"I2S_SCK = const({i2s['sck']})",
        f"I2S_WS = const({i2s['ws']})",
        f"I2S_SD = const({i2s['sd']})",
        f"I2S_MCLK = const({i2s['mclk']})",
        f"I2S_MCLK_HZ = const({i2s['mclk_hz']})",
        f"I2S_RATE = const({i2s['rate']})",
        f"I2S_IBUF = const({i2s['ibuf']})",
    ]
    for name in ("hook", "ring", "button"):
        pin = inputs[name]
        lines += [f"{name.upper()} = const({pin['gpio']})",
                  f"{name.upper()}_ACTIVE_LOW = {bool(pin['active_low'])}",
                  f"{name.upper()}_PULL_UP = {bool(pin['pull_up'])}"]
    lines += [f"LED_RED = const({led['red']})", f"LED_GREEN = const({led['green']})",
              f"LED_BLUE = const({led['blue']})", f"LED_ACTIVE_LOW = {bool(led['active_low'])}",
              f"LED_PWM_HZ = const({led['pwm_hz']})"]
    return "\n".join(lines) + "\n"


def write(pinout: Path = PINOUT, target: Path = PINS_PY) -> Path:
    target.write_text(render(load(pinout)), encoding="utf-8")
    return target
