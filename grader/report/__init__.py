"""Outputs of one result: the HTML report, the chart, the terminal summary, the files written."""
