"""Runs the schemathesis CLI with hypothesis' lambda descriptions taken from code objects.

CPython 3.11.7 can raise "SystemError: AST constructor recursion depth mismatch" when
hypothesis parses a source file (to describe a lambda in a strategy's repr) deep inside
generation while the recursion limit is being adjusted. It crashed the tool, not our API, in
about half of our runs, from several schemathesis modules. A description only names a strategy
in messages (and lets a filter be rewritten as bounds, an optimisation), so here it comes from
the lambda's code location and never parses anything.
"""

from __future__ import annotations

import sys

from hypothesis.internal import filtering, lambda_sources


def describe_without_parsing(function) -> str:
    code = function.__code__
    return f"lambda at {code.co_filename}:{code.co_firstlineno}"


if __name__ == "__main__":
    # filtering imported the name; it then falls back to plain rejection sampling.
    lambda_sources.lambda_description = filtering.lambda_description = describe_without_parsing
    from schemathesis.cli import schemathesis

    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
