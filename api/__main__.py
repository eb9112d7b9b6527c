"""``python -m api`` is the ``mdm`` command."""

from api.cli import main

main()
