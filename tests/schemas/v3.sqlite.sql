-- prseed schema version 3 (sqlite), as release b5c2800 created it; do not edit:
-- tests/test_migrations.py upgrades a database made from it.
CREATE TABLE IF NOT EXISTS prseed_schema (version INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS repositories (
  id TEXT NOT NULL,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  url TEXT NOT NULL,
  PRIMARY KEY (owner, name),
  UNIQUE (id)
);

CREATE TABLE IF NOT EXISTS members (
  login TEXT NOT NULL,
  kind TEXT NOT NULL,
  database_id INTEGER,
  name TEXT,
  PRIMARY KEY (login)
);

CREATE TABLE IF NOT EXISTS milestones (
  repository_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  id TEXT NOT NULL,
  title TEXT NOT NULL,
  state TEXT NOT NULL,
  due_on TEXT,
  closed_at TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (repository_id, number)
);

CREATE TABLE IF NOT EXISTS labels (
  repository_id TEXT NOT NULL,
  name TEXT NOT NULL,
  id TEXT NOT NULL,
  color TEXT NOT NULL,
  description TEXT,
  PRIMARY KEY (repository_id, name)
);

CREATE TABLE IF NOT EXISTS pull_requests (
  id TEXT NOT NULL,
  repository_id TEXT NOT NULL REFERENCES repositories(id),
  number INTEGER NOT NULL,
  database_id INTEGER,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL,
  is_draft INTEGER NOT NULL,
  url TEXT NOT NULL,
  author_login TEXT NOT NULL,
  merged_by_login TEXT,
  milestone_number INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  closed_at TEXT,
  merged_at TEXT,
  base_ref TEXT NOT NULL,
  head_ref TEXT NOT NULL,
  head_sha TEXT NOT NULL,
  merge_commit_sha TEXT,
  additions INTEGER NOT NULL,
  deletions INTEGER NOT NULL,
  changed_files INTEGER NOT NULL,
  files_truncated INTEGER NOT NULL,
  review_decision TEXT,
  complete INTEGER NOT NULL,
  PRIMARY KEY (repository_id, number),
  UNIQUE (id)
);

CREATE TABLE IF NOT EXISTS pull_request_labels (
  pull_request_id TEXT NOT NULL REFERENCES pull_requests(id),
  label_name TEXT NOT NULL,
  PRIMARY KEY (pull_request_id, label_name)
);

CREATE TABLE IF NOT EXISTS closing_issues (
  pull_request_id TEXT NOT NULL REFERENCES pull_requests(id),
  issue_repository TEXT NOT NULL,
  issue_number INTEGER NOT NULL,
  title TEXT NOT NULL,
  state TEXT NOT NULL,
  url TEXT NOT NULL,
  PRIMARY KEY (pull_request_id, issue_repository, issue_number)
);

CREATE TABLE IF NOT EXISTS reviews (
  id TEXT NOT NULL,
  pull_request_id TEXT NOT NULL REFERENCES pull_requests(id),
  database_id INTEGER,
  author_login TEXT NOT NULL,
  state TEXT NOT NULL,
  body TEXT NOT NULL,
  author_association TEXT NOT NULL,
  commit_oid TEXT,
  submitted_at TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS reviews_pull_request_id ON reviews (pull_request_id);

CREATE TABLE IF NOT EXISTS commits (
  pull_request_id TEXT NOT NULL REFERENCES pull_requests(id),
  oid TEXT NOT NULL,
  message_headline TEXT NOT NULL,
  message TEXT NOT NULL,
  author_name TEXT,
  author_email TEXT,
  author_login TEXT,
  authored_at TEXT NOT NULL,
  committed_at TEXT NOT NULL,
  additions INTEGER NOT NULL,
  deletions INTEGER NOT NULL,
  PRIMARY KEY (pull_request_id, oid)
);

CREATE TABLE IF NOT EXISTS files (
  pull_request_id TEXT NOT NULL REFERENCES pull_requests(id),
  path TEXT NOT NULL,
  additions INTEGER NOT NULL,
  deletions INTEGER NOT NULL,
  change_type TEXT NOT NULL,
  PRIMARY KEY (pull_request_id, path)
);

CREATE TABLE IF NOT EXISTS check_runs (
  id TEXT NOT NULL,
  pull_request_id TEXT NOT NULL REFERENCES pull_requests(id),
  commit_oid TEXT NOT NULL,
  check_suite_id TEXT NOT NULL,
  app_slug TEXT,
  database_id INTEGER,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  conclusion TEXT,
  started_at TEXT,
  completed_at TEXT,
  details_url TEXT,
  PRIMARY KEY (id)
);

CREATE INDEX IF NOT EXISTS check_runs_pull_request_id ON check_runs (pull_request_id);

CREATE TABLE IF NOT EXISTS sync_state (
  repository TEXT NOT NULL,
  repository_id TEXT,
  newest_seen TEXT,
  synced_at TEXT,
  run_started_at TEXT,
  run_since TEXT,
  run_newest TEXT,
  run_cursor TEXT,
  run_fetched INTEGER,
  run_listed INTEGER,
  covered_since TEXT,
  history_complete INTEGER,
  backfill_cursor TEXT,
  run_backfill INTEGER,
  PRIMARY KEY (repository)
);

INSERT INTO prseed_schema (version) VALUES (3);
