-- The read tables the projector keeps and the API reads. Every statement runs
-- with search_path set to the target schema (then public), so the same file
-- builds the live schema and a replay's fresh one.

-- Case-insensitive substring search on titles, Korean included (the cluster
-- is UTF-8 with a Unicode-aware C.UTF-8 ctype, so Hangul counts as letters).
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- One row per live post. Deleted posts are removed (their history stays in
-- the log). Status and d_day depend on "now" and are computed when read.
CREATE TABLE posts (
  id                bigint      PRIMARY KEY,
  title             text        NOT NULL,
  uploader          text        NOT NULL,
  owner             text        NOT NULL,
  description       text        NOT NULL,
  target_amount     bigint      NOT NULL CHECK (target_amount > 0),
  funding_unit      bigint      NOT NULL CHECK (funding_unit > 0),
  end_date          date        NOT NULL,
  closes_at         timestamptz NOT NULL,
  created_at        timestamptz NOT NULL,
  total_funded      bigint      NOT NULL DEFAULT 0 CHECK (total_funded >= 0),
  participant_count bigint      NOT NULL DEFAULT 0 CHECK (participant_count >= 0),
  funding_count     bigint      NOT NULL DEFAULT 0 CHECK (funding_count >= 0),
  version           bigint      NOT NULL CHECK (version > 0),
  last_position     bigint      NOT NULL CHECK (last_position > 0)
);

-- order_by created / -created: ids are assigned in creation order, so the
-- primary key serves both directions, ties impossible.
-- order_by total_funded / -total_funded with ties broken by id (keyset).
CREATE INDEX posts_total_funded_id ON posts (total_funded, id);
-- search: ILIKE '%term%' on title.
CREATE INDEX posts_title_trgm ON posts USING gin (title public.gin_trgm_ops);

-- Live fundings per (post, backer): participant_count is the number of rows
-- of a post. No foreign key to posts: the projector deletes a post's backers
-- with the post, and a foreign key would look up and lock the post row for
-- every backer row written (measured: the upsert of a batch's backers took
-- most of a projector batch). verify reports backers without a post.
CREATE TABLE backers (
  post_id  bigint NOT NULL,
  backer   text   NOT NULL,
  units    bigint NOT NULL CHECK (units > 0),
  amount   bigint NOT NULL CHECK (amount > 0),
  fundings bigint NOT NULL CHECK (fundings > 0),
  PRIMARY KEY (post_id, backer)
);

-- Where each projector is in the log: the last applied position and its
-- hash, written in the same transaction as the rows it produced.
CREATE TABLE checkpoints (
  name       text        PRIMARY KEY,
  position   bigint      NOT NULL CHECK (position >= 0),
  hash       text        NOT NULL,
  updated_at timestamptz NOT NULL
);
