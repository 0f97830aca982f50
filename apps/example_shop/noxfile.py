from benchmatrix.nox import bench_sessions
bench_sessions()
