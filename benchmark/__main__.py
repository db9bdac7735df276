"""`python -m benchmark`: the `robust-qmix` command line."""

from benchmark.cli import main

main()
