"""Short texts for summaries: clipped lines and names for ids (with "#id" when unknown)."""

from __future__ import annotations

from runtime.graphs.catalog.ports import Names


def stage_label(names: Names, stage_id: int) -> str:
    """A stage's name, or "stage #id" when unknown."""
    found = names.stage(stage_id)
    return found[0] if found else f"stage #{stage_id}"


def person_label(names: Names, user: object) -> str:
    """'the owner', 'round robin', a user's name, or "user #id"."""
    if user == "owner":
        return "the owner"
    if user == "round_robin":
        return "round robin"
    if isinstance(user, int) and not isinstance(user, bool):
        return names.user(user) or f"user #{user}"
    return str(user)


def short(text: str, limit: int = 40) -> str:
    """One line of at most `limit` characters (an ellipsis marks a cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
