"""`python -m edl` is the `edl` command."""

from edl.cli import main

main()
