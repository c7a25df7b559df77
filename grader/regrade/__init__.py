"""Regrading: the stored results of a batch judged again against the assignment as it is now.

Every check is a pure function of the grader's own record, evaluation, pre-check findings and
skeleton comparison, all stored with each result, so changed thresholds, points, limits, accepted
messages or blocking rules are applied without running any notebook (`grader.regrade.rejudge`).
Where a change needs what the stored data cannot give (`grader.regrade.decide`), only those
submissions run again, through the batch (`grader.batch.run.run_batch`, restricted to them). The
gradebook keeps every version with the assignment's fingerprint; reports and summary.html are
written again.

    stored  (result.json, gradebook)  ->  decide  ->  rejudge | run again  ->  apply  ->  command
"""

from grader.regrade.apply import RegradeOutcome, carry_out, plan_regrade, plan_results, regrade, regrade_one
from grader.regrade.command import render_outcome, run_regrade_command
from grader.regrade.plan import CheckChange, Planned, Reason, RegradePlan, ScoreChange, render_change, render_plan

__all__ = [
    "CheckChange", "Planned", "Reason", "RegradeOutcome", "RegradePlan", "ScoreChange", "carry_out", "plan_regrade",
    "plan_results", "regrade", "regrade_one", "render_change", "render_outcome", "render_plan", "run_regrade_command",
]
