"""Every GraphQL document the action sends. Tests validate each against GitHub's public schema."""

from __future__ import annotations

RATE_LIMIT = "rateLimit { cost remaining resetAt }"

VIEWER = """
query Viewer {
  viewer { login }
}
"""

ACTOR = "__typename login"
PULL_REQUEST_FIELDS = f"""
fragment PullRequestFields on PullRequest {{
  id
  number
  title
  body
  url
  state
  isDraft
  createdAt
  updatedAt
  closedAt
  mergedAt
  baseRefName
  additions
  deletions
  author {{ {ACTOR} }}
  mergeCommit {{ oid }}
  labels(first: 100) {{ nodes {{ name }} }}
  commits(first: 100) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ commit {{ ...PullCommitFields }} }}
  }}
  reviews(first: $reviewsFirst) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...ReviewFields }}
  }}
  timelineItems(first: 50, itemTypes: [READY_FOR_REVIEW_EVENT, ISSUE_COMMENT]) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ ...TimelineFields }}
  }}
}}
"""
# Ready-for-review events and conversation comments (for the time to first response) share
# one connection: a second one per pull request would add to every page's cost, while the
# size of a connection with nothing nested inside it costs nothing.
TIMELINE_FIELDS = f"""
fragment TimelineFields on PullRequestTimelineItems {{
  __typename
  ... on ReadyForReviewEvent {{ createdAt }}
  ... on IssueComment {{ author {{ {ACTOR} }} createdAt }}
}}
"""
# A pull request's commits: the authored time (coding time, lead time), and the author and
# message that tell a coding agent's work (AI-assisted cohorts). Scalars of a connection read
# anyway: they add nothing to a page's cost.
PULL_COMMIT_FIELDS = """
fragment PullCommitFields on Commit {
  authoredDate
  author { name email user { login } }
  message
}
"""
REVIEW_FIELDS = f"""
fragment ReviewFields on PullRequestReview {{
  author {{ {ACTOR} }}
  state
  submittedAt
  comments {{ totalCount }}
}}
"""
DEPLOYMENT_FIELDS = f"""
fragment DeploymentFields on Deployment {{
  id
  databaseId
  environment
  createdAt
  commitOid
  creator {{ {ACTOR} }}
  statuses(first: 10) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ state createdAt }}
  }}
}}
"""
RELEASE_FIELDS = f"""
fragment ReleaseFields on Release {{
  id
  tagName
  name
  isDraft
  isPrerelease
  createdAt
  publishedAt
  tagCommit {{ oid }}
  author {{ {ACTOR} }}
}}
"""
# Issues, read to find incidents (by label) and re-read by id to see deleted ones.
INCIDENT_FIELDS = """
fragment IncidentFields on Issue {
  id
  number
  title
  body
  url
  state
  createdAt
  updatedAt
  closedAt
  labels(first: 100) { nodes { name } }
}
"""

# One document per repository and page: every connection the metrics need, each with its own
# cursor and switch, so a page costs one request however many connections still have pages.
# ``nodes`` re-reads cached records that can change without a new creation time.
COLLECT = f"""
query Collect($owner: String!, $name: String!, $reviewsFirst: Int!,
              $pulls: Boolean!, $pullsFirst: Int!, $pullsAfter: String,
              $deployments: Boolean!, $deploymentsFirst: Int!, $deploymentsAfter: String,
              $releases: Boolean!, $releasesFirst: Int!, $releasesAfter: String,
              $issues: Boolean!, $issuesFirst: Int!, $issuesAfter: String,
              $issueLabels: [String!], $issuesSince: DateTime,
              $history: Boolean!, $historyFirst: Int!, $historyAfter: String,
              $historySince: GitTimestamp,
              $recheck: Boolean!, $recheckIds: [ID!]!) {{
  {RATE_LIMIT}
  nodes(ids: $recheckIds) @include(if: $recheck) {{
    __typename
    id
    ...DeploymentFields
    ...ReleaseFields
    ...IncidentFields
  }}
  repository(owner: $owner, name: $name) {{
    nameWithOwner
    isPrivate
    isArchived
    defaultBranchRef {{
      name
      target {{
        ... on Commit {{
          history(first: $historyFirst, after: $historyAfter, since: $historySince)
              @include(if: $history) {{
            totalCount
            pageInfo {{ hasNextPage endCursor }}
            nodes {{
              oid
              message
              authoredDate
              committedDate
              parents(first: 3) {{ nodes {{ oid }} }}
              author {{ name email user {{ login }} }}
              associatedPullRequests(first: 1) {{ nodes {{ number merged }} }}
            }}
          }}
        }}
      }}
    }}
    pullRequests(first: $pullsFirst, after: $pullsAfter,
                 orderBy: {{field: UPDATED_AT, direction: DESC}}) @include(if: $pulls) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ ...PullRequestFields }}
    }}
    deployments(first: $deploymentsFirst, after: $deploymentsAfter,
                orderBy: {{field: CREATED_AT, direction: DESC}}) @include(if: $deployments) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ ...DeploymentFields }}
    }}
    releases(first: $releasesFirst, after: $releasesAfter,
             orderBy: {{field: CREATED_AT, direction: DESC}}) @include(if: $releases) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ ...ReleaseFields }}
    }}
    issues(first: $issuesFirst, after: $issuesAfter,
           filterBy: {{labels: $issueLabels, since: $issuesSince}},
           orderBy: {{field: UPDATED_AT, direction: DESC}}) @include(if: $issues) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ ...IncidentFields }}
    }}
  }}
}}
{PULL_REQUEST_FIELDS}
{TIMELINE_FIELDS}
{PULL_COMMIT_FIELDS}
{REVIEW_FIELDS}
{DEPLOYMENT_FIELDS}
{RELEASE_FIELDS}
{INCIDENT_FIELDS}
"""

