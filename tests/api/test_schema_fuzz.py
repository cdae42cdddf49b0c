"""Schemathesis over the OpenAPI schema, in process against the ASGI app: generated requests
(as an officer, and as an enterprise) never get a server error. Each operation gets a bounded
number of examples so the whole test stays under a minute.

(The operations are driven with their hypothesis strategies directly rather than through
schemathesis' pytest plugin, which does not load under the pytest version pinned here.)"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from .conftest import Env

OPERATION_EXAMPLES = 5


def test_generated_requests_never_get_a_server_error(env: Env) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", env.app)
    with TestClient(env.app) as c:
        headers = [env.token(c, role) for role in ("officer", "enterprise")]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=OPERATION_EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            for h in headers:
                response = case.call(headers=h)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path}: "
                                    f"{response.status_code} {response.text[:200]}")

        check()
    thread = getattr(env.app.state, "run_thread", None)
    if thread is not None:
        thread.join(timeout=60)
    assert not failures, "\n".join(failures)
