"""The `route` decorator: input parsing with pydantic, auth, reply shaping, and the OpenAPI registry.

Every API view is declared through `route`, so the OpenAPI document is built
from the very schemas the handlers parse with, and every reply goes out
through the response model the document shows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import TypeAdapter
from pydantic import ValidationError
from werkzeug.routing import IntegerConverter

from builder.auth import current_actor
from models.errors import DomainError

PREFIX = "/api/v1"
MAX_INT = 2**31 - 1
"""The largest INTEGER PostgreSQL stores (SQLite's is larger): no id can be bigger."""


class IdConverter(IntegerConverter):
    """`<int:...>` where a number past MAX_INT reads as MAX_INT + 1: an id no row has (404), not an overflow.

    (Refusing the match instead would make werkzeug answer 405 for some methods.)
    """

    def to_python(self, value: str) -> int:
        return min(int(value), MAX_INT + 1)


class Body(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(BaseModel):
    """Base of query strings: unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class RouteSpec:
    """What the OpenAPI document says about one view."""

    rule: str
    methods: tuple[str, ...]
    summary: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any  # the 2xx body's model; None only with status 204 (no body)
    status: int
    public: bool
    tag: str
    media_type: str = "application/json"
    #: A multipart/form-data body (its file fields are typed as binary strings).
    form: type[BaseModel] | None = None


ROUTES: dict[str, RouteSpec] = {}


def parse_body(model: type[BaseModel]) -> BaseModel:
    """Parse the JSON body into `model` (400 when it is not JSON, 422 when invalid)."""
    data = request.get_json(silent=True)
    if data is None:
        raw = request.get_data(cache=True)
        if raw.strip():
            raise DomainError("the body is not valid JSON", code="malformed_json")
        data = {}
    if not isinstance(data, dict):
        raise DomainError("the body must be a JSON object", code="malformed_json")
    return model.model_validate(data)


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Parse the query string into `model`."""
    return model.model_validate(request.args.to_dict())


class ResponseMismatch(RuntimeError):
    """A view returned something its response model refuses: a bug (500), never the caller's 422."""


def shape(adapter: TypeAdapter[Any], result: Any, endpoint: str = "") -> Any:
    """`result` (ORM rows, dicts or response models) as the JSON its response model describes.

    Validating on the way out means a reply cannot carry a field the schema
    lacks, miss one it requires, or have another type; keys a dict leaves out
    stay out (`exclude_unset`), for the few fields documented as optional.
    """
    try:
        value = adapter.validate_python(result, from_attributes=True)
    except ValidationError as exc:
        raise ResponseMismatch(f"{endpoint}: the reply does not match its response schema: {exc}") from exc
    return adapter.dump_python(value, mode="json", exclude_unset=True)


def route(
    bp: Blueprint,
    rule: str,
    methods: tuple[str, ...] = ("GET",),
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    public: bool = False,
    media_type: str = "application/json",
    form: type[BaseModel] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API view: `actor`, `body`, `query` (and `form`, a multipart body) are passed in as keywords.

    Every view declares its reply: `response` is the model of its 2xx body
    (a pydantic model, `list[...]` or a union of models), or the view has
    `status=204` and no body. The view returns what `response` describes (ORM
    rows, dicts or models) and the reply is that, shaped through `response`,
    with `status`; a 204 view returns None. A file reply (`media_type` other
    than JSON) is a Response the view builds, of that media type.
    """
    if not 200 <= status < 300:
        raise TypeError(f"{rule}: status={status} is not a success status")
    if (response is None) != (status == 204):
        raise TypeError(f"{rule}: declare the reply: response=<model of the {status} body>, "
                        "or status=204 and no response")
    adapter: TypeAdapter[Any] | None = TypeAdapter(response) if response is not None else None

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**path: Any) -> Any:
            kwargs: dict[str, Any] = dict(path)
            if not public:
                kwargs["actor"] = current_actor()
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                try:
                    kwargs["query"] = parse_query(query)
                except ValidationError:
                    raise
            if form is not None:
                kwargs["form"] = form.model_validate({**request.form.to_dict(), **request.files.to_dict()})
            result = view(**kwargs)
            if media_type != "application/json":
                # A file (CSV, …): the view builds the Response (for its headers); route() checks its type.
                if not isinstance(result, Response) or result.mimetype != media_type:
                    raise ResponseMismatch(f"{endpoint}: return a {media_type} Response")
                result.status_code = status
                return result
            if isinstance(result, (tuple, Response)):
                raise ResponseMismatch(f"{endpoint}: return the body only; route() sends it with status {status}")
            if adapter is None:
                if result is not None:
                    raise ResponseMismatch(f"{endpoint}: a {status} reply has no body; return None")
                return Response(status=status)
            return jsonify(shape(adapter, result, endpoint)), status

        endpoint = f"{bp.name}.{view.__name__}"
        ROUTES[endpoint] = RouteSpec(
            rule=PREFIX + rule if bp.url_prefix is None else (bp.url_prefix + rule), methods=methods,
            summary=(view.__doc__ or "").strip().splitlines()[0] if view.__doc__ else view.__name__,
            body=body, query=query, response=response, status=status, public=public, tag=bp.name,
            media_type=media_type, form=form,
        )
        bp.add_url_rule(rule, view.__name__, wrapper, methods=list(methods))
        return wrapper

    return decorate
