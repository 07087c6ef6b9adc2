-- Title search in the default order (-total_funded) without a join per row.
--
-- A search for a common word ("취미", in a twentieth of the titles) is
-- answered fastest by walking the order and keeping the titles that match; a
-- rare word by collecting its matches from the title indexes and sorting
-- them (QueryService::List decides at run time). The walk used to look up
-- every post it passed in posts, for its title: about 2 µs a row. Now
-- post_stats keeps a copy of the title, and the index that orders by total
-- carries it lower-cased, so the walk reads that index alone (an index-only
-- scan: the projector VACUUMs post_stats, which keeps its visibility map
-- set) and matches with LIKE. `title ILIKE p` is `lower(title) LIKE lower(p)`
-- in a UTF-8 database, which is how PostgreSQL evaluates it, at four times
-- the cost per row. The projector writes the copy beside posts.title,
-- replay copies it, verify compares it with the log; PostgreSQL derives the
-- lower-cased one.
ALTER TABLE post_stats ADD COLUMN title text;
UPDATE post_stats s SET title = p.title FROM posts p WHERE p.id = s.id;
ALTER TABLE post_stats ALTER COLUMN title SET NOT NULL;
ALTER TABLE post_stats ADD COLUMN title_lower text NOT NULL GENERATED ALWAYS AS (lower(title)) STORED;

DROP INDEX post_stats_total_funded_id;
CREATE INDEX post_stats_total_funded_id ON post_stats (total_funded, id) INCLUDE (title_lower);
