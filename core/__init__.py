"""Shared foundations: settings, database, clock and text normalisation.

Imports none of the other project packages.
"""

from core.clock import KST, Clock, SystemClock
from core.settings import Settings, get_settings

__all__ = ["KST", "Clock", "Settings", "SystemClock", "get_settings"]
