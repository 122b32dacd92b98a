"""Maintainers' tools for the lesson notebooks, imported alike by tests, benchmarks and nox.

``python -m tools.notebook_tools --help`` lists what they do: re-execute a lesson and store it
canonically, write its Colab header, run the compatibility check (all in ``notebook_tools``),
bring the ``# @save`` cells back to ``helpers/`` (``saved_cells``), set the repository's GitHub
path for a fork (``repository``).
"""
