"""A stand-in for the Lambda Python runtime, to invoke a *built package* without Docker.

Run with the runtime's interpreter (CPython 3.12) from inside the package directory, as ``python -c <this
source> HANDLER``, so that ``sys.path[0]`` is the package root (``/var/task`` in Lambda) and nothing from the
checkout is importable; PYTHONPATH adds only the AWS SDK the runtime provides. Like the runtime it imports the
handler once and then serves invocations: one JSON line in (``{"event": ..., "remaining_ms": ...}``), one JSON
line out (``{"response": ...}``; ``{"origins": true}`` answers where each loaded module came from, or ``{"errorType", "errorMessage"}`` when the handler raised). Whatever the
code prints (logs, EMF metrics) goes to stderr, so stdout carries only the protocol.
"""

import importlib
import json
import os
import sys
import time
import traceback

protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # the handler's prints and log lines go to stderr
sys.stdout = sys.stderr


class Context:
    def __init__(self, remaining_ms):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"))
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.aws_request_id = f"req-{time.time_ns()}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "relay"
        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def origins():
    """Top-level module -> "package" (loaded from the package root) or the directory it came from."""
    root = os.path.realpath(os.getcwd())
    out = {}
    for name, loaded in list(sys.modules.items()):
        path = getattr(loaded, "__file__", None)
        if path and "." not in name:
            real = os.path.realpath(path)
            where = os.path.dirname(os.path.dirname(real) if real.endswith("__init__.py") else real)
            out[name] = "package" if real.startswith(root + os.sep) else where
    return out


def main():
    module_name, _, attribute = sys.argv[1].rpartition(".")
    started = time.monotonic()
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute)
    protocol.write(
        json.dumps(
            {
                "ready": True,
                "python": ".".join(map(str, sys.version_info[:3])),
                "import_ms": round((time.monotonic() - started) * 1000),
                "origins": origins(),
            }
        )
        + "\n"
    )
    for line in sys.stdin:
        request = json.loads(line)
        if "origins" in request:
            protocol.write(json.dumps({"origins": origins()}) + "\n")
            continue
        try:
            response = handler(request["event"], Context(request.get("remaining_ms", 300_000)))
            text = json.dumps({"response": response})
        except Exception as exc:  # what the runtime sends back for an unhandled exception
            text = json.dumps(
                {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": traceback.format_exc()}
            )
        protocol.write(text + "\n")


main()
