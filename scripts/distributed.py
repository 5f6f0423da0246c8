"""`make distributed`: StyleVault's distributed topology on one machine, as an operator runs it.

A PostgreSQL database and a RabbitMQ virtual host of its own (on the local servers that
`make services` starts), Redis for progress and the cache, an S3 server (moto in server
mode: a real HTTP endpoint, STYLEVAULT_STORAGE_URL points at it, nothing is written to local
media), `stylevault serve --processes 2` behind the port and two Celery workers. A worker
that dies is restarted and its jobs handed back at once; a web process that dies is replaced
by `serve`. Ctrl-C or SIGTERM stops everything and drops the database and virtual host
(`--keep` leaves them); any other death, SIGKILL included, still stops every process.

    python scripts/distributed.py [--port 8000] [--name stylevault_dist] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUCKET = "stylevault-media"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_us() -> None:
    """In a child before exec (this script runs no threads): SIGTERM when we die."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start_s3(port: int, log: Path) -> subprocess.Popen:
    moto = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    with log.open("w") as out:
        return subprocess.Popen(
            [moto, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_us,  # safe: this script runs no threads
        )


def _make_bucket(endpoint: str) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )
    for _attempt in range(100):
        try:
            s3.create_bucket(Bucket=BUCKET)
            return
        except Exception:  # the server is still starting
            import time

            time.sleep(0.1)
    raise SystemExit(f"the S3 server at {endpoint} did not start")


def _admin_sql(pg_url: str, statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _rabbitmqctl(*args: str) -> bool:
    if shutil.which("rabbitmqctl") is None:
        return False
    result = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True)
    return result.returncode == 0


def topology_env(*, database: str, broker: str, redis: str, s3: str, data_dir: Path) -> dict:
    """The environment every process of the topology runs with."""
    return {
        "DATABASE_URL": database,
        "STYLEVAULT_BROKER_URL": broker,
        "STYLEVAULT_REDIS_URL": redis,
        "STYLEVAULT_STORAGE_URL": f"s3://{BUCKET}?endpoint_url={s3}&region_name=us-east-1",
        # moto takes any credentials; the processes need some.
        "AWS_ACCESS_KEY_ID": "stylevault-local",
        "AWS_SECRET_ACCESS_KEY": "stylevault-local",
        "STYLEVAULT_DATA_DIR": str(data_dir),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--name", default="stylevault_dist", help="database and vhost name")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--data-dir", type=Path, help="keys and model cache (default: a temp dir)")
    parser.add_argument("--web-processes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database and vhost")
    args = parser.parse_args(argv)
    if not args.name.replace("_", "").isalnum():
        parser.error("--name: letters, digits and _ only")

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix=f"{args.name}-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    s3_port = _free_port()
    s3 = _start_s3(s3_port, data_dir / "s3.log")
    endpoint = f"http://127.0.0.1:{s3_port}"
    _admin_sql(f"{args.pg}/postgres", [f'CREATE DATABASE "{args.name}"'])
    vhost = _rabbitmqctl("add_vhost", args.name) and _rabbitmqctl(
        "set_permissions", "-p", args.name, "guest", ".*", ".*", ".*"
    )
    env = topology_env(
        database=f"{args.pg}/{args.name}",
        # Without rabbitmqctl, the default vhost (its queue names are shared then).
        broker=f"{args.amqp}/{args.name if vhost else ''}",
        redis=args.redis,
        s3=endpoint,
        data_dir=data_dir,
    )
    os.environ.update(env)
    try:
        _make_bucket(endpoint)
        return _run(args)
    finally:
        s3.terminate()
        s3.wait(timeout=10)
        if not args.keep:
            with contextlib.suppress(Exception):
                _admin_sql(f"{args.pg}/postgres", [f'DROP DATABASE "{args.name}" WITH (FORCE)'])
            if vhost:
                _rabbitmqctl("delete_vhost", args.name)


def _run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stylevault.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from stylevault.jobs.worker import hand_back_jobs_of
    from stylevault.ops.processes import supervise
    from stylevault.styles import demo

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    if demo.is_empty():
        call_command("demo", no_wait=True)
    serve = ["serve", "--port", str(args.port), "--processes", str(args.web_processes)]
    commands = {"web": serve, **{f"worker-{n}": ["worker"] for n in range(args.workers)}}
    print(
        f"StyleVault (distributed: PostgreSQL {args.name}, RabbitMQ, Redis, S3 at "
        f"{os.environ['STYLEVAULT_STORAGE_URL']}) on http://127.0.0.1:{args.port}/",
        flush=True,
    )
    return supervise(commands, on_exit=hand_back_jobs_of)


if __name__ == "__main__":
    sys.exit(main())
