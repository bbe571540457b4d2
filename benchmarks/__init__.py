"""Side-by-side benchmarks: sassi against the libraries users would pick instead.

Run everything with ``python -m benchmarks`` (or ``python3 dev.py bench``); ``--quick`` for a
~30 s run. Results print as a table and are written to ``docs/benchmarks.md`` with the machine,
the Python version and the date. These are measurements, not tests: nothing here asserts a time.
"""
