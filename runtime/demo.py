"""Demo data: users, the two template pipelines and a leads pipeline, ~50 distinct contacts at distinct
companies, and six months of sales history (deals moved stage by stage at plausible speeds, won and lost with
reasons), so the board, the forecast and the reports all have something true to show.

Invariant: history is made through the same CRM functions a rep uses, with the clock set to the moment
each thing happened (the demo's own FakeClock, restored afterwards); the campaign is published only
after the history, so past moves start no sequence.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import Opportunity
from models import Pipeline
from models import Stage
from models import User
from models import clock
from models import contacts
from models import opportunities
from models import outcomes
from models import pipelines
from models import tasks
from models import users
from models.access import Actor
from models.db import transaction
from runtime.demo_campaign import seed_demo_campaign
from runtime.demo_data import COMPANIES
from runtime.demo_data import DEALS
from runtime.demo_data import FIRST_NAMES
from runtime.demo_data import FULFILMENT_LOST
from runtime.demo_data import LAST_NAMES
from runtime.demo_data import LOST_REASON_WEIGHTS
from runtime.demo_data import NEXT_ACTIONS
from runtime.demo_data import NOTES
from runtime.demo_data import TITLES

DEMO_USERS = [
    ("admin", "admin", "Ada Admin", "demo-admin-pass"),
    ("marketer", "marketer", "Mia Marketer", "demo-marketer-pass"),
    ("rep1", "rep", "Riley Rep", "demo-rep-pass"),
    ("rep2", "rep", "Sam Seller", "demo-rep-pass"),
]
FRESH = 6
"""The first deals are days old and still in Prospect: the demo moves four of them once the campaign is live."""


class _Story:
    """One demo deal's life, told through the CRM functions at the moments it happened."""

    def __init__(self, session: Session, rng: random.Random, demo_clock: clock.FakeClock, now: datetime) -> None:
        self.session, self.rng, self.clock, self.now = session, rng, demo_clock, now

    def at(self, moment: datetime) -> None:
        """Set the demo clock."""
        self.clock.set(moment)

    def walk(self, actor: Actor, opp: Opportunity, stages: list[Stage], start: datetime, lose_chance: float,
             reasons: list[tuple[str, int]]) -> None:
        """Move the deal on stage by stage (each stay near the stage's target days) until now, a loss or a win."""
        moment = start
        index = next(i for i, s in enumerate(stages) if s.id == opp.stage_id)
        while index < len(stages) - 1:
            stage = stages[index]
            stay = max(0.3, (stage.target_days or 3) * self.rng.lognormvariate(-0.15, 0.55))
            moment = moment + timedelta(days=stay, hours=self.rng.uniform(-3, 3))
            if moment >= self.now:
                return  # still open in this stage, for as long as it has really been there
            self.at(moment)
            if self.rng.random() < lose_chance:
                reason = self.rng.choices([r for r, _ in reasons], weights=[w for _, w in reasons])[0]
                outcomes.close_opportunity(self.session, actor, opp.id, "lost", reason=reason)
                return
            for item in opportunities.unchecked_required(self.session, opp):
                opportunities.set_checklist_item(self.session, actor, opp.id, item.id, True)
            opportunities.move_stage(self.session, actor, opp, stages[index + 1].id)
            index += 1


