"""Tests of benchmatrix.run, one file per module or behaviour."""
