"""The test suite. Its datasets hold event logs from 2018-11-01 into 2019 (the built-in sample
only its November), so the daily partitions span those days in every test and in every command
a test starts (:mod:`sparkify_dagster.partitions` reads the bounds when it is imported)."""

import os

os.environ.setdefault("SPARKIFY_FIRST_DAY", "2018-11-01")
os.environ.setdefault("SPARKIFY_LAST_DAY", "2019-12-31")