def _people(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """`count` distinct names: every first name with a different last name."""
    lasts = list(LAST_NAMES)
    rng.shuffle(lasts)
    return [(FIRST_NAMES[i % len(FIRST_NAMES)], lasts[(i + i // len(lasts)) % len(lasts)]) for i in range(count)]


def _ascii(text: str) -> str:
    """Letters without accents or apostrophes (for the demo's email addresses)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.replace("'", "")


def _value(rng: random.Random, low: int, high: int) -> int:
    return rng.randrange(low // 100, high // 100 + 1) * 100


def seed_demo(
    factory: sessionmaker[Session], *, only_if_empty: bool = False, progress: Callable[[str], None] = print,
    contacts_count: int = 50, seed: int = 7,
) -> int:
    """Seed the demo; with only_if_empty, do nothing when users exist. Returns 0."""
    rng = random.Random(seed)
    with transaction(factory) as session:
        if session.scalar(select(func.count()).select_from(User)):
            if only_if_empty:
                progress("demo data already present")
                return 0
        made: dict[str, User] = {}
        for username, role, name, password in DEMO_USERS:
            existing = session.scalar(select(User).where(User.username == username))
            made[username] = existing or users.create_user(
                session, username, password, role, name=name, email=f"{username}@example.com",
                daily_task_capacity=8, team="Sales" if role == "rep" else None)
        admin = Actor.of(made["admin"])
        progress("users: " + ", ".join(f"{u} / {p}" for u, _, _, p in DEMO_USERS))
        sales = pipelines.create_pipeline(session, admin, "Sales opportunities", "sales", "sales_workflow")
        fulfil = pipelines.create_pipeline(session, admin, "Fulfillment", "fulfillment", "fulfillment")
        pipelines.update_pipeline(session, admin, fulfil.id, {"lost_reasons": list(FULFILMENT_LOST)})
        leads = pipelines.create_pipeline(session, admin, "Leads", "leads", stages=[
            {"number": 1, "name": "New lead", "target_days": 2, "probability": 5},
            {"number": 2, "name": "Contacted", "target_days": 5, "probability": 10},
            {"number": 3, "name": "Engaged", "target_days": 7, "probability": 20},
            {"number": 4, "name": "Converted", "target_days": 0, "probability": 100}])
        for tag in ("customer", "newsletter", "webinar", "hot-lead"):
            contacts.ensure_tag(session, tag)
        open_deals = _history(session, rng, made, sales, fulfil, leads, contacts_count, progress)
        _todo(session, rng, made, open_deals)
        seed_demo_campaign(session, Actor.of(made["marketer"]), sales, fulfil)
        # A few reps' saves after publishing, so the canvas shows contacts moving
        # and My tasks shows campaign-made tasks once the runtime runs them.
        prospect, qualified = sales.stages[0], sales.stages[1]
        movers = session.scalars(select(Opportunity).where(Opportunity.stage_id == prospect.id,
                                                           Opportunity.outcome == "open")
                                 .order_by(Opportunity.id).limit(4)).all()
        for opp in movers:
            deal_owner = session.get(User, opp.owner_id) if opp.owner_id else None
            rep = Actor.of(deal_owner) if deal_owner is not None else admin
            for item in opportunities.unchecked_required(session, opp):
                opportunities.set_checklist_item(session, rep, opp.id, item.id, True)
            opportunities.move_stage(session, rep, opp, qualified.id)
        progress(f"moved {len(movers)} deals to {qualified.name}: their follow-up starts when the app runs")
    progress("demo ready: log in as admin / demo-admin-pass, marketer / demo-marketer-pass, rep1 / demo-rep-pass")
    return 0


def _history(session: Session, rng: random.Random, made: dict[str, User], sales: Pipeline, fulfil: Pipeline,
             leads: Pipeline, count: int, progress: Callable[[str], None]) -> list[Opportunity]:
    """Contacts and their deals over the last six months, told at the moments they happened; returns the open deals."""
    now = clock.now()
    demo_clock = clock.FakeClock(now)
    previous = clock.set_clock(demo_clock)
    story = _Story(session, rng, demo_clock, now)
    admin = Actor.of(made["admin"])
    reps = [made["rep1"], made["rep2"]]
    reasons = [(r, w) for r, w in LOST_REASON_WEIGHTS]
    sold: set[tuple[str, str]] = set()
    try:
        for i, (first, last) in enumerate(_people(rng, count)):
            company, domain, industry = COMPANIES[i % len(COMPANIES)]
            owner = reps[0] if rng.random() < 0.55 else reps[1]
            actor = Actor.of(owner)
            fresh = i < FRESH
            if fresh:
                pipeline, started = sales, now - timedelta(days=rng.uniform(0.5, 4))
            elif i % 7 == 3:
                pipeline, started = leads, now - timedelta(days=rng.uniform(0.5, 20))
            elif i % 4 == 3:
                pipeline, started = fulfil, now - timedelta(days=rng.uniform(2, 70))
            else:
                pipeline, started = sales, now - timedelta(days=rng.uniform(5, 175))
            story.at(started - timedelta(hours=2))
            email = _ascii(f"{first}.{last}@{domain}.example").lower()
            contact = contacts.create_contact(session, admin, email, first, last,
                                              {"company": company, "job_title": rng.choice(TITLES)})
            # A company met twice (a second contact there) buys something else the second time.
            what, low, high = rng.choice([d for d in DEALS[industry] if (company, d[0]) not in sold]
                                         or DEALS[industry])
            sold.add((company, what))
            title = (f"Onboarding: {company} ({first})" if pipeline is fulfil else
                     f"{company} (inbound, {first})" if pipeline is leads else f"{company} — {what}")
            stages = sorted(pipeline.stages, key=lambda s: s.number)
            first_stage = stages[1] if pipeline is sales and not fresh and rng.random() < 0.2 else stages[0]
            story.at(started)
            opp = opportunities.create_opportunity(
                session, actor, title=title, contact_id=contact.id, pipeline_id=pipeline.id, stage_id=first_stage.id,
                owner_id=owner.id, value=_value(rng, low, high) if pipeline is not leads else 0,
                expected_close_date=(started + timedelta(days=rng.randint(30, 110))).date(),
                next_action_note=rng.choice(NEXT_ACTIONS))
            if not fresh:
                lose = {sales.id: 0.16, fulfil.id: 0.02, leads.id: 0.2}[pipeline.id]
                story.walk(actor, opp, stages, started, lose, reasons if pipeline is not fulfil else
                           [(r, 1) for r in FULFILMENT_LOST])
            if rng.random() < 0.45:
                story.at(min(now, demo_clock.now() + timedelta(hours=rng.uniform(1, 30))))
                opportunities.add_note(session, actor, opp.id, rng.choice(NOTES).format(first=first, industry=industry))
            if (i + 1) % 10 == 0:
                progress(f"contacts: {i + 1}/{count}")
    finally:
        clock.set_clock(previous)
    return list(session.scalars(select(Opportunity).where(Opportunity.outcome == "open").order_by(Opportunity.id)))


def _todo(session: Session, rng: random.Random, made: dict[str, User], open_deals: list[Opportunity]) -> None:
    """Next actions and tasks on the open deals, dated from today; a nearer expected close for late-stage deals."""
    today = clock.now().date()
    for opp in open_deals:
        owner = made["rep1"] if opp.owner_id == made["rep1"].id else made["rep2"]
        stage = session.get(Stage, opp.stage_id)
        probability = stage.probability if stage is not None else 0
        days_to_close = max(5, int((100 - probability) * rng.uniform(0.6, 1.4)))
        changes = {"next_action_date": today + timedelta(days=rng.randint(-3, 10)),
                   "expected_close_date": today + timedelta(days=days_to_close)}
        opportunities.update_opportunity(session, Actor.of(owner), opp.id, changes)
        if rng.random() < 0.35:
            tasks.create_task(session, Actor.of(owner), title=f"{opp.next_action_note} ({opp.contact.first_name})",
                              assignee_id=owner.id, due_date=today + timedelta(days=rng.randint(0, 5)),
                              opportunity_id=opp.id, contact_id=opp.contact_id)
