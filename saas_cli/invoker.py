"""How an event reaches a connector: the Lambda handler in this process, or a deployed function (boto3).

Both paths see exactly what AWS would carry: the event is ``json.dumps``-ed and ``json.loads``-ed before the
handler gets it, and the handler's answer goes through JSON again before the caller reads it. An uncaught
exception becomes a :class:`FunctionError`, as Lambda reports it (``errorType`` is the exception's class name).

In-process handlers print their structured logs and metrics to stdout, as they do in Lambda; while a call
runs, what its thread prints goes to stderr (``verbose``) or nowhere, so the command's own output stays clean.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Protocol

ATHENA_HANDLER = "athena_connector.handler:lambda_handler"
APPFLOW_HANDLER = "appflow_connector.handler:lambda_handler"
DEFAULT_TIMEOUT_S = 900.0  # the longest a Lambda may run


class FunctionError(Exception):
    """The function failed (Lambda's error payload): ``error_type`` and ``error_message``."""

    def __init__(self, error_type: str, error_message: str, function: str = "") -> None:
        self.error_type = error_type
        self.error_message = error_message
        self.function = function
        super().__init__(f"{error_type}: {error_message}")


class Invoker(Protocol):
    name: str

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]: ...


class LocalContext:
    """The parts of the Lambda context handlers read (powertools reads the names, the connectors the clock)."""

    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    log_group_name = "/aws/lambda/local"
    log_stream_name = "local"

    def __init__(self, function_name: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self._end = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def through_json(value: Any) -> Any:
    """What survives the trip through Lambda's JSON interface."""
    return json.loads(json.dumps(value))


# -- stdout of in-process handlers ------------------------------------------------------------------------


class _HandlerOutput(io.TextIOBase):
    """Installed as ``sys.stdout`` while handlers run: a handler thread's output goes to ``sink``, any other
    thread's to the real stdout."""

    def __init__(self, real: Any, sink: Any) -> None:
        self.real = real
        self.sink = sink
        self.local = threading.local()

    def _target(self) -> Any:
        return self.sink if getattr(self.local, "in_handler", False) else self.real

    def write(self, text: str) -> int:
        target = self._target()
        if target is None:
            return len(text)
        return int(target.write(text))

    def flush(self) -> None:
        target = self._target()
        if target is not None:
            target.flush()

    def isatty(self) -> bool:
        return bool(self.real.isatty())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.real, "encoding", "utf-8"))

    def fileno(self) -> int:
        return int(self.real.fileno())


_router_lock = threading.Lock()
_router: _HandlerOutput | None = None
_router_users = 0


@contextlib.contextmanager
def _route_stdout(verbose: bool) -> Iterator[_HandlerOutput]:
    global _router, _router_users
    with _router_lock:
        if _router is None:
            _router = _HandlerOutput(sys.stdout, sys.stderr if verbose else None)
            sys.stdout = _router  # type: ignore[assignment]
        _router_users += 1
        router = _router
    try:
        yield router
    finally:
        with _router_lock:
            _router_users -= 1
            if _router_users == 0 and _router is not None:
                if sys.stdout is _router:
                    sys.stdout = _router.real
                _router = None


class InProcessInvoker:
    """Calls ``module:function`` in this process with a JSON-round-tripped event and a Lambda-like context."""

    def __init__(
        self,
        handler: str,
        *,
        function_name: str = "local",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        verbose: bool = False,
    ) -> None:
        self.handler_ref = handler
        self.name = f"{function_name} (in-process {handler})"
        self.function_name = function_name
        self.timeout_s = timeout_s
        self.verbose = verbose
        self._handler: Callable[[Any, Any], Any] | None = None
        self._lock = threading.Lock()

    def _load(self) -> Callable[[Any, Any], Any]:
        """Imported on the first call, inside the routed stdout, so loggers made at import write through it."""
        with self._lock:
            if self._handler is None:
                module_name, _, attr = self.handler_ref.partition(":")
                self._handler = getattr(importlib.import_module(module_name), attr)
            return self._handler

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        payload = through_json(event)
        context = LocalContext(self.function_name, self.timeout_s)
        with _route_stdout(self.verbose) as router:
            router.local.in_handler = True
            try:
                out = self._load()(payload, context)
            except Exception as exc:
                raise FunctionError(type(exc).__name__, str(exc), self.function_name) from exc
            finally:
                router.local.in_handler = False
        return through_json(out)  # type: ignore[no-any-return]


class LambdaInvoker:
    """Invokes a deployed function synchronously (RequestResponse), as Athena and AppFlow do."""

    def __init__(self, function_name: str, *, region: str | None = None, client: Any = None) -> None:
        self.function_name = function_name
        self.name = function_name
        self._client = client
        self._region = region
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                config = Config(read_timeout=DEFAULT_TIMEOUT_S + 10, connect_timeout=10, retries={"max_attempts": 2})
                self._client = boto3.client("lambda", region_name=self._region, config=config)
            return self._client

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        response = self.client().invoke(
            FunctionName=self.function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode("utf-8"),
        )
        raw = response["Payload"].read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            raise FunctionError("InvalidResponse", f"the function answered non-JSON: {raw[:200]!r}") from None
        if response.get("FunctionError"):
            body = body if isinstance(body, dict) else {}
            raise FunctionError(
                str(body.get("errorType") or response["FunctionError"]),
                str(body.get("errorMessage") or "the function failed"),
                self.function_name,
            )
        if not isinstance(body, dict):
            raise FunctionError("InvalidResponse", f"the function answered {type(body).__name__}, not an object")
        return body


def make_invoker(
    handler: str, function_name: str | None, *, region: str | None = None, verbose: bool = False
) -> Invoker:
    """A deployed function when ``function_name`` is given, else the handler in this process."""
    if function_name:
        return LambdaInvoker(function_name, region=region)
    local_name = handler.partition(".")[0].replace("_", "-")
    return InProcessInvoker(handler, function_name=local_name, verbose=verbose)
