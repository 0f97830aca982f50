"""Tests of benchmatrix.matrix, one file per module or behaviour."""
