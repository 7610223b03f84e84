"""Benchmarks: ``python -m bench`` (see docs/benchmarks.md). Not tests: nothing here runs in CI."""
