"""nginx in front of a cell's app server: find it, render its config, run it.

The topology is the suffix of a server name in the matrix: `nginx` proxies HTTP
to a TCP upstream, `nginx-unix` proxies HTTP to a unix socket, `nginx-uwsgi`
speaks the uwsgi protocol to a unix socket. The templates live in nginx/; the
rendered config is written into the run directory, so the raw output of a run
holds exactly what was measured.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any, Dict, Iterator, List, Optional, Tuple

from benchmatrix.matrix.cells import REPO_ROOT
from benchmatrix.stack import probe
from benchmatrix.stack.probe import Endpoint
from benchmatrix.stack.process import started
from benchmatrix.stack.readiness import ServiceError, wait_ready

TEMPLATES = REPO_ROOT / "nginx"
TOPOLOGIES = {  # topology -> (template, how its upstream is addressed)
    "nginx": ("proxy.conf.template", "tcp"),
    "nginx-unix": ("proxy.conf.template", "unix"),
    "nginx-uwsgi": ("uwsgi.conf.template", "unix"),
    "fixed-body": ("fixed-body.conf.template", None),  # no upstream: the load generator's ceiling target
}
CONFIG_NAME = "nginx.conf"
ERROR_LOG_NAME = "nginx-error.log"  # these two must match error_log and pid in the templates
PID_NAME = "nginx.pid"
STATUS_PATH = "/_benchmatrix/nginx_status"  # stub_status in the proxying templates
UPSTREAM_NOT_READY = (502, 503, 504)  # what nginx answers while the upstream still boots
DEBIAN_NGINX = "/usr/sbin/nginx"  # not on PATH for non-root users on Debian


class NginxMissing(ServiceError):
    """Raised with the command that installs nginx."""


def find_nginx() -> str:
    path = shutil.which("nginx")
    if path is None and os.access(DEBIAN_NGINX, os.X_OK):
        path = DEBIAN_NGINX
    if path is None:
        raise NginxMissing(
            "nginx was not found on PATH or at {}. Install it with `sudo apt-get install nginx-light` "
            "(tools/setup.sh does this), then run the bench again.".format(DEBIAN_NGINX))
    return path


def nginx_version(binary: str) -> str:
    """"1.22.1" from `nginx -v` (which prints to stderr); its whole output if that has no version."""
    result = subprocess.run([binary, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=30)
    match = re.search(r"nginx/(\S+)", result.stdout)
    return match.group(1) if match else result.stdout.strip()


def requests_in_stub_status(text: str) -> int:
    """The `requests` total of stub_status's answer ("server accepts handled requests" then three numbers)."""
    match = re.search(r"server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)", text)
    if match is None:
        raise ServiceError("nginx's stub_status answered something else: {!r}".format(text[:200]))
    return int(match.group(3))


def render_config(topology: str, listen_port: int, upstream: str, run_dir: Path,
                  worker_processes: int, user: Optional[str] = None, listen_address: str = "127.0.0.1") -> str:
    """The nginx.conf text for a topology.

    upstream is "127.0.0.1:PORT" for `nginx` and a socket path for the unix topologies.
    user, when given, is written as the `user` directive: see NginxFront.worker_user.
    """
    if topology not in TOPOLOGIES:
        raise ValueError("unknown nginx topology {!r}; valid ones are {}".format(
            topology, ", ".join(sorted(TOPOLOGIES))))
    if not Path(run_dir).is_absolute():
        raise ValueError("run_dir must be absolute (nginx would resolve {} against its prefix)".format(run_dir))
    template_name, addressing = TOPOLOGIES[topology]
    if addressing is None:
        upstream_server = ""
    elif addressing == "unix":
        upstream_server = '"unix:{}"'.format(upstream)
    elif re.fullmatch(r"127\.0\.0\.1:\d+", upstream):
        upstream_server = upstream
    else:
        raise ValueError("the {} topology needs a 127.0.0.1:PORT upstream, not {!r}".format(topology, upstream))
    user_directive = ("user {};".format(user) if user else
                      "# no user directive: nginx was not started as root, so its workers keep its user")
    return Template((TEMPLATES / template_name).read_text(encoding="utf-8")).substitute(
        worker_processes=int(worker_processes), listen_port=int(listen_port), run_dir=str(run_dir),
        listen_address=str(ipaddress.ip_address(listen_address)),
        upstream_server=upstream_server, user_directive=user_directive)


