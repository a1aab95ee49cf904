-- Product images (JPG/PNG, at most 2 MB, checked by decoding), stored once
-- per merchant and content hash.
CREATE TABLE images (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sha256       TEXT    NOT NULL,
    content_type TEXT    NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
    width        BIGINT  NOT NULL,
    height       BIGINT  NOT NULL,
    bytes        BYTEA   NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE UNIQUE INDEX images_per_merchant ON images (account_id, sha256);
CREATE INDEX images_by_hash ON images (sha256);

ALTER TABLE links ADD COLUMN image_id BIGINT REFERENCES images (id);
