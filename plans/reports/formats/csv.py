"""A plan's report as CSV: one row per action with ``COLUMNS``, for any spreadsheet or script."""

import csv
import datetime
import io

from plans.reports.formats.cells import neutralised
from plans.reports.report import COLUMNS, Cell, PlanReport, table


def csv_cell(value: Cell) -> str:
    # ISO dates sort as text and every spreadsheet reads them as dates.
    if isinstance(value, datetime.date):
        return value.isoformat()
    return neutralised(value or "")


def report_csv(report: PlanReport) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for cells in table(report):
        writer.writerow([csv_cell(value) for value in cells])
    if report.history_head_line:
        # After a blank row, where a script reading actions stops; importing skips it too.
        writer.writerow([])
        writer.writerow([report.history_head_line])
    # The byte-order mark tells Excel the file is UTF-8, so names with accents survive.
    return out.getvalue().encode("utf-8-sig")
