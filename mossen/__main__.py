"""`python -m mossen` runs the CLI."""

from mossen.cli import main

main()
