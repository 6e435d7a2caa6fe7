"""Run every benchmark (``make bench``), or those named: ``python -m benchmarks render``."""

import importlib
import pkgutil
import sys

import benchmarks

names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
wanted = sys.argv[1:]
for name in names:
    if wanted and not any(w in name for w in wanted):
        continue
    print(f"== {name}", flush=True)
    importlib.import_module(f"benchmarks.{name}").main()
