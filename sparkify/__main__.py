"""``python -m sparkify`` runs the ``sparkify`` command."""

from sparkify.cli import main

main()
