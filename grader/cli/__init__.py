"""The command line: sits on top, calls the library; nothing imports it."""
