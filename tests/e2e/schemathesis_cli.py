"""Runs the schemathesis CLI after parsing its lambdas' source files once, up front.

CPython 3.11.7 can raise "SystemError: AST constructor recursion depth mismatch" when
hypothesis parses a source file (to describe a lambda) deep inside generation while the
recursion limit is being adjusted; it hit schemathesis' coverage module in about half of
our runs, crashing the tool, not our API. Filling hypothesis' parse cache from a shallow
stack first means that parse never happens mid-run.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys

from hypothesis.internal import lambda_sources

PRE_PARSED = (
    "schemathesis.specs.openapi.coverage._schema",
    "schemathesis.specs.openapi.coverage._operation",
)


def pre_parse(module_name: str) -> None:
    lines, _ = inspect.findsource(importlib.import_module(module_name))
    tree = ast.parse("".join(lines))
    lambda_sources.AST_LAMBDAS_CACHE[tuple(lines)] = lambda_sources.extract_all_lambdas(tree)


if __name__ == "__main__":
    for name in PRE_PARSED:
        pre_parse(name)
    from schemathesis.cli import schemathesis

    sys.argv[0] = "schemathesis"
    sys.exit(schemathesis())
