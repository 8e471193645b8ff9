"""The definition layer: the frozen model of a trajectory definition, its expressions
and values, and the checks that turn a parsed file into a compiled definition. Imports
only the stdlib layer (``errors``, ``diagnostics``, ``_bounds``, ``clock``, ``calendar``)."""
