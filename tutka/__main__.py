"""``python -m tutka``: the same as the ``tutka`` command."""

from tutka.cli import main

main()
