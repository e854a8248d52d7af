# CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor):
# check value 0x29B1 for b"123456789". Guards each frame against corruption the
# COBS framing cannot see (flipped bits, dropped bytes inside a frame).

import binascii

_crc_hqx = getattr(binascii, "crc_hqx", None)     # CPython: the same CRC in C

POLY = 0x1021
INIT = 0xFFFF


def _make_table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ POLY) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _make_table()


def crc16_table(data, n=-1, crc=INIT):
    """Table-driven CRC of data[0:n] (all of it when n < 0); the MicroPython path."""
    table = _TABLE
    if n < 0:
        n = len(data)
    for i in range(n):
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ data[i]]
    return crc


def crc16(data, n=-1, crc=INIT):
    """CRC-16/CCITT-FALSE of data[0:n] (all of it when n < 0), continuing from `crc`."""
    if _crc_hqx is not None:
        return _crc_hqx(memoryview(data)[:n] if n >= 0 else data, crc)
    return crc16_table(data, n, crc)
