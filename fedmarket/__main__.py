"""``python -m fedmarket``: the same CLI as the ``fedmarket`` console script."""

from fedmarket.cli import main

main()
