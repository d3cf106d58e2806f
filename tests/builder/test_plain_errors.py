"""Validation errors in plain words naming the field ("Value must be 0 or more."), never pydantic's wording."""

from __future__ import annotations

from typing import Any

from tests.builder.conftest import ApiActions
from tests.builder.conftest import error_of


def messages(response: Any) -> dict[str, str]:
    """field -> message of a 422."""
    error = error_of(response, 422, "validation_error")
    return {e["field"]: e["message"] for e in error["details"]["errors"]}


def test_messages_name_the_field_in_words(api: ApiActions, sales: dict[str, Any]) -> None:
    """The record's Value field, a date, a missing field, a choice, a product line, an unknown field."""
    opp = api.opportunity(sales, 0)
    assert messages(api.patch(f"/opportunities/{opp['id']}", {"value": -5})) == {"value": "Value must be 0 or more."}
    assert messages(api.patch(f"/opportunities/{opp['id']}", {"next_action_date": "soon"})) == {
        "next_action_date": "Next action date must be a date (YYYY-MM-DD)."}
    assert messages(api.patch(f"/opportunities/{opp['id']}", {"products": [{"name": "Pro", "quantity": 0}]})) == {
        "products.0.quantity": "Quantity (products, item 1) must be 1 or more."}
    assert messages(api.post(f"/opportunities/{opp['id']}/close", {"outcome": "maybe"})) == {
        "outcome": "Outcome must be 'won' or 'lost'."}
    assert messages(api.post("/opportunities", {"title": "x", "pipeline_id": 1, "stage_id": 1})) == {
        "contact_id": "Contact is required."}
    assert messages(api.patch(f"/opportunities/{opp['id']}", {"colour": "red"})) == {
        "colour": "Colour is not something this accepts."}
    response = api.patch(f"/opportunities/{opp['id']}", {"title": ""})
    assert error_of(response, 422)["message"] == "Title cannot be empty."
    assert "Input should" not in response.get_data(as_text=True)
