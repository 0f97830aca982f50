"""Deliberately faulty WSGI apps, served by real servers to prove the harness catches them."""
