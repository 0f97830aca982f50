"""benchmatrix under tox 4: one environment per cell of the matrix nox lists, nothing else.

tox loads this file as an inline plugin (it needs no tox.ini); the hooks come from
benchmatrix.tox, over the same listing as noxfile.py, so `tox l` and `nox -l` list the same cells:

    nox -s "bench-3.13(server='gunicorn+nginx-unix', app='flask')"
    tox -e py313-gunicorn+nginx-unix-flask

Labels are the nox tags: `tox -m asgi` selects what `nox -t asgi` does. benchmatrix is
installed in tox's own environment (tools/setup.sh), without its dependencies.
"""

from benchmatrix.tox import tox_add_core_config, tox_add_env_config, tox_extend_envs, tox_on_install

__all__ = ["tox_add_core_config", "tox_add_env_config", "tox_extend_envs", "tox_on_install"]
