"""shieldwall: an open simulator and planner for integrated air and missile defense.

All performance figures are notional, from public open sources (see ``shieldwall catalog``).
"""

__version__ = "0.1.0"
