"""The `stylevault` command: Django's manage.py with our settings, plus our own commands."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    from stylevault.ops.processes import end_with_parent

    end_with_parent()  # first: a child of `up` or `serve` must not outlive its parent
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stylevault.settings")
    # Nothing of Django or the settings loads before the command line is read.
    from stylevault.core.config import ConfigError

    try:
        # Django loads only after core.config has checked the environment.
        import django

        django.setup()
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"stylevault: configuration error: {problem}", file=sys.stderr)
        sys.exit(2)
    # Django loads only after core.config has checked the environment.
    from django.core.management import execute_from_command_line

    execute_from_command_line(["stylevault", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
