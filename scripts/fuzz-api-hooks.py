"""Schemathesis hooks for the API fuzz stage (scripts/fuzz-api.sh): strategies for the string
formats of the Truffle OpenAPI document that a pattern cannot say."""

import schemathesis
from hypothesis import strategies as st

WEIGHTS = [1, 3, 7, 1, 3, 7, 1, 3, 5]


def _business_number(digits: list[int], dashes: bool) -> str:
    """A 사업자등록번호 with its check digit, as the service checks it."""
    total = sum(d * w for d, w in zip(digits, WEIGHTS)) + digits[8] * 5 // 10
    s = "".join(map(str, digits + [(10 - total % 10) % 10]))
    return f"{s[:3]}-{s[3:5]}-{s[5:]}" if dashes else s


schemathesis.openapi.format(
    "kr-business-registration-number",
    st.builds(
        _business_number,
        st.lists(st.integers(0, 9), min_size=9, max_size=9),
        st.booleans(),
    ),
)
