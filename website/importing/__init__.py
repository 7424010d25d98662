"""Importing the toast-stats site's history: its per-district files become snapshots of ours,
through the same acceptance, normalization and closing-date rules as a download
(`service.py`); the site's files as the site defines them (`site_files.py`); their raw rows
turned back into exports (`exports.py`)."""

from website.importing.service import (
    SOURCE,
    ImportOutcome,
    import_date,
    import_site,
    importable_dates,
)

__all__ = ["SOURCE", "ImportOutcome", "import_date", "import_site", "importable_dates"]
