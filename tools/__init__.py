"""Maintainers' tools for the lesson notebooks, imported alike by tests, benchmarks and nox.

``python -m tools.notebook_tools --help`` lists what they do: re-execute a lesson and store it
canonically, write its Colab header, run the compatibility check, sync the ``# @save`` cells.
"""
