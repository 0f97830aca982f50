"""Tests of benchmatrix.sessions, one file per module or behaviour."""
