"""Moved to checks/validity.py (the checks of one run's figures); this name stays for older imports."""

from __future__ import annotations

from benchmatrix.checks.validity import assess_ceiling, assess_rate, assess_responses

__all__ = ["assess_ceiling", "assess_rate", "assess_responses"]
