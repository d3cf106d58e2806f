"""SQLAlchemy models of the CRM and of runtime state, plus database setup.

Invariant: this package imports neither `runtime` nor `builder`.
"""

from __future__ import annotations

from models.activities import Note
from models.activities import Notification
from models.activities import Task
from models.base import Base
from models.campaigns import Campaign
from models.campaigns import CampaignVersion
from models.contacts import Contact
from models.contacts import ContactTag
from models.contacts import Tag
from models.events import AuditEntry
from models.events import DomainEvent
from models.opportunities import ChecklistState
from models.opportunities import Opportunity
from models.opportunities import OpportunityProduct
from models.opportunities import OpportunityShare
from models.opportunities import StageMove
from models.outbox import OutboxMessage
from models.pipelines import ChecklistItem
from models.pipelines import Pipeline
from models.pipelines import Stage
from models.runs import Enrollment
from models.runs import GoalHit
from models.runs import SequenceRun
from models.runs import StepLog
from models.users import ApiToken
from models.users import LoginAttempt
from models.users import LoginSession
from models.users import Team
from models.users import User

__all__ = [
    "ApiToken", "AuditEntry", "Base", "Campaign", "CampaignVersion", "ChecklistItem",
    "ChecklistState", "Contact", "ContactTag", "DomainEvent", "Enrollment", "GoalHit",
    "LoginAttempt", "LoginSession", "Note", "Notification", "Opportunity", "OpportunityProduct",
    "OpportunityShare", "OutboxMessage", "Pipeline", "SequenceRun", "Stage", "StageMove",
    "StepLog", "Tag", "Task", "Team", "User",
]
