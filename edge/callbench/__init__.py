"""`seatwatch eval`: a call-level benchmark of the alerts, on calls the rules were not written for.

    sentences.py   text pools: the corpus's held-out templates and the reserved hotline scripts
    generator.py   seeded call plans with their truth (which alert types each call must raise)
    render.py      a plan -> stereo 16 kHz WAV (ch0 agent mic, ch1 earpiece) + control + truth JSON
    scoring.py     pure functions: per-type precision/recall, exact calls, false alerts, breakdowns
    cli.py         render (cached), run `analyze` on every call in a process pool, report

See docs/eval.md.
"""
