-- A link code may carry its account owner's consent to replace the account's existing KakaoTalk
-- link (POST /v1/me/kakao-link {"replace": true}); without it a linked account is not relinked.
-- Codes are eight digits from now on; the column holds only their HMAC, so nothing else changes.
ALTER TABLE kakao_link_codes ADD COLUMN replace_link boolean NOT NULL DEFAULT false;
