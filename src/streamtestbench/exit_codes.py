"""Process exit codes, documented in the README: CI systems read them."""

PASSED = 0
SLO_FAILED = 1
INVALID_INPUT = 2
ABORTED = 3
