"""A real nginx in front of real upstreams on 127.0.0.1: gunicorn (TCP, unix socket) and uWSGI."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Iterator, List

import psutil
import pytest

from benchmatrix.stack.nginx import (TOPOLOGIES, NginxFront, find_nginx, nginx_version, render_config,
                                    requests_in_stub_status)
from benchmatrix.stack.process import free_port, started
from benchmatrix.stack.readiness import ServiceError

ECHO_APP = '''
import json, os, time
time.sleep(float(os.environ.get("ECHO_BOOT_DELAY_S", "0")))

def app(environ, start_response):
    keys = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "HTTP_HOST", "HTTP_CONNECTION")
    body = json.dumps({key: environ.get(key) for key in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
'''

try:
    NGINX = find_nginx()
except RuntimeError:
    NGINX = None
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "echo.py").write_text(ECHO_APP)
    return tmp_path


@contextlib.contextmanager
def gunicorn(app_dir: Path, bind: str, *options: str, **env: str) -> Iterator[None]:
    argv = [sys.executable, "-m", "gunicorn", "--bind", bind, "--workers", "1",
            "--chdir", str(app_dir), *options, "echo:app"]
    with started(argv, app_dir / "gunicorn.log", env=dict(os.environ, **env)):
        yield


@contextlib.contextmanager
def uwsgi_server(app_dir: Path, socket_path: str) -> Iterator[None]:
    argv = [str(Path(sys.executable).parent / "uwsgi"), "--socket", socket_path, "--master",
            "--processes", "1", "--die-on-term", "--need-app", "--disable-logging",
            "--chdir", str(app_dir), "--module", "echo:app"]
    with started(argv, app_dir / "uwsgi.log"):
        yield


def get(front: NginxFront, path: str) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", front.listen_port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        return json.loads(response.read())
    finally:
        connection.close()


def group_members(pgid: int) -> List[int]:
    """Live members of the process group nginx's master leads: orphaned workers count too."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
        except (OSError, psutil.Error):
            continue  # it ended while we looked
    return sorted(members)


# --- render_config: pure ---------------------------------------------------------------------

@pytest.mark.parametrize("topology,upstream", [("nginx", "127.0.0.1:8001"), ("nginx-unix", "/tmp/a/app.sock"),
                                               ("nginx-uwsgi", "/tmp/a/app.sock")])
def test_every_topology_renders_a_self_contained_loopback_config(topology, upstream):
    run_dir = Path("/tmp/run dir")
    text = render_config(topology, 8080, upstream, run_dir, worker_processes=3)
    assert "${" not in text
    assert re.search(r"^daemon off;$", text, re.M) and re.search(r"^master_process on;$", text, re.M)
    assert re.search(r"^worker_processes 3;$", text, re.M)
    assert re.search(r"^\s*listen 127\.0\.0\.1:8080;$", text, re.M)
    assert re.search(r"^\s*access_log off;$", text, re.M)
    assert not re.search(r"^\s*(include|load_module|user)\b", text, re.M)
    written = re.findall(r'^\s*(?:pid|lock_file|error_log|\w+_temp_path) "([^"]+)"', text, re.M)
    assert len(written) == 8 and all(path.startswith(str(run_dir) + "/") for path in written)
    assert upstream in text


def test_http_topologies_keep_upstream_connections_alive_and_pass_host():
    for topology, upstream in (("nginx", "127.0.0.1:8001"), ("nginx-unix", "/tmp/app.sock")):
        text = render_config(topology, 8080, upstream, Path("/tmp/run"), 1)
        assert re.search(r"^\s*keepalive \d+;$", text, re.M)
        assert "proxy_http_version 1.1;" in text and 'proxy_set_header Connection "";' in text
        assert "proxy_set_header Host $http_host;" in text  # an nginx variable, not a placeholder
    assert '"unix:/tmp/app.sock"' in render_config("nginx-unix", 8080, "/tmp/app.sock", Path("/tmp/run"), 1)


def test_the_uwsgi_topology_passes_the_wsgi_environ():
    text = render_config("nginx-uwsgi", 8080, "/tmp/app.sock", Path("/tmp/run"), 1)
    assert "uwsgi_pass app_server;" in text and "proxy_pass" not in text
    assert "uwsgi_param PATH_INFO $document_uri;" in text


def test_the_user_directive_appears_only_when_asked_for():
    assert re.search(r"^user root;$", render_config("nginx", 80, "127.0.0.1:1", Path("/r"), 1, user="root"), re.M)


def test_bad_arguments_are_refused_with_the_valid_choices():
    with pytest.raises(ValueError, match="fixed-body, nginx, nginx-unix, nginx-uwsgi"):
        render_config("nginx-tcp", 8080, "127.0.0.1:8001", Path("/tmp/run"), 1)
    with pytest.raises(ValueError, match="127.0.0.1:PORT"):
        render_config("nginx", 8080, "/tmp/app.sock", Path("/tmp/run"), 1)
    with pytest.raises(ValueError, match="absolute"):
        render_config("nginx", 8080, "127.0.0.1:8001", Path("run"), 1)
    assert sorted(TOPOLOGIES) == ["fixed-body", "nginx", "nginx-unix", "nginx-uwsgi"]


# --- a real nginx ----------------------------------------------------------------------------

@needs_nginx
def test_the_request_count_is_read_from_stub_status():
    # stub_status's answer as nginx 1.22 writes it
    text = ("Active connections: 3 \nserver accepts handled requests\n 17 17 1042 \n"
            "Reading: 0 Writing: 1 Waiting: 2 \n")
    assert requests_in_stub_status(text) == 1042
    with pytest.raises(ServiceError, match="stub_status answered something else"):
        requests_in_stub_status("<html>404</html>")


