"""Profiling notes for docs/benchmarks.md (kept by hand; the numbers above them are generated)."""

FINDINGS = """
## Findings

(profiling notes pending)
"""
