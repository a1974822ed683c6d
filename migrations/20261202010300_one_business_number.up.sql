-- One business registration number, one seller: a number belongs to at most one application that
-- is pending or approved. A rejected application frees its number; so does deleting the account,
-- which closes the account's pending and approved applications (status `closed`).

ALTER TABLE seller_applications DROP CONSTRAINT seller_applications_status_check;
ALTER TABLE seller_applications ADD CONSTRAINT seller_applications_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'closed'));

-- Accounts deleted before this rule: their applications no longer hold a number. (A closed
-- application keeps its decision time: NULL means it was closed while still pending.)
UPDATE seller_applications a SET status = 'closed'
FROM users u
WHERE u.id = a.user_id AND u.status = 'deleted' AND a.status IN ('pending', 'approved');

-- Two live sellers with one number cannot be told apart by a migration: an operator decides.
DO $$
DECLARE
    dup text;
BEGIN
    SELECT business_registration_number INTO dup FROM seller_applications
    WHERE status = 'approved' GROUP BY business_registration_number HAVING count(*) > 1 LIMIT 1;
    IF dup IS NOT NULL THEN
        RAISE EXCEPTION 'two approved sellers share the business registration number %: close one of their applications first', dup;
    END IF;
END $$;

-- A pending application whose number an approved or older pending application already holds is
-- rejected, with a reason the applicant sees.
UPDATE seller_applications a
SET status = 'rejected', decided_at = now(),
    decision_reason = '같은 사업자등록번호로 이미 등록되었거나 심사 중인 신청이 있습니다.'
WHERE a.status = 'pending' AND EXISTS (
    SELECT 1 FROM seller_applications b
    WHERE b.business_registration_number = a.business_registration_number AND b.id <> a.id
      AND (b.status = 'approved' OR (b.status = 'pending' AND (b.created_at, b.id) < (a.created_at, a.id))));

CREATE UNIQUE INDEX seller_applications_one_per_number ON seller_applications (business_registration_number)
    WHERE status IN ('pending', 'approved');
