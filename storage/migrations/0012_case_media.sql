-- Photos, videos, files and voice messages in a case (issue 11): a customer's photo of a broken
-- product reaches the shop, and the shop can answer with one. Telegram keeps the file; the row
-- keeps its file_id, which stays valid for the bot that received it. NULL for a plain text.
-- Cleared by /forget with the text.
ALTER TABLE case_messages ADD COLUMN media_kind TEXT
    CHECK (media_kind IN ('photo', 'video', 'document', 'voice', 'audio', 'animation'));
ALTER TABLE case_messages ADD COLUMN media_file_id TEXT;
