"""Demo data: users, the two template pipelines, ~50 contacts with opportunities."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from models import Opportunity
from models import User
from models import clock
from models import contacts
from models import opportunities
from models import pipelines
from models import tasks
from models import users
from models.access import Actor
from models.db import transaction
from runtime.demo_campaign import seed_demo_campaign

DEMO_USERS = [
    ("admin", "admin", "Ada Admin", "demo-admin-pass"),
    ("marketer", "marketer", "Mia Marketer", "demo-marketer-pass"),
    ("rep1", "rep", "Riley Rep", "demo-rep-pass"),
    ("rep2", "rep", "Sam Seller", "demo-rep-pass"),
]
FIRST = ["Alex", "Blake", "Casey", "Drew", "Emery", "Finley", "Gray", "Harper", "Indy", "Jordan", "Kai",
         "Logan", "Morgan", "Noel", "Oakley", "Parker", "Quinn", "Reese", "Sage", "Taylor"]
LAST = ["Nguyen", "Okafor", "Schmidt", "Rossi", "Tanaka", "Silva", "Kowalski", "Haddad", "Larsen", "Moreau"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell"]


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
        pipelines.create_pipeline(session, admin, "Leads", "leads", stages=[
            {"number": 1, "name": "New lead", "target_days": 2, "probability": 5},
            {"number": 2, "name": "Contacted", "target_days": 5, "probability": 10},
            {"number": 3, "name": "Engaged", "target_days": 7, "probability": 20}])
        for tag in ("customer", "newsletter", "webinar", "hot-lead"):
            contacts.ensure_tag(session, tag)
        reps = [made["rep1"], made["rep2"]]
        now = clock.now()
        for i in range(contacts_count):
            first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
            company = COMPANIES[i % len(COMPANIES)]
            contact = contacts.create_contact(session, admin, f"{first}.{last}.{i}@{company.lower()}.example".lower(),
                                              first, last, {"company": company})
            pipeline = sales if i % 4 else fulfil
            stage = rng.choice(pipeline.stages[:-1] if rng.random() < .9 else pipeline.stages)
            owner = reps[i % 2]
            opp = opportunities.create_opportunity(
                session, Actor.of(owner), title=f"{company} — {rng.choice(['Starter', 'Growth', 'Enterprise'])} plan",
                contact_id=contact.id, pipeline_id=pipeline.id, stage_id=stage.id, owner_id=owner.id,
                value=rng.choice([1200, 2500, 4800, 9000, 15000, 32000]),
                next_action_date=(now + timedelta(days=rng.randint(-3, 10))).date(),
                next_action_note=rng.choice(["Call back", "Send proposal", "Book demo", "Check contract"]))
            # Age some deals so the board shows overdue cards.
            aged = rng.choice([0, 1, 3, 10, 25])
            session.execute(update(Opportunity).where(Opportunity.id == opp.id).values(
                stage_entered_at=now - timedelta(days=aged)), execution_options={"synchronize_session": False})
            if i % 3 == 0:
                tasks.create_task(session, Actor.of(owner), title=f"Follow up with {first}", assignee_id=owner.id,
                                  due_date=(now + timedelta(days=rng.randint(0, 5))).date(), opportunity_id=opp.id)
            if (i + 1) % 10 == 0:
                progress(f"contacts: {i + 1}/{contacts_count}")
        seed_demo_campaign(session, Actor.of(made["marketer"]), sales, fulfil)
        # A few reps' saves after publishing, so the canvas shows contacts moving
        # and My tasks shows campaign-made tasks once the runtime runs them.
        prospect, qualified = sales.stages[0], sales.stages[1]
        movers = session.scalars(select(Opportunity).where(Opportunity.stage_id == prospect.id)
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
