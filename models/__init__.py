"""SQLAlchemy models of the CRM and of runtime state, plus database setup.

Invariant: this package imports neither `runtime` nor `builder`.
"""

from __future__ import annotations

from models.tables.activities import Note
from models.tables.activities import Notification
from models.tables.activities import Task
from models.tables.base import Base
from models.tables.campaigns import Campaign
from models.tables.campaigns import CampaignVersion
from models.tables.channels import EmailActivity
from models.tables.channels import FormSubmission
from models.tables.channels import WebForm
from models.tables.contacts import Contact
from models.tables.contacts import ContactTag
from models.tables.contacts import Tag
from models.tables.counters import Counter
from models.tables.jobs import Job
from models.tables.jobs import JobFileChunk
from models.tables.jobs import JobRowError
from models.tables.log import AuditEntry
from models.tables.log import DomainEvent
from models.tables.opportunities import ChecklistState
from models.tables.opportunities import Opportunity
from models.tables.opportunities import OpportunityProduct
from models.tables.opportunities import OpportunityShare
from models.tables.opportunities import StageMove
from models.tables.outbox import OutboxMessage
from models.tables.pipelines import ChecklistItem
from models.tables.pipelines import Pipeline
from models.tables.pipelines import Stage
from models.tables.runs import BranchHit
from models.tables.runs import Enrollment
from models.tables.runs import GoalHit
from models.tables.runs import SequenceRun
from models.tables.runs import StepLog
from models.tables.segments import Segment
from models.tables.users import ApiToken
from models.tables.users import LoginAttempt
from models.tables.users import LoginSession
from models.tables.users import Team
from models.tables.users import User

__all__ = [
    "ApiToken", "AuditEntry", "Base", "BranchHit", "Campaign", "CampaignVersion", "ChecklistItem",
    "ChecklistState", "Contact", "ContactTag", "DomainEvent", "Enrollment", "GoalHit",
    "LoginAttempt", "LoginSession", "Note", "Notification", "Opportunity", "OpportunityProduct",
    "OpportunityShare", "OutboxMessage", "Pipeline", "SequenceRun", "Stage", "StageMove",
    "StepLog", "Tag", "Task", "Team", "User",
    "EmailActivity", "FormSubmission", "WebForm", "Counter", "Job", "JobFileChunk", "JobRowError", "Segment",
]
