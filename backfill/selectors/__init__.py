"""Reads of jobs and their progress (plain data, camelCase-ready), one module per consumer:
`jobs` (the one read model of a job's status), `history`, `waiting`, `performance`, `legacy`,
`admin`, `audits`."""
