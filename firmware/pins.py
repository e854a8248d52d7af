# Generated from hardware/pinout.toml by `seatwatch firmware pins`: do not edit.
from micropython import const

BOARD = 'seatwatch-inline-rp2040'
SYS_CLOCK_HZ = const(102400000)
WATCHDOG_MS = const(2000)
MAINTENANCE_FLAG = 'maintenance'
I2S_ID = const(0)
I2S_SCK = const(10)
I2S_WS = const(11)
I2S_SD = const(12)
I2S_MCLK = const(13)
I2S_MCLK_HZ = const(4096000)
I2S_RATE = const(16000)
I2S_IBUF = const(20480)
HOOK = const(2)
HOOK_ACTIVE_LOW = True
HOOK_PULL_UP = True
RING = const(3)
RING_ACTIVE_LOW = True
RING_PULL_UP = True
BUTTON = const(4)
BUTTON_ACTIVE_LOW = True
BUTTON_PULL_UP = True
LED_RED = const(16)
LED_GREEN = const(17)
LED_BLUE = const(18)
LED_ACTIVE_LOW = False
LED_PWM_HZ = const(1000)
