"""``python -m modelkeep`` runs the CLI."""

from modelkeep.cli.main import main

main()
