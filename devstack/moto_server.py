"""moto in server mode, with the services Therabill uses loaded before it starts listening.

moto loads a service's backend (and builds its URL map) on the first request for it, which costs
about a second across the services the stack provisions. Loading them while the other emulator
starts takes that off the critical path. Otherwise this is ``python -m moto.server``: if preloading
fails (moto internals change), the server starts anyway and loads lazily as usual.

Run: ``python -m devstack.moto_server --host 127.0.0.1 --port 5000``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

SERVICES = ("dynamodb", "sqs", "ses", "sesv2", "s3", "secretsmanager", "scheduler", "kms", "sts", "moto_api")


def _preload(app: Any) -> None:
    from moto.backends import get_backend

    for service in SERVICES:
        try:
            get_backend(service)  # type: ignore[call-overload]
            if service not in app.app_instances:
                app.app_instances[service] = app.create_app(service)
        except Exception as exc:  # an optimisation only
            logging.getLogger("devstack.moto").warning("could not preload %s: %s", service, exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto server with Therabill's services preloaded")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto.server does
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # type: ignore[attr-defined]
    _preload(app)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
