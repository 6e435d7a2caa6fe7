"""Benchmarks: each bench_*.py has main() printing ratios against a baseline run in the same process."""