def test_the_version_is_read_from_the_binary():
    assert re.fullmatch(r"\d+\.\d+\.\d+", nginx_version(NGINX))


@needs_nginx
def test_tcp_upstream_answers_through_nginx_and_no_nginx_process_survives(app_dir, tmp_path):
    upstream = "127.0.0.1:{}".format(free_port())
    front = NginxFront("nginx", free_port(), upstream, tmp_path / "run", worker_processes=2)
    with gunicorn(app_dir, upstream, "--worker-class", "gthread"), front.running():
        read_before = front.requests_read()
        echoed = get(front, "/plaintext?x=1")
        read_after = front.requests_read()
        members = group_members(front.process.pid)
        assert "worker_processes 2;" in front.config_path.read_text()
    assert echoed["PATH_INFO"] == "/plaintext" and echoed["QUERY_STRING"] == "x=1"
    assert echoed["HTTP_HOST"] == "127.0.0.1:{}".format(front.listen_port)
    assert echoed["HTTP_CONNECTION"] is None  # not "close", which would end upstream keepalive
    assert len(members) == 3, members  # master + 2 workers
    assert read_after - read_before == 2  # the GET, and the second reading itself (stub_status counts it)
    assert group_members(front.process.pid) == []
    assert all(not Path("/proc/{}".format(pid)).exists() for pid in members)
    assert (tmp_path / "run" / "nginx-temp-proxy").is_dir()  # temp files stay in the run directory


@needs_nginx
def test_unix_socket_upstream_answers_through_nginx(app_dir, tmp_path):
    os.chmod(str(tmp_path), 0o700)  # as private as a mkdtemp directory: nginx's workers must still get in
    socket_path = str(tmp_path / "app.sock")
    front = NginxFront("nginx-unix", free_port(), socket_path, tmp_path / "run")
    with gunicorn(app_dir, "unix:" + socket_path), front.running():
        assert get(front, "/json")["PATH_INFO"] == "/json"


@needs_nginx
def test_uwsgi_protocol_upstream_answers_through_nginx(app_dir, tmp_path):
    os.chmod(str(tmp_path), 0o700)
    socket_path = str(tmp_path / "uwsgi.sock")
    front = NginxFront("nginx-uwsgi", free_port(), socket_path, tmp_path / "run")
    with uwsgi_server(app_dir, socket_path), front.running():
        echoed = get(front, "/db?queries=2")
    assert echoed["REQUEST_METHOD"] == "GET" and echoed["PATH_INFO"] == "/db"
    assert echoed["QUERY_STRING"] == "queries=2"
    assert echoed["HTTP_HOST"] == "127.0.0.1:{}".format(front.listen_port)


@needs_nginx
def test_readiness_waits_through_502_while_the_upstream_boots(app_dir, tmp_path):
    # --preload imports the (slow) app before gunicorn creates its socket, so nginx
    # first finds no upstream at all and answers 502.
    socket_path = str(tmp_path / "app.sock")
    front = NginxFront("nginx-unix", free_port(), socket_path, tmp_path / "run")
    with gunicorn(app_dir, "unix:" + socket_path, "--preload", ECHO_BOOT_DELAY_S="1.5"), front.running():
        assert get(front, "/")["PATH_INFO"] == "/"
        assert "connect() to unix:{} failed".format(socket_path) in front.error_log.read_text()


@needs_nginx
def test_an_unreachable_upstream_fails_with_nginx_own_error(tmp_path):
    socket_path = str(tmp_path / "nobody-listens.sock")
    front = NginxFront("nginx-unix", free_port(), socket_path, tmp_path / "run", boot_timeout_s=1)
    with pytest.raises(ServiceError) as error:
        with front.running():
            pass
    assert "only 502" in str(error.value)
    assert "connect() to unix:{} failed (2: No such file or directory)".format(socket_path) in str(error.value)
    assert group_members(front.process.pid) == []


@needs_nginx
def test_a_taken_port_fails_with_nginx_own_error_even_if_the_squatter_answers_200(tmp_path):
    class Squatter(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    squatter = http.server.HTTPServer(("127.0.0.1", 0), Squatter)
    thread = threading.Thread(target=squatter.serve_forever, daemon=True)
    thread.start()
    port = squatter.server_address[1]
    front = NginxFront("nginx", port, "127.0.0.1:{}".format(free_port()), tmp_path / "run")
    try:
        with pytest.raises(ServiceError) as error:
            with front.running():
                pass
    finally:
        squatter.shutdown()
        squatter.server_close()
    assert "exited with code 1" in str(error.value)
    assert "bind() to 127.0.0.1:{} failed (98: Address already in use)".format(port) in str(error.value)
    assert group_members(front.process.pid) == []


@needs_nginx
def test_a_config_nginx_rejects_is_reported_with_its_message(tmp_path):
    front = NginxFront("nginx", 70000, "127.0.0.1:8001", tmp_path / "run")
    with pytest.raises(ServiceError, match=r"(?s)nginx rejected .*invalid port in \"127\.0\.0\.1:70000\""):
        with front.running():
            pass
    assert front.process is None  # nothing was started


@needs_nginx
def test_nginx_stops_when_the_block_raises(app_dir, tmp_path):
    upstream = "127.0.0.1:{}".format(free_port())
    front = NginxFront("nginx", free_port(), upstream, tmp_path / "run")
    with pytest.raises(KeyError):
        with gunicorn(app_dir, upstream), front.running():
            assert group_members(front.process.pid)
            raise KeyError("the benchmark failed")
    assert group_members(front.process.pid) == []
