"""Benchmarks (`make bench`, `python -m bench.run`); a package so they run as modules."""