@dataclass
class NginxFront:
    """A real nginx on listen_address:listen_port (loopback unless the server has a host of its own)
    in front of an upstream, run from run_dir."""
    topology: str
    listen_port: int
    upstream: str
    run_dir: Path
    worker_processes: int = 1
    ready_path: str = "/"
    boot_timeout_s: float = 30.0
    binary: str = ""  # found with find_nginx() when not given
    prefix: Tuple[str, ...] = ()  # e.g. taskset: what nginx's master and workers run under
    process: Optional[subprocess.Popen] = None
    listen_address: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.run_dir = Path(os.path.abspath(str(self.run_dir)))
        self.binary = self.binary or find_nginx()

    @property
    def base_url(self) -> str:
        return "http://{}:{}".format(self.listen_address, self.listen_port)

    @property
    def config_path(self) -> Path:
        return self.run_dir / CONFIG_NAME

    @property
    def error_log(self) -> Path:
        return self.run_dir / ERROR_LOG_NAME

    @staticmethod
    def worker_user() -> Optional[str]:
        # Started as root, nginx's workers switch to `nobody`, which cannot connect to
        # an upstream socket inside a private 0700 directory (pytest's, mkdtemp's):
        # measured, "connect() ... failed (13: Permission denied)" and only 502s.
        # Loosening the modes of directories and sockets that other programs create
        # would be fragile; root workers gain nothing the app server (started by the
        # same root harness) does not already have, and nginx listens on loopback only.
        return "root" if os.geteuid() == 0 else None

    def argv(self, *extra: str) -> List[str]:
        # -e: errors found before the config's error_log is read (bad config, missing
        # file) go to the run directory too, not to the compiled-in /var/log path.
        return [self.binary, "-p", str(self.run_dir), "-c", str(self.config_path),
                "-e", str(self.error_log), *extra]

    def conditions(self) -> Dict[str, Any]:
        """What a record needs to say about this front to be reproduced."""
        return {"topology": self.topology, "worker_processes": self.worker_processes,
                "version": nginx_version(self.binary), "config": str(self.config_path)}

    def requests_read(self) -> int:
        """How many requests nginx has read since it started (this one included), by its own count."""
        try:
            answer = probe.get(Endpoint(port=self.listen_port, host=self.listen_address), STATUS_PATH, 10.0)
        except (OSError, http.client.HTTPException) as error:
            raise ServiceError("nginx's request count could not be read: {}".format(error))
        return requests_in_stub_status(answer.body.decode("latin-1"))

    def write_config(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_config(
            self.topology, self.listen_port, self.upstream, self.run_dir, self.worker_processes,
            user=self.worker_user(), listen_address=self.listen_address), encoding="utf-8")

    def check_config(self) -> None:
        result = subprocess.run([*self.prefix, *self.argv("-t", "-q")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=30)
        if result.returncode != 0:
            raise ServiceError("nginx rejected {}:\n{}".format(self.config_path, result.stdout.strip()))

    def _owns_port(self) -> bool:
        # nginx writes its pid file only once it has bound the listen port. Until then
        # whatever answers there is another program (nginx retries a taken port for
        # 2.5 s before it gives up), and its 200 must not pass for this nginx's.
        try:
            return (self.run_dir / PID_NAME).read_text().strip() == str(self.process.pid)
        except OSError:
            return False

    def _probe(self) -> Optional[str]:
        """Ready once a request through nginx reaches the app: nginx answers 502 while the upstream boots."""
        if not self._owns_port():
            return "its pid file does not name it yet (port {} may be taken)".format(self.listen_port)
        status = probe.status_or_none(Endpoint(port=self.listen_port, host=self.listen_address), self.ready_path)
        if status is None:
            return "no HTTP answer on {}{}".format(self.base_url, self.ready_path)
        if status in UPSTREAM_NOT_READY:
            return "only {} on {}{} (upstream {} unreachable?)".format(status, self.base_url, self.ready_path,
                                                                      self.upstream)
        return None

    @contextlib.contextmanager
    def running(self) -> Iterator["NginxFront"]:
        """nginx up and passing requests to the upstream; stopped (whole group) however the block ends."""
        self.write_config()
        self.check_config()
        # The error log doubles as the capture of nginx's stdout/stderr: both append.
        with started([*self.prefix, *self.argv()], self.error_log, long_running=True) as self.process:
            wait_ready(self.process, self._probe, self.boot_timeout_s, "nginx ({})".format(self.topology),
                       self.error_log, extra="\n  config: {}".format(self.config_path))
            yield self
