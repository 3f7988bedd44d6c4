#!/usr/bin/python3
"""Run the integration tests (tests/integration/test_*.py) with unittest.

Usage: run_integration.py [-k PATTERN] [MODULE...]
Prints unittest's summary and exits non-zero on any failure.
"""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-k", dest="patterns", action="append", default=None)
    parser.add_argument("--dir", default="integration")
    parser.add_argument("modules", nargs="*")
    args = parser.parse_args()
    # A master given neither --expect-workers nor --processes starts
    # local workers (one per core). The tests start their workers
    # themselves unless they say --processes; test_first_hour checks the
    # default with this variable removed.
    os.environ.setdefault("APEX_PROCESSES", "0")
    sys.path.insert(0, os.path.join(HERE, args.dir))
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = args.patterns
    if args.modules:
        suite = loader.loadTestsFromNames(args.modules)
    else:
        suite = loader.discover(os.path.join(HERE, args.dir),
                                top_level_dir=os.path.join(HERE, args.dir))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    print("%s tests: %d run, %d failures, %d errors, %d skipped" % (
        args.dir, result.testsRun, len(result.failures), len(result.errors),
        len(result.skipped)))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
