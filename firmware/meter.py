# Per-frame levels of interleaved stereo int16 in integer arithmetic only.
#
# Samples are scaled down by 16 before squaring so a 160-sample sum of squares stays
# below 2**30: on the RP2040 that keeps every value a small int (no heap allocation
# in the audio loop). Resolution lost: levels below 16 LSB (-66 dBFS) read as 0.

SHIFT = 4


def isqrt(n):
    """Largest integer r with r * r <= n (Newton's method on integers)."""
    if n <= 0:
        return 0
    x = n
    y = (x + 1) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


def frame_levels(samples, frames):
    """samples: int16 sequence, interleaved L/R (array('h') or list); frames: per channel.

    Returns (rms_mic, rms_ear, peak_mic, peak_ear) in int16 units.
    """
    sum_mic = 0
    sum_ear = 0
    peak_mic = 0
    peak_ear = 0
    for i in range(0, 2 * frames, 2):
        a = samples[i]
        b = samples[i + 1]
        if a < 0:
            a = -a
        if b < 0:
            b = -b
        if a > peak_mic:
            peak_mic = a
        if b > peak_ear:
            peak_ear = b
        a >>= SHIFT
        b >>= SHIFT
        sum_mic += a * a
        sum_ear += b * b
    if frames <= 0:
        return 0, 0, 0, 0
    return (isqrt(sum_mic // frames) << SHIFT, isqrt(sum_ear // frames) << SHIFT,
            peak_mic, peak_ear)


def apply_gain(samples, frames, mic_steps, ear_steps):
    """Digital gain in place: each step is 6 dB (a shift), saturating like an ADC."""
    for ch, steps in ((0, mic_steps), (1, ear_steps)):
        if steps == 0:
            continue
        for i in range(ch, 2 * frames, 2):
            v = samples[i] << steps if steps > 0 else samples[i] >> -steps
            samples[i] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
