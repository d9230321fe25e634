"""One ASGI middleware per request: request id, access log line, HTTP metrics."""

from __future__ import annotations

import logging
import time

from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logging import new_request_id, request_id

log = logging.getLogger("storyline.access")


class RequestContext:
    """Sets the request id for every log line of the request, echoes it as X-Request-ID,
    counts the request by route template (never by raw path: ids would explode the series)
    and logs one line: method, route, status, duration, key id; never bodies or keys."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                offered = value.decode("latin-1")
                break
        # routing rewrites root_path for mounts; keep what identifies the request
        probe = {k: scope.get(k, "") for k in ("type", "path", "root_path", "method")}
        rid = new_request_id(offered)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", rid.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            app = scope.get("app")
            template = route_template(scope, probe, app)
            method = scope.get("method", "")
            metrics = getattr(getattr(app, "state", None), "metrics", None)
            if metrics is not None:
                metrics.requests.labels(method, template, str(status)).inc()
                metrics.request_seconds.labels(method, template).observe(elapsed)
            state = scope.get("state") or {}
            principal = state.get("principal")
            log.info(
                "%s %s %d %.1f ms",
                method,
                template,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "key_id": getattr(principal, "key_id", None),
                },
            )
            request_id.reset(token)


def route_template(scope: Scope, probe: Scope, app: object) -> str:
    """The matched route's path template. FastAPI's routes put themselves in the scope;
    plain Starlette routes (/openapi.json) and mounts (/static, /docs/assets) do not, so
    they are matched again here. `<unmatched>`: no route took the request (a 404, or a
    request refused before routing)."""
    path = getattr(scope.get("route"), "path", None)
    if path:
        return str(path)
    for route in getattr(app, "routes", ()):
        if isinstance(route, Route | Mount) and route.matches(probe)[0] == Match.FULL:
            return f"{route.path}/{{path}}" if isinstance(route, Mount) else route.path
    return "<unmatched>"
