from tests.runtime.engine_fixtures import *  # noqa

def test_smoke(env):
    c = env.contact()
    camp = env.publish(graph([goal("g1", "tag_applied", tag="lead"),
        seq("s1", step("a", "apply_tag", tag="x"), step("b", "create_task", title="Call {{contact.first_name}}", assignee="owner", due_in_days=1), step("n", "create_note", body="hi"))], "g1>s1"))
    from runtime.contacts import apply_tag
    from tests.runtime.engine_fixtures import ADMIN
    apply_tag(env.session, ADMIN, c.id, "lead")
    assert env.tick() == 1
    print(env.statuses(c), [ (r.status, r.last_error) for r in env.runs()])
