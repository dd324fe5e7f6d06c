"""A cold start, measured in a fresh process: ``python cold.py MODE --config JSON [--path DIR]...``.

The clock starts at the top of this script (interpreter start-up is the same for every mode, so it is left out);
only ``sys``, ``time`` and ``json`` are imported before it. Modes:

* ``athena``: ``import athena_connector.handler``, then its first request and the same request again (warm):
  a ReadRecordsRequest with LIMIT 100 (one page of the demo API, answered inline);
* ``appflow``: ``import appflow_connector.handler``, then a first and a second QueryDataRequest with
  ``maxResults`` 100 (the first one reads the credentials from Secrets Manager, as in Lambda);
* ``floor``: import only the third-party modules that a handler had loaded by the end of its first request
  (``--modules FILE``, one name per line, found by ``--discover``), nothing of ours.

Prints one JSON object: ``import_s``, and for the handlers ``first_s``, ``second_s`` and (with ``--discover``)
``modules``.
"""

import sys
import time

STARTED = time.perf_counter()

import json  # noqa: E402

OURS = ("shared", "athena_connector", "appflow_connector")
HERE = __file__.rsplit("/", 1)[0]


class LambdaContext:
    function_name = "saas-connector-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:saas-connector-bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def __init__(self, seconds: float = 60.0) -> None:
        self._end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def third_party_modules() -> list[str]:
    """Modules loaded from outside the standard library that are not ours (the heavy dependencies)."""
    import sysconfig

    stdlib = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
    found = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or name == "__main__" or name.split(".")[0] in OURS:
            continue
        if any(path.startswith(p + "/") for p in stdlib) and "site-packages" not in path:
            continue
        if path.rsplit("/", 1)[0] == HERE:  # this script's own helpers
            continue
        found.append(name)
    return sorted(found)


def main() -> int:
    args = sys.argv[1:]
    mode = args[0]
    config = json.loads(args[args.index("--config") + 1]) if "--config" in args else {}
    paths = [args[i + 1] for i, a in enumerate(args) if a == "--path"]
    blocked = [args[i + 1] for i, a in enumerate(args) if a == "--block"]
    sys.path[1:1] = paths
    for name in blocked:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    result: dict = {"mode": mode}
    if mode == "floor":
        with open(args[args.index("--modules") + 1]) as fh:
            names = [line.strip() for line in fh if line.strip()]
        import importlib

        t0 = time.perf_counter()
        failed = []
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # a module that only imports in a particular order: counted, not fatal
                failed.append(name)
        result.update(import_s=time.perf_counter() - t0, failed=failed, modules=len(names))
    else:
        t0 = time.perf_counter()
        if mode == "athena":
            from athena_connector.handler import lambda_handler
        else:
            from appflow_connector.handler import lambda_handler
        result["import_s"] = time.perf_counter() - t0
        event = config["event"]
        times = []
        for _ in range(2):
            request = json.loads(json.dumps(event))
            t = time.perf_counter()
            answer = json.dumps(lambda_handler(request, LambdaContext()))
            times.append(time.perf_counter() - t)
            if mode == "appflow" and '"isSuccess": true' not in answer:
                raise SystemExit(f"QueryData failed: {answer[:500]}")
            if mode == "athena" and '"ReadRecordsResponse"' not in answer:
                raise SystemExit(f"ReadRecords failed: {answer[:500]}")
        result.update(first_s=times[0], second_s=times[1])
        if "--discover" in args:
            result["modules"] = third_party_modules()
    result["total_s"] = time.perf_counter() - STARTED
    result["python"] = sys.version.split()[0]
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
