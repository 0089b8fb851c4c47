"""prseed's benchmarks: ``python -m bench NAME [--size N]`` from the repository's root.

``budget``, ``replay``, ``memory`` and ``walltime`` each crawl the fake GitHub server of the
tests (``tests.fakegithub``), run in a process of its own so that what is timed is the crawl's
own work, and write their figures to ``bench/results/NAME.json``.  See the README's
"Performance" section for what they measure and the figures of the last full run.
"""
