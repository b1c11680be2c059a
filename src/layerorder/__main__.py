"""``python -m layerorder`` runs the command-line tool."""

from layerorder.cli.app import main

main()
