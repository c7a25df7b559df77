"""Authoring assignments: scaffolding, validation, percent-format notebooks."""
