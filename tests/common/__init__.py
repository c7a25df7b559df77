"""Tests of grader.common: the shared host-side infrastructure."""