# The rest of a nested connection whose first page, read inside COLLECT, was full.
OVERFLOW = f"""
query Overflow($id: ID!, $after: String, $reviews: Boolean!, $ready: Boolean!,
               $commits: Boolean!, $statuses: Boolean!) {{
  {RATE_LIMIT}
  node(id: $id) {{
    ... on PullRequest {{
      commits(first: 100, after: $after) @include(if: $commits) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ commit {{ ...PullCommitFields }} }}
      }}
      reviews(first: 100, after: $after) @include(if: $reviews) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ ...ReviewFields }}
      }}
      timelineItems(first: 100, after: $after, itemTypes: [READY_FOR_REVIEW_EVENT, ISSUE_COMMENT])
          @include(if: $ready) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ ...TimelineFields }}
      }}
    }}
    ... on Deployment {{
      statuses(first: 100, after: $after) @include(if: $statuses) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ state createdAt }}
      }}
    }}
  }}
}}
{REVIEW_FIELDS}
{TIMELINE_FIELDS}
{PULL_COMMIT_FIELDS}
"""

# The deployments of the production environments whose baseline COLLECT did not reach (it
# stops at the first environment's), newest first, until each has its own.
ENVIRONMENT_BASELINES = f"""
query EnvironmentBaselines($owner: String!, $name: String!, $environments: [String!],
                           $first: Int!, $after: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    deployments(environments: $environments, first: $first, after: $after,
                orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ ...DeploymentFields }}
    }}
  }}
}}
{DEPLOYMENT_FIELDS}
"""

# Tags for ``deployment-source: tags:<glob>``, newest tagged commit first. The glob is matched
# on our side: ``refs`` only filters by a substring (``query``).
TAGS = f"""
query Tags($owner: String!, $name: String!, $first: Int!, $after: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    refs(refPrefix: "refs/tags/", first: $first, after: $after,
         orderBy: {{field: TAG_COMMIT_DATE, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        name
        target {{
          __typename
          oid
          ... on Commit {{ committedDate }}
          ... on Tag {{
            tagger {{ date }}
            target {{ __typename oid ... on Commit {{ committedDate }} }}
          }}
        }}
      }}
    }}
  }}
}}
"""

# Incident issues of ``incident-repository``, read once for all measured repositories.
INCIDENTS = f"""
query Incidents($owner: String!, $name: String!, $first: Int!, $after: String,
                $labels: [String!], $since: DateTime) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    isPrivate
    issues(first: $first, after: $after, filterBy: {{labels: $labels, since: $since}},
           orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        number
        title
        body
        url
        createdAt
        updatedAt
        closedAt
        labels(first: 100) {{ nodes {{ name }} }}
      }}
    }}
  }}
}}
"""

# Before several repositories are collected: how much each holds, to estimate the run's cost.
# Connections read for totalCount only cost nothing, so the document costs one point.
SIZES_BATCH = 50


def sizes_query(count: int) -> str:
    """Sizes of ``count`` repositories, given as variables ``$o0, $n0, $o1, $n1, ...``."""
    parameters = "".join(f", $o{i}: String!, $n{i}: String!" for i in range(count))
    repositories = "".join(
        f"""
  r{i}: repository(owner: $o{i}, name: $n{i}) {{
    createdAt
    pullRequests {{ totalCount }}
    deployments {{ totalCount }}
    releases {{ totalCount }}
    issues(filterBy: {{labels: $labels, since: $since}}) {{ totalCount }}
    defaultBranchRef {{
      target {{ ... on Commit {{ history(since: $historySince) {{ totalCount }} }} }}
    }}
  }}"""
        for i in range(count)
    )
    return f"""
query Sizes($labels: [String!], $since: DateTime, $historySince: GitTimestamp{parameters}) {{
  {RATE_LIMIT}{repositories}
}}
"""


