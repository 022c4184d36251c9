"""Committee papers: a plan's progress as of any date (``as_of``), in the formats committees use
(``formats``), published copies kept byte for byte, and dashboards."""
