-- The campaign lifecycle (schema version 2 of the events): a post's funding
-- terms, its status as the log has it, and every funding with what became of
-- it.

-- Terms chosen at creation (editable until the first funding). Posts of a
-- version-1 log are keep_it_all without a limit, as the events are upcast.
ALTER TABLE posts
  ADD COLUMN funding_model text NOT NULL DEFAULT 'keep_it_all'
    CHECK (funding_model IN ('keep_it_all', 'all_or_nothing')),
  ADD COLUMN max_fundings_per_backer bigint
    CHECK (max_fundings_per_backer BETWEEN 1 AND 10000),
  -- funding until the service appends the post's PostSettled, then its
  -- outcome. On posts, not post_stats: it changes once in a post's life, and
  -- the list filters on it beside end_date.
  ADD COLUMN status text NOT NULL DEFAULT 'funding'
    CHECK (status IN ('funding', 'successful', 'failed'));

-- order_by end_date / -end_date, ties broken by id (keyset), alone or with a
-- status filter.
CREATE INDEX posts_end_date_id ON posts (end_date, id);
CREATE INDEX posts_status_end_date_id ON posts (status, end_date, id);

-- Every funding ever made, one row per PostFunded, kept when its post is
-- deleted (the backer's history). state: live, cancelled (FundingCancelled)
-- or refunded (FundingRefunded, which returns all of a backer's live
-- fundings of a post).
CREATE TABLE fundings (
  position    bigint      PRIMARY KEY,
  post_id     bigint      NOT NULL,
  backer      text        COLLATE "C" NOT NULL,
  units       bigint      NOT NULL CHECK (units > 0),
  amount      bigint      NOT NULL CHECK (amount > 0),
  recorded_at timestamptz NOT NULL,
  state       text        NOT NULL DEFAULT 'live'
    CHECK (state IN ('live', 'cancelled', 'refunded'))
);
-- GET /api/me/fundings: one backer's fundings, newest first, keyset on
-- position.
CREATE INDEX fundings_backer_position ON fundings (backer, position);
-- A refund finds the backer's live fundings of one post.
CREATE INDEX fundings_live_post_backer ON fundings (post_id, backer) WHERE state = 'live';

-- The view gains the new columns (appended: CREATE OR REPLACE VIEW only adds
-- at the end). p.id beside s.id: a keyset condition on (end_date, post_id)
-- is a condition on one index of posts.
CREATE OR REPLACE VIEW post_view AS
SELECT s.id, p.title, p.uploader, p.owner, p.description, p.target_amount, p.funding_unit,
       p.end_date, p.closes_at, p.created_at,
       s.total_funded, s.participant_count, s.funding_count, s.version, s.last_position,
       p.title_grams, p.funding_model, p.max_fundings_per_backer, p.status, p.id AS post_id
FROM posts p JOIN post_stats s ON s.id = p.id;

-- The fundings of tables built before this migration have no rows here (the
-- tables never kept positions). Rather than half-filled tables, the read
-- tables start over: emptied, with no checkpoint, so the projector rebuilds
-- them from the log on the service's next start, fundings included. Fresh
-- schemas (a new service, a replay) are empty already.
TRUNCATE posts, post_stats, backers;
DELETE FROM checkpoints;
