"""Which collected repositories a run may publish, by who can read what it publishes.

Everything a run publishes (job summary, dashboard issue, history branch and its Pages site,
the log and the step outputs) can be read by anyone who can read the publishing repository.
So a public repository's run leaves private repositories' data out, unless the workflow says
``allow-private-data: true``. An unknown visibility of the publishing repository counts as
public: leaving data out is recoverable, publishing it is not.
"""

from __future__ import annotations

from collections.abc import Collection as Collection_
from dataclasses import dataclass, replace

from ghaction_metrics.records import Collection


@dataclass(frozen=True)
class Withheld:
    collection: Collection  # what may be published
    withheld: int  # how many private repositories were left out


class AllPrivateError(Exception):
    """Every collected repository is private and the publishing repository is public."""


def publishable(
    collection: Collection,
    publisher_private: bool | None,
    allow_private_data: bool,
    private_names: Collection_[str] = frozenset(),
) -> Withheld:
    """The collection without private repositories when the publisher is public.

    Their names are not logged either: ``owner/*`` may have found them, and the log of a
    public repository is public. ``private_names`` (lower case) are the private repositories
    collection met, so that one it then skipped is not named in the skipped list either.
    """
    if allow_private_data or publisher_private is True:
        return Withheld(collection, 0)
    kept = tuple(repo for repo in collection.repositories if not repo.info.private)
    withheld = len(collection.repositories) - len(kept)
    skipped = tuple(s for s in collection.skipped if s.full_name.lower() not in private_names)
    withheld += len(collection.skipped) - len(skipped)
    if withheld and not kept:
        raise AllPrivateError(
            f"Input 'allow-private-data' is false and all {withheld} measured repositories are "
            "private while this repository is public: publishing their figures here would show "
            "them to people without access. Run the workflow in a private repository, or set "
            "allow-private-data: true if that is intended."
        )
    incidents = collection.incidents
    if collection.incidents_private:
        # A private incident-repository: its issue titles and times would be published too.
        incidents = ()
        withheld += 1
    return Withheld(
        replace(collection, repositories=kept, incidents=incidents, skipped=skipped), withheld
    )


def withheld_warning(count: int) -> str:
    return (
        f"{count} private repositories were left out of this report, because this repository "
        "is public and everything the run publishes (summary, issue, history branch, log, "
        "outputs) would show their figures to people without access. Run the workflow in a "
        "private repository, or set allow-private-data: true if that is intended."
    )
