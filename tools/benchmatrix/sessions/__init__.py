"""The matrix run behind the nox sessions: position in the run, resume, preparation, shards, smoke.

benchmatrix.nox (the public module a noxfile imports) declares the sessions; the logic
they run lives here, on explicit state (state.MatrixRun, state.RunTicket) that the tests
drive without nox. Everything here runs under nox's own interpreter: standard library and
the matrix only.
"""
