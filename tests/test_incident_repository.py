"""``incident-repository``: incidents filed in another repository, read once through the
emulator, count for the measured repositories they name; one the token cannot see is skipped
with a warning that says so.

The measured repository is ``acme/app`` of ``test_sources_collect`` (``workflow:deploy.yml``:
successful runs at S+8d 14:00 and S+19d 10:00). ``acme/ops`` holds the incidents.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from conftest import WORKFLOW_TOKEN, EmulatorFactory
from test_sources_collect import (
    HOME,
    NOW,
    AppWorld,
    app_world,
    clients_for,
    plan_for,
    window_of,
)

from ghaction_metrics.collect.parallel import CollectOutcome, collect
from ghaction_metrics.metrics.changes import Settings
from ghaction_metrics.metrics.report import build_report, outputs
from ghaction_metrics.publish.privacy import publishable
from ghaction_metrics_dev.emulator.state import TokenInfo
from ghaction_metrics_dev.emulator.world import Issue, Repository

OPS = "acme/ops"
SOURCE = "workflow:deploy.yml"


def _with_ops(app: AppWorld) -> None:
    ops = Repository(owner="acme", name="ops", id=600, created_at=app.at(-300))
    app.world.repositories[OPS] = ops

    def issue(
        number: int, title: str, opened: float, closed: float | None, labels: list[str]
    ) -> None:
        ops.issues.append(
            Issue(
                number=number,
                id=700 + number,
                title=title,
                body="",
                author="bob",
                created_at=app.at(opened),
                updated_at=app.at(closed if closed is not None else opened),
                state="closed" if closed is not None else "open",
                closed_at=app.at(closed) if closed is not None else None,
                labels=labels,
            )
        )

    # Opened 2 h after the run at S+8d 14:00, closed 4 h later: it fails that deployment.
    issue(1, "Checkout down in acme/app", 8 + 16 / 24, 8 + 20 / 24, ["incident"])
    # Names no repository, so it is about any of them; but it was opened 8 days after the run
    # at S+19d 10:00, beyond the 7-day incident-window: it fails nothing.
    issue(2, "Search is slow", 27 + 12 / 24, None, ["incident"])
    # Not an incident.
    issue(3, "Rotate the on-call schedule", 19 + 12 / 24, None, ["chore"])


def _outputs(outcome: CollectOutcome) -> dict[str, str]:
    settings = Settings(deployment_source=SOURCE, incident_repository=OPS)
    report = build_report(outcome.collection, settings, window_of(NOW), "previous", NOW, "x")
    return outputs(report)


def test_incidents_from_another_repository_count(emulator_factory: EmulatorFactory) -> None:
    app = app_world(NOW)
    _with_ops(app)
    server = emulator_factory(app.world)
    plan = plan_for(NOW, SOURCE, incident_repository=OPS)
    outcome = collect(clients_for(server), [HOME], plan, now=NOW)
    incidents = {i.number: i for i in outcome.collection.incidents}
    assert sorted(incidents) == [1, 2]  # the chore is not an incident
    assert incidents[1].repository == OPS
    assert incidents[1].labels == ("incident",)
    values = _outputs(outcome)
    # Run 802 (S+8d 14:00) failed by incident 1; run 805 did not (incident 2 came too late):
    # 1 / 2. Recovery: opened 16:00, closed 20:00 = 4 h.
    assert values["change-failure-rate"] == "0.5"
    assert values["recovery-time-hours"] == "4"


def test_an_invisible_incident_repository_is_skipped_with_a_warning(
    emulator_factory: EmulatorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_world(NOW)
    _with_ops(app)
    permissions = {"contents": "write", "issues": "write", "actions": "read"}
    tokens = {
        WORKFLOW_TOKEN: TokenInfo(
            "github-actions[bot]", "workflow", permissions, repositories=frozenset({HOME})
        )
    }
    server = emulator_factory(app.world, tokens)
    plan = plan_for(NOW, SOURCE, incident_repository=OPS)
    with caplog.at_level(logging.WARNING):
        outcome = collect(clients_for(server), [HOME], plan, now=NOW)
    assert outcome.collection.incidents == ()
    assert [r.info.full_name for r in outcome.collection.repositories] == [HOME]
    (skipped,) = outcome.collection.skipped
    assert skipped.full_name == OPS
    assert "cannot see it" in skipped.reason
    assert "incidents from it are not counted" in caplog.text
    assert _outputs(outcome)["change-failure-rate"] == "0"


def test_incidents_are_read_back_to_the_first_period(emulator_factory: EmulatorFactory) -> None:
    app = app_world(NOW)
    _with_ops(app)
    ops = app.world.repositories[OPS]
    old = ops.issues[0]
    # Last updated before the previous window began: outside what any period needs.
    ops.issues.append(
        Issue(
            number=4,
            id=704,
            title="Old outage",
            body="",
            author="bob",
            created_at=app.at(-90),
            updated_at=app.at(-89),
            state="closed",
            closed_at=app.at(-89),
            labels=list(old.labels),
        )
    )
    server = emulator_factory(app.world)
    plan = plan_for(NOW, SOURCE, incident_repository=OPS)
    outcome = collect(clients_for(server), [HOME], plan, now=NOW)
    assert sorted(i.number for i in outcome.collection.incidents) == [1, 2]
    assert plan.since - app.at(-89) > timedelta(0)


def test_a_private_incident_repository_is_withheld_from_a_public_report(
    emulator_factory: EmulatorFactory,
) -> None:
    app = app_world(NOW)
    _with_ops(app)
    app.world.repositories[OPS].private = True
    server = emulator_factory(app.world)
    plan = plan_for(NOW, SOURCE, incident_repository=OPS)
    collection = collect(clients_for(server), [HOME], plan, now=NOW).collection
    assert collection.incidents_private
    # Publishing from a public repository: the private repository's incident titles and
    # figures must not appear, so its incidents are left out (and counted as withheld).
    public = publishable(collection, publisher_private=False, allow_private_data=False)
    assert public.collection.incidents == ()
    assert public.withheld == 1
    # Allowed, or published where only people with access read it: kept.
    for private, allowed in ((True, False), (False, True)):
        kept = publishable(collection, publisher_private=private, allow_private_data=allowed)
        assert kept.collection.incidents == collection.incidents
