"""Reading the spreadsheets people bring (CSV files and Excel workbooks), and keeping a checked
file between its check and the confirmation, for every import: a framework's recommendations
(``plans.frameworks``) and an existing action plan with its history (``plans.imports``).

``reading`` opens a file within its limits (size, rows, what a workbook unpacks to) and yields
its rows with the numbers a person sees in their spreadsheet; ``held`` keeps the file for one
person and tenant until they confirm.
"""
