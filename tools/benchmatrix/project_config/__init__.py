"""A user's project as benchmatrix measures it: its benchmatrix.toml read into typed values.

read.py parses the file (syntax, then every key and type, each error naming the key and
its line), model.py holds what it declares, scenarios.py turns its scenarios into the
Scenario values verification and load share, and matrix.py puts its apps beside
benchmatrix's servers. active.py says which project, if any, the harness is working for.
"""
