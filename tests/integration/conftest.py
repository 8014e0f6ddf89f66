"""Integration tests: real servers on loopback, started by the harness.

Each harness module owns one kind of server and registers its fixtures as a
pytest plugin here.  A server that does not start is a test failure, never a
skip: CI must not pass without the real components.
"""
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(__file__))

# Tarpits keep every accepted socket open, and hundreds of probes hang on
# them at once: take the hard limit on descriptors, as the daemon does, so
# a machine whose soft default is 1024 runs the same tests.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < _hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))

pytest_plugins = [
    "harness.net",
    "harness.pg",
    "harness.chat",
    "harness.redis",
    "harness.daemon",
    "harness.tls",
]
