"""Benchmarks: run with ``make bench``; they report figures and never assert on them."""
