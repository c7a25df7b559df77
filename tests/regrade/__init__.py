"""Tests of grader/regrade: stored results judged again, and only what needs it run again."""
