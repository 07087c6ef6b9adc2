-- Search terms of one or two characters get an index too. pg_trgm takes
-- nothing from a LIKE pattern shorter than three characters, so '%취미%' (most
-- Korean words are two syllables) scanned every title: 86 ms over 100 000
-- posts. title_grams holds every one- and two-character substring of the
-- lower-cased title; a short term is looked up there (title_grams @>
-- ARRAY[lower(term)]), which is exactly what ILIKE '%term%' would find.
-- Terms of three characters or more keep using posts_title_trgm.

CREATE FUNCTION title_grams(title text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ARRAY(
  SELECT DISTINCT substr(lower(title), i, n)
  FROM generate_series(1, char_length(title)) AS i, generate_series(1, 2) AS n
  WHERE i + n - 1 <= char_length(title));

ALTER TABLE posts ADD COLUMN title_grams text[] NOT NULL GENERATED ALWAYS AS (title_grams(title)) STORED;
CREATE INDEX posts_title_grams ON posts USING gin (title_grams)
  WITH (gin_pending_list_limit = 256);

-- A GIN index collects new entries in a pending list that every search
-- scans from end to end, until VACUUM or a full list (default 4 MB) merges
-- it. Right after 100 000 posts were created, before autovacuum came by, a
-- search took ten times as long. 256 kB keeps that scan short; the merge
-- costs the projector little, as posts are created far less often than
-- funded.
ALTER INDEX posts_title_trgm SET (gin_pending_list_limit = 256);

-- Readers filter on it through the view.
CREATE OR REPLACE VIEW post_view AS
SELECT s.id, p.title, p.uploader, p.owner, p.description, p.target_amount, p.funding_unit,
       p.end_date, p.closes_at, p.created_at,
       s.total_funded, s.participant_count, s.funding_count, s.version, s.last_position,
       p.title_grams
FROM posts p JOIN post_stats s ON s.id = p.id;
