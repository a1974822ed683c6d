ALTER TABLE kakao_link_codes DROP COLUMN replace_link;
