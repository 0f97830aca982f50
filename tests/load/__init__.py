"""Tests of benchmatrix.load, one file per module or behaviour."""
