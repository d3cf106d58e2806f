"""The `route` decorator: input parsing with pydantic, auth, and the OpenAPI registry.

Every API view is declared through `route`, so the OpenAPI document is built
from the very schemas the handlers parse with.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import request
from pydantic import BaseModel
from pydantic import ConfigDict
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
    response: Any
    status: int
    public: bool
    tag: str
    #: A multipart/form-data body (its file fields are typed as binary strings).
    form: type[BaseModel] | None = None
    #: The media type of a successful reply (a download is not JSON).
    media: str = "application/json"


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
    form: type[BaseModel] | None = None,
    media: str = "application/json",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API view: `actor`, `body`, `query` (and `form`, a multipart body) are passed in as keywords."""

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
            return view(**kwargs)

        endpoint = f"{bp.name}.{view.__name__}"
        ROUTES[endpoint] = RouteSpec(
            rule=PREFIX + rule if bp.url_prefix is None else (bp.url_prefix + rule), methods=methods,
            summary=(view.__doc__ or "").strip().splitlines()[0] if view.__doc__ else view.__name__,
            body=body, query=query, response=response, status=status, public=public, tag=bp.name, form=form,
            media=media,
        )
        bp.add_url_rule(rule, view.__name__, wrapper, methods=list(methods))
        return wrapper

    return decorate
