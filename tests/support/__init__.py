"""Plain helpers shared by the test folders (constants, builders, the hostile-corpus runner).

Fixtures live in conftest.py files; what is imported lives here, so that no test module imports
another and nothing imports a conftest."""
