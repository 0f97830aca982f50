"""Tests of benchmatrix.hosts, one file per module or behaviour."""
