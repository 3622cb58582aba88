"""What the UI shows of a materialization: Markdown tables that show values as written."""

from __future__ import annotations

import re

from sparkify_dagster.metadata import markdown_table, rejects_table
from sparkify_dagster.warehouse.staging import Reject


def test_rejected_values_show_as_written_never_as_markdown_or_html() -> None:
    hostile = 'userId is "<img src=x onerror=alert(1)> [x](javascript:y) **b** `c` | d"'
    reject = Reject("s3://b/log_data/2018/11/2018-11-01-events.json", 7, "events", hostile, "")
    shown = str(rejects_table([reject]).value)
    assert "In s3://b/log\\_data/2018/11/:" in shown
    row = shown.splitlines()[-1]
    assert row.startswith("| 2018-11-01-events.json | 7 | userId is ")
    value = row.removeprefix("| 2018-11-01-events.json | 7 | ").removesuffix(" |")
    assert re.search(r"(?<!\\)[<>\[\]*`|]", value) is None, value  # every mark escaped
    assert "\\<img src=x onerror=alert(1)\\> \\[x\\](javascript:y) \\*\\*b\\*\\*" in row
    assert row.count(" | ") == 2  # the pipe inside the value does not open a fourth cell


def test_a_long_or_multi_line_cell_is_cut_on_one_line() -> None:
    table = str(markdown_table(("a",), [("x\ny" + "z" * 300,)]).value)
    cell = table.splitlines()[-1]
    assert cell.startswith("| x y") and cell.endswith("… |") and len(cell) < 210
