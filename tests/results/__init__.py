"""Tests of benchmatrix.results, one file per module or behaviour."""
