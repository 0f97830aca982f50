"""Tests of benchmatrix.stack, one file per module or behaviour."""
