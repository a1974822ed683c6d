DROP INDEX seller_applications_one_per_number;

UPDATE seller_applications
SET status = 'pending', decided_at = NULL, decision_reason = NULL
WHERE status = 'rejected' AND decided_by IS NULL
  AND decision_reason = '같은 사업자등록번호로 이미 등록되었거나 심사 중인 신청이 있습니다.';

UPDATE seller_applications
SET status = CASE WHEN decided_at IS NULL THEN 'pending' ELSE 'approved' END
WHERE status = 'closed';

ALTER TABLE seller_applications DROP CONSTRAINT seller_applications_status_check;
ALTER TABLE seller_applications ADD CONSTRAINT seller_applications_status_check
    CHECK (status IN ('pending', 'approved', 'rejected'));
