"""Flask app serving the benchmark endpoints (see tools/benchmatrix/scenarios.py)."""

from flask import Flask, Response, jsonify

app = Flask(__name__)
# Flask sorts and compacts JSON by default; the expected body is compared as JSON anyway.


@app.route("/json")
def json_endpoint():
    return jsonify(message="Hello, World!")


@app.route("/plaintext")
def plaintext_endpoint():
    return Response("Hello, World!", mimetype="text/plain")
