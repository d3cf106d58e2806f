"""Merge fields: discovery, unknown-field detection and safe rendering."""

from __future__ import annotations

from runtime.graphs.merge import KNOWN_MERGE_FIELDS
from runtime.graphs.merge import find_merge_fields
from runtime.graphs.merge import is_known_merge_field
from runtime.graphs.merge import render
from runtime.graphs.merge import unknown_merge_fields

VALUES: dict[str, object] = {
    "contact.first_name": "Ada",
    "contact.fields.plan": "Pro",
    "opportunity.value": 1500.0,
    "owner.name": "<b>Grace</b> & co",
}


def test_known_fields() -> None:
    assert {
        "contact.first_name",
        "contact.last_name",
        "contact.email",
        "opportunity.title",
        "opportunity.value",
        "opportunity.stage",
        "owner.name",
        "owner.email",
    } == KNOWN_MERGE_FIELDS
    assert is_known_merge_field("contact.fields.favourite_colour")
    assert not is_known_merge_field("contact.fields.")
    assert not is_known_merge_field("contact.password")


def test_find_merge_fields_in_order_without_repeats() -> None:
    text = "Hi {{contact.first_name}}, {{ owner.name }} here. {{contact.first_name}}! {{nope}} {x}"
    assert find_merge_fields(text) == ["contact.first_name", "owner.name", "nope"]
    assert unknown_merge_fields(text) == ["nope"]
    assert unknown_merge_fields("{{contact.fields.plan}} {{contact.fields.a b}}") == []
    assert find_merge_fields("no fields {{}} {{ }} {{1abc}}") == []


def test_render_substitutes_and_blanks_unknowns() -> None:
    assert render("Hi {{contact.first_name}} ({{contact.fields.plan}})", VALUES) == "Hi Ada (Pro)"
    assert render("{{contact.last_name}}|{{bogus.field}}|{{contact.email}}", VALUES) == "||"
    assert render("Value {{opportunity.value}}", VALUES) == "Value 1500"
    assert render("{{contact.first_name}}", {"contact.first_name": None}) == ""


def test_render_escapes_values_only_in_html_mode() -> None:
    assert render("<p>{{owner.name}}</p>", VALUES) == "<p><b>Grace</b> & co</p>"
    assert (
        render("<p>{{owner.name}}</p>", VALUES, html=True)
        == "<p>&lt;b&gt;Grace&lt;/b&gt; &amp; co</p>"
    )


def test_render_never_evaluates() -> None:
    evil = {"contact.first_name": "{{owner.name}}"}
    assert render("{{contact.first_name}}", evil | VALUES | evil) == "{{owner.name}}"  # single pass
    assert render("{{ contact.first_name.__class__ }}", VALUES) == ""
    assert render("{% for x in y %}{{7*7}}", VALUES) == "{% for x in y %}{{7*7}}"
