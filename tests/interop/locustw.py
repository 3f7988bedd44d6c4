#!/usr/bin/python3
"""Run Debian's locust with a version string.

Debian's python3-locust 2.12.1 ships locust/_version.py with version = '',
so its master rejects its own workers ("An old (pre 2.0) worker tried to
connect"). This wrapper, owned by the tests, gives the package a version
before locust is imported, then runs locust's main() with our arguments.
"""
import sys
import types

VERSION = "2.12.1"

module = types.ModuleType("locust._version")
module.version = VERSION
module.__version__ = VERSION
sys.modules["locust._version"] = module

from locust.main import main  # noqa: E402

sys.exit(main())
