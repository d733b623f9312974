"""Every GraphQL document the action sends. Tests validate each against GitHub's public schema."""

from __future__ import annotations

RATE_LIMIT = "rateLimit { cost remaining resetAt }"

VIEWER = """
query Viewer {
  viewer { login }
}
"""

REPOSITORY = f"""
query Repository($owner: String!, $name: String!) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    nameWithOwner
    isPrivate
    isArchived
    defaultBranchRef {{ name }}
  }}
}}
"""

PULL_REQUESTS = f"""
query PullRequests($owner: String!, $name: String!, $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    pullRequests(first: 50, after: $cursor, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
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
        author {{ __typename login }}
        mergeCommit {{ oid }}
        labels(first: 20) {{ nodes {{ name }} }}
        commits(first: 1) {{ totalCount nodes {{ commit {{ authoredDate }} }} }}
        reviews(first: 50) {{
          totalCount
          nodes {{
            author {{ __typename login }}
            state
            submittedAt
            comments {{ totalCount }}
          }}
        }}
        timelineItems(first: 10, itemTypes: [READY_FOR_REVIEW_EVENT]) {{
          nodes {{ ... on ReadyForReviewEvent {{ createdAt }} }}
        }}
      }}
    }}
  }}
}}
"""

DEPLOYMENTS = f"""
query Deployments($owner: String!, $name: String!, $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    deployments(first: 100, after: $cursor, orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        databaseId
        environment
        createdAt
        commitOid
        creator {{ __typename login }}
        statuses(first: 20) {{ nodes {{ state createdAt }} }}
      }}
    }}
  }}
}}
"""

RELEASES = f"""
query Releases($owner: String!, $name: String!, $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    releases(first: 100, after: $cursor, orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        tagName
        name
        isDraft
        isPrerelease
        createdAt
        publishedAt
        tagCommit {{ oid }}
        author {{ __typename login }}
      }}
    }}
  }}
}}
"""

INCIDENTS = f"""
query Incidents($owner: String!, $name: String!, $labels: [String!], $since: DateTime,
                $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    issues(first: 100, after: $cursor, filterBy: {{labels: $labels, since: $since}},
           orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        number
        title
        url
        state
        createdAt
        closedAt
        author {{ __typename login }}
      }}
    }}
  }}
}}
"""

HISTORY = f"""
query History($owner: String!, $name: String!, $branch: String!, $since: GitTimestamp,
              $cursor: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    ref(qualifiedName: $branch) {{
      target {{
        ... on Commit {{
          history(first: 100, after: $cursor, since: $since) {{
            pageInfo {{ hasNextPage endCursor }}
            nodes {{
              oid
              message
              authoredDate
              committedDate
              parents(first: 3) {{ nodes {{ oid }} }}
              author {{ user {{ login }} }}
              associatedPullRequests(first: 1) {{ nodes {{ number }} }}
            }}
          }}
        }}
      }}
    }}
  }}
}}
"""

PIN_ISSUE = """
mutation PinIssue($issueId: ID!) {
  pinIssue(input: {issueId: $issueId}) { issue { number } }
}
"""

ALL_DOCUMENTS: dict[str, str] = {
    "VIEWER": VIEWER,
    "REPOSITORY": REPOSITORY,
    "PULL_REQUESTS": PULL_REQUESTS,
    "DEPLOYMENTS": DEPLOYMENTS,
    "RELEASES": RELEASES,
    "INCIDENTS": INCIDENTS,
    "HISTORY": HISTORY,
    "PIN_ISSUE": PIN_ISSUE,
}
