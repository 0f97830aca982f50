"""benchmatrix: reproducible benchmarks of Python web servers."""
