"""Schemathesis hooks for ozg-registry (loaded through SCHEMATHESIS_HOOKS by ./run).

Values for the registry's own scalars: mostly well-formed (so that generated requests reach the
resolvers) and sometimes arbitrary text (so that the scalar parsing is exercised too).

The check `no_server_error` replaces schemathesis' `not_a_server_error`, which counts every error
entry that carries a `path` as a resolver failure. This registry answers expected outcomes (a record
that does not exist, a forbidden or conflicting write) with coded errors; what must never come back
is a 5xx, an error without a code, an INTERNAL error, or text from the database or a panic.
"""

import re

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes


def digits(n):
    return st.from_regex(rf"\A[0-9]{{{n}}}\Z")


def scalar(name, wellformed):
    schemathesis.graphql.scalar(name, st.one_of(wellformed, wellformed, st.text(max_size=20)).map(nodes.String))


scalar("OzgId", digits(5))
scalar("LeikaKey", digits(14))
scalar("Ags", st.sampled_from(["05315000", "05913000", "05122000", "05978000"]) | digits(8))
scalar("Ars", digits(12))
scalar("DistrictKey", digits(5))
scalar("DateTime", st.datetimes().map(lambda d: d.isoformat() + "Z"))
scalar("PartialDate", st.sampled_from(["2021", "2021-Q1", "2020-12", "2020-12-03"]) | st.dates().map(str))

CODES = {
    "BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "FORBIDDEN", "ILLEGAL_TRANSITION", "ALREADY_EXISTS",
    "UNAUTHENTICATED", "BAD_REQUEST", "LIMIT_EXCEEDED", "RATE_LIMITED",
}
LEAKS = re.compile(r"diesel|sqlite|postgres|SQLSTATE|syntax error at|panicked|stack backtrace|\bSELECT\b|\bINSERT\b", re.I)


@schemathesis.check
def no_server_error(ctx, response, case):
    assert response.status_code < 500, f"HTTP {response.status_code}"
    text = response.text
    assert not LEAKS.search(text), f"internal text in the response: {text[:300]}"
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in CODES, f"error without an expected code ({code!r}): {error.get('message')}"
