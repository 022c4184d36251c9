"""Importing a framework's themes and recommendations from a CSV file or an Excel workbook.

``reading`` turns a file into rows and the problems found in each; ``changes`` compares them
with a framework already stored (the outline of a national framework, or a tenant's framework
imported before); ``services`` checks and imports, all or nothing; ``held`` keeps a checked
file between the dry run and the confirmation. The format is described in
docs/framework-import.md.
"""
