"""The deployments stream: every deployment of a repository, with all of its statuses.

GitHub orders deployments by creation only (``DeploymentOrderField`` has ``CREATED_AT``
alone), while a deployment's statuses go on changing after it is created: the watermark is
``createdAt``, and each sync re-reads the deployments created within the window below it
(PRSEED_DEPLOYMENT_WINDOW_DAYS), replacing their statuses.  A crawl filtered by
environments keeps a watermark of its own (its ``sync_state`` stream names the filter), so
it never moves the unfiltered crawl's past deployments of other environments it did not see.

Cost of a page of 25 deployments: 1 + 25 (their statuses) = 26 pages, 1 point; a
follow-up page of statuses, 1 point.
"""

from __future__ import annotations

from functools import cache

from prseed import items
from prseed.db.registry import TABLES
from prseed.engine.declarations import Argument, Connection, Fragment, Nested, Stream
from prseed.graphql import deployments as records
from prseed.streams.pull_requests import ACTOR

DAY = 86_400

DEPLOYMENT_STATUS = Fragment(
    "DeploymentStatus",
    "DeploymentStatus",
    """
    id
    state
    description
    environmentUrl
    logUrl
    createdAt
    creator { ...Actor }
    """,
    uses=(ACTOR,),
)
DEPLOYMENT = Fragment(
    "Deployment",
    "Deployment",
    """
    id
    databaseId
    environment
    originalEnvironment
    task
    state
    commitOid
    createdAt
    updatedAt
    creator { ...Actor }
    latestStatus { state createdAt }
    """,
    uses=(ACTOR,),
)
# Nested directly under the repository's connection, so its first page costs no more at 50.
STATUSES = Connection("statuses", "Deployment", DEPLOYMENT_STATUS, 50, 100, records.deployment_status)


def incomplete(item: type):
    """The ids of a repository's rows of ``item``'s completable table left incomplete."""
    table = TABLES.by_item[item]

    def ids(database, repository_id: str) -> list[str]:
        completion = table.completion
        rows = database.select(table, f"repository_id = ? AND NOT {completion.column}", (repository_id,))
        return sorted(row[completion.key] for row in rows)

    return ids


def stream_name(environments: tuple[str, ...]) -> str:
    """The ``sync_state`` stream of a crawl of these environments (all: ``deployments``)."""
    if not environments:
        return items.DEPLOYMENTS_STREAM
    return f"{items.DEPLOYMENTS_STREAM}[{','.join(sorted(environments))}]"


@cache
def deployments(environments: tuple[str, ...] = (), window_days: float = 3) -> Stream:
    """The deployments stream, of every environment or only of ``environments``
    (``-a environments=``), re-reading ``window_days`` below its watermark."""
    return Stream(
        name=stream_name(environments),
        noun="deployment",
        connection="deployments",
        order="{field: CREATED_AT, direction: DESC}",
        node=DEPLOYMENT,
        records=records.deployment,
        nested=(Nested(STATUSES),),
        child_key="deployment_id",
        watermark="createdAt",
        marker=items.Deployment,
        completion=items.DeploymentComplete,
        incomplete=incomplete(items.Deployment),
        arguments=(Argument("environments", "[String!]", tuple(sorted(environments))),)
        if environments
        else (),
        window=window_days * DAY,
        watermark_moves=False,
    )
