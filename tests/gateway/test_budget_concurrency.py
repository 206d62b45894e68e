"""Budgets hold under concurrency: 64 clients against three gateway processes sharing one
keep (SQLite, then PostgreSQL) never make spend pass the budget by more than the calls in
flight; with reservations of the worst case it does not pass it at all."""

from __future__ import annotations

import pytest
from budget_race import budget_run

pytestmark = pytest.mark.slow
PER_CALL = 10_000  # chat@1.0.1 costs 0.01 USD a call
LIMIT = 300_000  # 0.30 USD: 30 calls


def _check(run, dialect):
    result, budget = run.race, run.budget
    overshoot = budget.spent_micros - budget.limit_micros
    print(f"\n{dialect}: {result.ok} answered, {result.statuses.get(402, 0)} refused 402, "
          f"{result.max_in_flight} in flight at most, spent {budget.spent_micros / 1e6:.2f} of "
          f"{budget.limit_micros / 1e6:.2f} USD, overshoot {max(overshoot, 0) / 1e6:.2f} USD")
    assert set(result.statuses) <= {200, 402}, result.statuses
    assert overshoot <= result.max_in_flight * PER_CALL  # the bound the issue asks for
    assert overshoot <= 0  # reserving the worst case first: never past the budget at all
    assert budget.spent_micros == result.ok * PER_CALL == run.upstream_calls * PER_CALL
    assert budget.reserved_micros == 0  # every reservation settled
    assert result.ok == LIMIT // PER_CALL  # and the whole budget could be spent
    assert len(result.ok_by_gateway) >= 2  # several gateways spent of it


def test_64_clients_and_three_gateways_on_sqlite_stay_within_the_budget(tmp_path):
    _check(budget_run(tmp_path / "project"), "sqlite")


def test_an_upstream_reporting_more_than_reserved_overshoots_by_at_most_the_calls_in_flight(
        tmp_path):
    """chat@1.0.0 is priced per token with max_tokens 16, so a call reserves about 0.036 USD;
    the lying provider reports 1,000 completion tokens (1.501 USD a call). The reservations
    still bound what can be in flight when the limit is reached."""
    run = budget_run(tmp_path / "project", ref="chat@1.0.0", amount="1.00", lying_tokens=1000)
    real = 1_501_000  # 2 prompt tokens at 0.5/1k + 1,000 completion tokens at 1.5/1k
    budget, result = run.budget, run.race
    overshoot = budget.spent_micros - budget.limit_micros
    print(f"\nlying upstream: {result.ok} answered, overshoot {overshoot / 1e6:.3f} USD = "
          f"{overshoot / real:.1f} calls, {result.max_in_flight} in flight at most")
    assert budget.spent_micros == result.ok * real and budget.reserved_micros == 0
    assert 0 < overshoot <= result.max_in_flight * real
    assert set(result.statuses) <= {200, 402}


@pytest.mark.postgres
def test_64_clients_and_three_gateways_on_postgresql_stay_within_the_budget(tmp_path, pg_url):
    _check(budget_run(tmp_path / "project", pg_url), "postgresql")
