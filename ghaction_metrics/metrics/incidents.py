"""Which incidents count for which repository.

By default each repository's own incident issues count for it. With ``incident-repository``
the incidents live in one repository for all of them: an incident counts for the measured
repositories it names (``owner/name`` in its title or body, or a label equal to the
repository's name or full name), and for every measured repository when it names none, since
then nothing says which service it was about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ghaction_metrics.records import Incident


def names(incident: Incident, repository: str) -> bool:
    full = repository.lower()
    short = full.split("/", 1)[-1]
    if any(label.lower() in (full, short) for label in incident.labels):
        return True
    pattern = re.compile(r"(?<![\w./-])" + re.escape(full) + r"(?![\w/-])", re.IGNORECASE)
    return bool(pattern.search(incident.title) or pattern.search(incident.body))


def incidents_for(
    repository: str,
    own: Sequence[Incident],
    shared: Sequence[Incident],
    measured: Sequence[str],
    incident_repository: str | None,
) -> list[Incident]:
    if incident_repository is None:
        return list(own)
    chosen = []
    for incident in shared:
        named = [name for name in measured if names(incident, name)]
        if not named or any(name.lower() == repository.lower() for name in named):
            chosen.append(incident)
    return chosen
