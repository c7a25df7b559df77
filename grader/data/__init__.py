"""Data sets: the verified stores, their sources, and the held-out split."""
