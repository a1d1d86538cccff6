"""`python -m tokenlane` runs the CLI."""

from tokenlane.cli.app import main

main()
