"""Typed errors of the wire layer.

A malformed event must fail loudly with a message that says *what* is wrong and *where*, because
the only thing Athena shows the user is the Lambda error message.
"""

from __future__ import annotations


class WireError(ValueError):
    """A message (request, response or Arrow payload) does not follow the Athena wire protocol.

    ``path`` locates the problem, e.g. ``ReadRecordsRequest.constraints.summary.col1``; ``problem`` says
    what is wrong. ``str(err)`` is ``"<path>: <problem>"``.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# Athena's engine recognises throttling by the Java exception type it receives. A Python Lambda reports
# ``type(exc).__name__`` as ``errorType``, so the class is given the Java fully-qualified name (an inference
# from the reference, section 10: the engine's matching rule is not public).
THROTTLE_ERROR_TYPE = "com.amazonaws.athena.connector.lambda.exceptions.FederationThrottleException"

FederationThrottleException: type[RuntimeError] = type(
    THROTTLE_ERROR_TYPE,
    (RuntimeError,),
    {
        "__doc__": "Raise to make Athena back off (AIMD congestion control) instead of failing the query.",
        "__module__": __name__,
    },
)
