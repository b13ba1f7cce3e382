-- The rejected line as it was uploaded (shortened), so the report shows the row beside its reason: "line 7: not a
-- number" alone sends the user back to their file to find out what line 7 held. NULL for rows stored before this.
ALTER TABLE batch_rejections ADD COLUMN content text;
