"""The command line (`grader`, a click group): sits on top, calls the library; nothing imports it.

`main` holds the group, the list of commands and the mapping of errors to exit codes; `options` the
grading options several commands share (one decorator) and the one function that turns them into
the library's `Options`. Every other module holds one command or two: adding a command is a small
module here and a line in `main.COMMANDS`.
"""
