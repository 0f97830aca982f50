"""Checks of what was measured: verification, validity flags, consistency of the figures."""
