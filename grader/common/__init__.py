"""Shared host-side infrastructure, written once: atomic file writes and TOML loading (`files`), the
one Jinja environment the HTML pages are rendered with (`templates`).

Host side only: code under `grader.inside` (which runs in the sandbox) never imports this package.
Nothing here imports the rest of `grader`; process-tree termination lives in
`grader.sandbox.processes`, which the standard-library-only sandbox launcher shares.
"""
