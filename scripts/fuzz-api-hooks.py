"""Schemathesis hooks for the API fuzz stage (scripts/fuzz-api.sh): strategies for the string
formats of the Truffle OpenAPI document that a pattern cannot say (check digits)."""

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


def _gtin(digits: list[int]) -> str:
    """A GTIN-8, -12, -13 or -14 with its mod-10 check digit (GS1), as the service checks it."""
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return "".join(map(str, digits + [(10 - total % 10) % 10]))


schemathesis.openapi.format(
    "gtin",
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.builds(_gtin, st.lists(st.integers(0, 9), min_size=n, max_size=n))
    ),
)
