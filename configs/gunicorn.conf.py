# Settings shared by every gunicorn cell. The harness passes what varies per cell
# (bind address, workers, worker class, threads) on the command line.

accesslog = None  # access logs flood the disk and cost CPU the app would otherwise get
errorlog = "-"  # the harness captures stderr into the cell's server log
loglevel = "warning"
graceful_timeout = 2  # at the end of a cell nothing in flight matters; stop fast (a gthread worker sometimes
                      # ignores the quick stop and is killed only after this: measured 5 s of a 3 s smoke cell)
timeout = 30
keepalive = 5  # async and threaded workers keep wrk's connections open between requests



def post_fork(server, worker):
    _stop_api_hour_workers_on_sigterm(worker)
    _patch_psycopg_if_asked(server, worker)


def _stop_api_hour_workers_on_sigterm(worker):
    """API-Hour's worker installs its stop handling only after importing the app.

    A SIGTERM in that window is lost and gunicorn SIGKILLs the worker after
    graceful_timeout (measured: 6-7 s to stop a freshly booted api-hour cell
    instead of about 1 s). Marking the worker not alive is what its own
    handler does later.
    """
    if type(worker).__module__.startswith("api_hour"):
        import signal

        signal.signal(signal.SIGTERM, lambda signum, frame: setattr(worker, "alive", False))


def _patch_psycopg_if_asked(server, worker):
    """Make psycopg2 cooperative in the *-psycogreen server variants (configs/matrix.json).

    The seeds' patch_all: gevent/eventlet patch the standard library, but psycopg2
    is C code that blocks the whole worker on a query unless psycogreen installs
    its wait callback. Done after fork, in the worker, where the hub already runs.
    """
    import os

    flavour = os.environ.get("BENCHMATRIX_PSYCOGREEN")
    if flavour == "gevent":
        from psycogreen.gevent import patch_psycopg
    elif flavour == "eventlet":
        from psycogreen.eventlet import patch_psycopg
    else:
        return
    patch_psycopg()
    server.log.info("psycogreen: psycopg2 patched for %s in worker %s", flavour, worker.pid)
