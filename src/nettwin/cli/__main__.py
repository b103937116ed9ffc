"""``python -m nettwin.cli``: the same as the ``nettwin`` command."""

from nettwin.cli import main

main()