# The history of deployed commits that are not on the default branch (a maintenance line's
# tag, a release commit main never got), read back until it joins the history already known.
# One alias per commit and no cursor: the next request starts where the lines read so far
# end. No associatedPullRequests: a commit off the default branch is never a change by itself
# (a pull request merged into another counted base branch is linked by its merge commit), and
# leaving it out halves the cost.
OFF_BRANCH_BATCH = 5


def off_branch_page(count: int) -> int:
    """The largest page at which ``count`` aliases still cost one point: GitHub charges each
    1 + page x 1 nested connection (parents), and 149 requests round down to 1 point."""
    return min(100, 149 // count - 1)


def off_branch_query(count: int) -> str:
    """The histories of ``count`` commits, given as variables ``$oid0, $oid1, ...``."""
    parameters = "".join(f", $oid{i}: GitObjectID!" for i in range(count))
    commits = "".join(
        f"""
    c{i}: object(oid: $oid{i}) {{
      ... on Commit {{
        history(first: $first, since: $since) {{
          pageInfo {{ hasNextPage }}
          nodes {{ ...OffBranchCommit }}
        }}
      }}
    }}"""
        for i in range(count)
    )
    return f"""
query OffBranch($owner: String!, $name: String!, $first: Int!, $since: GitTimestamp{parameters}) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{{commits}
  }}
}}
fragment OffBranchCommit on Commit {{
  oid
  message
  authoredDate
  committedDate
  parents(first: 3) {{ nodes {{ oid }} }}
  author {{ name email user {{ login }} }}
}}
"""


# Connections a COLLECT page nests inside each item of a top-level connection (history:
# parents and associated pull requests; a pull request: labels, commits, reviews and timeline
# items; a deployment: statuses; an issue: labels). GitHub charges a query the requests it
# could take, full pages assumed, over 100 (tests check this against the emulator, which
# computes GitHub's formula from the document itself).
NESTED_CONNECTIONS = {"history": 2, "pulls": 4, "deployments": 1, "releases": 0, "issues": 1}


def page_points(first: dict[str, int]) -> int:
    """GitHub's cost of one COLLECT page reading each connection in ``first`` at that size."""
    requests = sum(1 + size * NESTED_CONNECTIONS[name] for name, size in first.items())
    return max(1, int(requests / 100 + 0.5))


PIN_ISSUE = """
mutation PinIssue($issueId: ID!) {
  pinIssue(input: {issueId: $issueId}) { issue { number } }
}
"""

UNPIN_ISSUE = """
mutation UnpinIssue($issueId: ID!) {
  unpinIssue(input: {issueId: $issueId}) { issue { number } }
}
"""

# The history branch's export CSVs, read many at a time: each object is one point-free node,
# so a request costs 1 point however many it names (a year of weekly files: 3 requests).
BLOBS_BATCH = 20


def blobs_query(count: int) -> str:
    """The text of ``count`` blobs, given as variables ``$oid0, $oid1, ...``."""
    parameters = "".join(f", $oid{i}: GitObjectID!" for i in range(count))
    blobs = "".join(
        f"""
    b{i}: object(oid: $oid{i}) {{ ... on Blob {{ text isTruncated isBinary }} }}"""
        for i in range(count)
    )
    return f"""
query Blobs($owner: String!, $name: String!{parameters}) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{{blobs}
  }}
}}
"""


ALL_DOCUMENTS: dict[str, str] = {
    "VIEWER": VIEWER,
    "COLLECT": COLLECT,
    "OVERFLOW": OVERFLOW,
    "ENVIRONMENT_BASELINES": ENVIRONMENT_BASELINES,
    "TAGS": TAGS,
    "INCIDENTS": INCIDENTS,
    # Every size the action can send: one per batch length.
    **{f"SIZES_{count}": sizes_query(count) for count in range(1, SIZES_BATCH + 1)},
    **{f"OFF_BRANCH_{count}": off_branch_query(count) for count in range(1, OFF_BRANCH_BATCH + 1)},
    **{f"BLOBS_{count}": blobs_query(count) for count in range(1, BLOBS_BATCH + 1)},
    "PIN_ISSUE": PIN_ISSUE,
    "UNPIN_ISSUE": UNPIN_ISSUE,
}
