"""One exception tree for everything the gateway reports to a client.

Every error knows its HTTP status and its OpenAI error ``type`` so that the HTTP layer can render it as
``{"error": {"message", "type", "param", "code"}}`` and the SDKs raise their usual exception classes.
Upstream failures are translated into this tree at one boundary (the providers), with ``raise ... from exc``.

    GatewayError                         500 api_error
    ├── ConfigError                      (start-up only; never reaches a client)
    ├── RequestError                     400 invalid_request_error
    │   ├── InvalidJSON                  400
    │   ├── UnknownModel                 404 (code model_not_found)
    │   ├── BodyTooLarge                 413
    │   ├── NotFound                     404 (unknown route)
    │   ├── MethodNotAllowed             405
    │   ├── Conflict                     409 (a name in use, a refused prompt move; code says which)
    │   ├── GuardrailViolation           400 (code guardrail_violation: a guardrail blocked the text)
    │   ├── RequestTimeout               408 (headers or body arrived too slowly)
    │   ├── URLTooLong                   414
    │   └── HeadersTooLarge              431
    ├── AuthenticationError              401 authentication_error
    ├── PermissionDenied                 403 permission_error
    ├── RateLimited                      429 rate_limit_error   (a gateway limit; issue: keys and budgets)
    ├── ServerBusy                       503 service_unavailable (too many connections)
    │   └── ServerShuttingDown           503 (the grace period ended while the request was open)
    ├── DependencyUnavailable            503 service_unavailable (a store not reachable yet, e.g. keys' database)
    │   ├── DatabaseUnavailable          503 (code database_unavailable: no database, or it cannot be reached)
    │   └── GuardrailUnavailable         503 (code guardrail_unavailable: a detector failed; fail closed)
    └── UpstreamError                    502 upstream_error     (the provider failed)
        ├── UpstreamBadRequest           400 (the provider refused the request itself; its message is kept)
        ├── UpstreamRateLimited          429 (still limited after retries)
        ├── UpstreamUnavailable          503 (every deployment is cooling down, or the provider said 503)
        ├── UpstreamTimeout              504
        │   └── ClientTimeout            504 (the client's shorter ``x-gateway-timeout`` ran out)
        ├── UpstreamConnectionError      502 (refused, reset, cut midway)
        └── ProviderAdapterError         500 (the provider adapter, e.g. litellm, failed on its own)

``retryable`` tells the router whether another attempt may succeed; ``retry_after`` carries a provider's
``Retry-After`` (seconds) when it sent one. ``blames_deployment`` tells it whether the failure counts toward
the deployment's cooldown: only upstream faults do, never what one client caused (a 4xx, its own short
timeout, a request the adapter cannot translate), so one tenant cannot cool a model down for everyone.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "api_error"
    default_code: ClassVar[str | None] = None
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code if code is not None else self.default_code
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class ConfigError(GatewayError):
    """A configuration problem found at start-up. The message names the file, the key and the problem."""


class RequestError(GatewayError):
    status = 400
    error_type = "invalid_request_error"


class InvalidJSON(RequestError):
    default_code = "invalid_json"


class UnknownModel(RequestError):
    status = 404
    default_code = "model_not_found"


class BodyTooLarge(RequestError):
    status = 413
    default_code = "request_too_large"


class NotFound(RequestError):
    status = 404
    default_code = "not_found"


class MethodNotAllowed(RequestError):
    status = 405
    default_code = "method_not_allowed"


class Conflict(RequestError):
    """The request is valid but contradicts the state: a name already in use, a prompt move the gate refused."""

    status = 409
    default_code = "conflict"


class GuardrailViolation(RequestError):
    """A guardrail blocked the request or the answer. The message names the guardrail and the entity type,
    never the text that matched."""

    default_code = "guardrail_violation"


class RequestTimeout(RequestError):
    status = 408
    default_code = "request_timeout"


class URLTooLong(RequestError):
    status = 414
    default_code = "url_too_long"


class HeadersTooLarge(RequestError):
    status = 431
    default_code = "request_headers_too_large"


class AuthenticationError(GatewayError):
    status = 401
    error_type = "authentication_error"
    default_code = "invalid_api_key"


class PermissionDenied(GatewayError):
    status = 403
    error_type = "permission_error"


class DependencyUnavailable(GatewayError):
    """A store the gateway needs for this request cannot be reached (e.g. virtual keys before the database
    answered once); other requests are served, and the gateway keeps trying in the background."""

    status = 503
    error_type = "service_unavailable"
    default_code = "dependency_unavailable"


class RateLimited(GatewayError):
    status = 429
    error_type = "rate_limit_error"
    default_code = "rate_limit_exceeded"


class ServerBusy(GatewayError):
    status = 503
    error_type = "service_unavailable"
    default_code = "server_busy"


class ServerShuttingDown(ServerBusy):
    default_code = "server_shutting_down"


class DatabaseUnavailable(DependencyUnavailable):
    """A route that reads or writes the database (admin API, reports) on a gateway that has none, or while it
    cannot be reached."""

    default_code = "database_unavailable"


class GuardrailUnavailable(DependencyUnavailable):
    """A guardrail's detector failed or overran its deadline, and the guardrail fails closed (the default):
    the request is refused rather than let through unchecked."""

    default_code = "guardrail_unavailable"


class UpstreamError(GatewayError):
    status = 502
    error_type = "upstream_error"
    default_code: ClassVar[str | None] = "upstream_error"
    retryable = True
    blames_deployment: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
        upstream_status: int | None = None,
    ) -> None:
        super().__init__(message, param=param, code=code, headers=headers)
        self.retry_after = retry_after
        self.upstream_status = upstream_status


class UpstreamBadRequest(UpstreamError):
    status = 400
    error_type = "invalid_request_error"
    default_code = None
    retryable = False
    blames_deployment = False


class UpstreamRateLimited(UpstreamError):
    status = 429
    error_type = "rate_limit_error"
    default_code = "upstream_rate_limited"


class UpstreamUnavailable(UpstreamError):
    status = 503
    error_type = "service_unavailable"
    default_code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    error_type = "timeout"
    default_code = "upstream_timeout"


class ClientTimeout(UpstreamTimeout):
    """The timeout the client set (``x-gateway-timeout``), shorter than the deployment's own, ran out.

    Still retried (the header is a per-attempt timeout), but the deployment was not given the time its config
    allows, so it does not count toward its cooldown.
    """

    blames_deployment = False


class UpstreamConnectionError(UpstreamError):
    default_code = "upstream_connection_error"


class ProviderAdapterError(UpstreamError):
    """The provider adapter (litellm) failed in its own code, not the provider: a bug, not worth a retry."""

    status = 500
    error_type = "api_error"
    default_code = "provider_adapter_error"
    retryable = False
    blames_deployment = False


def upstream_error_for_status(
    status: int, message: str, *, retry_after: float | None = None, param: str | None = None
) -> UpstreamError:
    """The gateway error for a provider's HTTP error status.

    A provider's 4xx other than 408/409/429 means the request itself is wrong for that provider: the client gets
    it as a 400 with the provider's message, and retrying elsewhere will not help. 401/403 mean the gateway's
    own provider credentials are wrong: the client's request was fine, so that is a 502, not the client's 401.
    """
    if status == 429:
        return UpstreamRateLimited(message, retry_after=retry_after, upstream_status=status)
    if status in (408, 504):
        return UpstreamTimeout(message, retry_after=retry_after, upstream_status=status)
    if status in (503, 529):
        return UpstreamUnavailable(message, retry_after=retry_after, upstream_status=status)
    if status in (401, 403):
        return UpstreamError(
            f"the provider refused the gateway's credentials ({status}): {message}",
            code="upstream_auth_error",
            upstream_status=status,
        )
    if status == 404:
        err = UpstreamBadRequest(message, param=param, code="upstream_not_found", upstream_status=status)
        return err
    if 400 <= status < 500 and status != 409:
        return UpstreamBadRequest(message, param=param, upstream_status=status)
    return UpstreamError(message, retry_after=retry_after, upstream_status=status)
