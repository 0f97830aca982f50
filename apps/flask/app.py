"""Flask app serving the benchmark endpoints (see tools/benchmatrix/matrix/scenarios.py)."""

import time
from pathlib import Path

from flask import Flask, Response, jsonify, render_template, request

from apps import workloads

# The Jinja2 template is shared with the aiohttp app (aiohttp-jinja2), so both render the same bytes.
app = Flask(__name__, template_folder=str(Path(__file__).resolve().parents[1] / "templates"))
# Flask compacts JSON outside debug mode and would sort keys; unsorted keeps the
# query's column order, so /agents matches the Django app's body but for Flask's final newline.
app.json.sort_keys = False


@app.errorhandler(workloads.BadParameter)
def bad_parameter(error):
    return jsonify(error=str(error)), 400


@app.route("/json")
def json_endpoint():
    return jsonify(message="Hello, World!")


@app.route("/plaintext")
def plaintext_endpoint():
    return Response("Hello, World!", mimetype="text/plain")


@app.route("/agents")
def agents():
    return jsonify(workloads.agents_on_new_connection())


@app.route("/agents_with_pool")
def agents_with_pool():
    return jsonify(workloads.agents_from_pool())


@app.route("/template")
def agents_template():
    return render_template("agents.html", agents=workloads.agents_from_pool())


@app.route("/sleep")
def sleep():
    duration_ms = workloads.milliseconds(request.args.get("ms"))
    time.sleep(duration_ms / 1000.0)  # monkey-patched under gevent/eventlet: the worker serves others meanwhile
    return jsonify(slept_ms=duration_ms)


@app.route("/db_sleep")
def db_sleep():
    duration_s = workloads.seconds(request.args.get("s"))
    workloads.database_sleep(duration_s)
    return jsonify(db_slept_s=duration_s)


@app.route("/upstream")
def upstream():
    return jsonify(upstream=workloads.upstream_answer())


@app.route("/upstream_fanout")
def upstream_fanout():
    return jsonify(calls=workloads.FANOUT_CALLS, ok=workloads.upstream_fanout())
