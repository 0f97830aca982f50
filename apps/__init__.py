"""Benchmark apps: one package per framework, all serving tools/benchmatrix/matrix/scenarios.py."""
