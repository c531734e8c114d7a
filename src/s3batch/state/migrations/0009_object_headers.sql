-- 0009: the standard headers S3 keeps with an object besides Content-Type and
-- Content-Encoding: Cache-Control, Content-Disposition, Content-Language and Expires, stored
-- as the writer sent them (Expires is not parsed: S3 returns it verbatim). An upload keeps
-- them until it completes into an object.

ALTER TABLE objects ADD COLUMN cache_control TEXT;
ALTER TABLE objects ADD COLUMN content_disposition TEXT;
ALTER TABLE objects ADD COLUMN content_language TEXT;
ALTER TABLE objects ADD COLUMN expires TEXT;

ALTER TABLE uploads ADD COLUMN cache_control TEXT;
ALTER TABLE uploads ADD COLUMN content_disposition TEXT;
ALTER TABLE uploads ADD COLUMN content_language TEXT;
ALTER TABLE uploads ADD COLUMN expires TEXT;
