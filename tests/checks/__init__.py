"""Tests of benchmatrix.checks, one file per module or behaviour."""
