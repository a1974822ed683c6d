DROP TABLE kakao_links;
DROP TABLE kakao_link_codes;
