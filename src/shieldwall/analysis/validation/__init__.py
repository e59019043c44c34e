"""Model validation: reference checks of the engine's models (``shieldwall models``).

See ``types.py`` for how a check is written; each check is one module in ``checks/``.
"""
