"""moto in server mode, with the services Therabill uses loaded before it starts listening.

moto loads a service's backend (and builds its URL map) on the first request for it, which costs
about a second across the services the stack provisions. Loading them while the other emulator
starts takes that off the critical path. Otherwise this is ``python -m moto.server``: if preloading
fails (moto internals change), the server starts anyway and loads lazily as usual.

It also answers ``GET /_devstack/ses.json``: the sent mail alone, in the shape of moto's model
dump (``{"ses": {"RawMessage": [...], "Message": [...]}}``). moto's ``/moto-api/data.json`` dumps
every model instance it ever tracked (each DynamoDB item version too), which takes seconds once
the stack has run a while; the mailbox reads only the mail.

Run: ``python -m devstack.moto_server --host 127.0.0.1 --port 5000``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable
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


MAIL_PATH = "/_devstack/ses.json"


def _fields(instance: Any) -> dict[str, Any]:
    """An instance's public attributes that JSON can hold, as moto's model dump gives them."""
    out: dict[str, Any] = {}
    for name in dir(instance):
        if name.startswith("_"):
            continue
        try:
            value = getattr(instance, name)
            json.dumps(value)
        except (TypeError, AttributeError, ValueError):
            continue
        out[name] = value
    return out


def sent_mail() -> dict[str, Any]:
    """moto's SES models (the messages it accepted), as ``/moto-api/data.json`` has them."""
    from moto.core.model_instances import model_data

    models = model_data.get("ses", {})
    return {"ses": {name: [_fields(i) for i in list(models[name].instances_tracked)] for name in models}}


class MailRoute:
    """WSGI: ``GET /_devstack/ses.json`` answered here, everything else by moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != MAIL_PATH or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        body = json.dumps(sent_mail()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


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
    run_simple(args.host, args.port, MailRoute(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
