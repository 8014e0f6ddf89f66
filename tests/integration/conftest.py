"""Integration tests: real servers on loopback, started by the harness.

Each harness module owns one kind of server and registers its fixtures as a
pytest plugin here.  A server that does not start is a test failure, never a
skip: CI must not pass without the real components.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

pytest_plugins = [
    "harness.net",
    "harness.pg",
    "harness.chat",
    "harness.redis",
    "harness.daemon",
    "harness.tls",
]
