"""The OpenAPI document itself (GET /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from builder.schemas.common import Out


class ApiInfoOut(Out):
    """The document's info object."""

    title: str
    version: str
    description: str


class OpenApiDocumentOut(Out):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0) describing this API."""

    openapi: str = Field(description='The OpenAPI version, "3.1.0".')
    info: ApiInfoOut
    paths: dict[str, Any] = Field(description="Free-form here: OpenAPI Path Item objects by path.")
    components: dict[str, Any] = Field(description="Free-form here: the OpenAPI Components object.")
