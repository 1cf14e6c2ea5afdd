"""The bad-input corpus: every way a user can hand mmcli something wrong.

``files.py`` makes the broken files; ``cases.py`` lists each case with the
command, what the fake server does, the exit code DESIGN.md requires and a
phrase the one-sentence error must contain. tests/test_bad_inputs.py runs
them all.
"""
