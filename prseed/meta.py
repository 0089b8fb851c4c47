"""Every ``Request.meta`` key prseed sets or reads, in one place.

Components agree on these names and nothing else: a middleware never reaches into the
spider that made a request, it reads what the request says about itself.
"""

# The GraphQL operation a request carries (its name, e.g. ``PullRequestPage``), for stats,
# logs and the cache. The token pool does not ask for it: it signs every request to
# GITHUB_GRAPHQL_URL and no other.
OPERATION = "prseed_operation"
# owner/name of the repository the request belongs to (progress, stats, the HTTP cache).
REPOSITORY = "prseed_repository"
# The stream (``prseed.engine``) the request belongs to.
STREAM = "prseed_stream"
# Set by ``-a refresh=1``: the HTTP cache treats the request as a miss.
REFRESH_CACHE = "prseed_refresh_cache"
# The stable id of the credential a token check is for (the token pool's own requests).
CHECK_TOKEN = "prseed_check_token"
# The stable id of the credential that signed the request (set by the token pool).
TOKEN = "prseed_token"
# Which of that credential's secrets signed it (Credential.generation, a count, no secret):
# a 401 to a secret renewed since is no reason to renew again.
TOKEN_GENERATION = "prseed_token_generation"
# Set on a retried request by whoever retried it: what went wrong, for the retry's log line.
RETRY_CAUSE = "prseed_retry_cause"
# The retry number whose back-off has been waited (so a retry waits once).
BACKED_OFF = "prseed_backed_off"
