"""``python -m ivif`` runs the command line."""

from .cli import main

main()
