"""Importing an existing action plan, with its actions' real history, from a spreadsheet.

Councils part-way through a plan bring it in from the CSV file or Excel workbook they kept it
in. ``columns`` names the fields a file's columns can hold and suggests which column holds
which from its headings; ``dates`` reads the date forms people write and refuses those that
could be read two ways; ``rows`` checks every row against the plan (its people, partners,
bodies, recommendations and references) and turns it into an action with the steps and
progress its dates give; ``services`` checks and imports, all or nothing, writing that history
at its own dates, marked as recorded later; ``views`` are the pages: upload, columns, check,
import. The format is described in docs/plan-import.md.
"""
