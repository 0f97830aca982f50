# Settings shared by every gunicorn cell. The harness passes what varies per cell
# (bind address, workers, worker class, threads) on the command line.

accesslog = None  # access logs flood the disk and cost CPU the app would otherwise get
errorlog = "-"  # the harness captures stderr into the cell's server log
loglevel = "warning"
graceful_timeout = 5  # at the end of a cell nothing in flight matters; stop fast
timeout = 30
keepalive = 5  # async and threaded workers keep wrk's connections open between requests
