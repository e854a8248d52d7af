"""seatwatch: on-device monitoring of call-center headsets against hotline service norms.

One installed package built from the repository's folders (pyproject.toml `package-dir`):
`seatwatch.edge` (edge/, the Pi daemon), `seatwatch.console` (host_console/, the
supervisors' console), `seatwatch.models` (models/, the TFLite models and their training)
and, in this folder, `seatwatch.contracts` (what the edge and the console both speak), the
command line (`seatwatch.cli`) and the demo (`seatwatch.demo`), which import the parts.
"""
