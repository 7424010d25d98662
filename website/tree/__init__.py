"""The site's file tree, built from our store: each file a path and its exact bytes.

`files` builds one date's files (`snapshots/{date}/...`), `facts` reads what the indexes need
from one date, and `indexes` builds the files over every date (time series, `v1/`, `config/`).
Every payload is validated against our model of its file (`website.format`) before it is
encoded, and encoded one way (`encoded`): keys in the builders' fixed order, compact, UTF-8, so
the same store always gives the same bytes.
"""

from website.tree.encoding import SiteFile
from website.tree.facts import DateFacts, date_facts
from website.tree.files import date_files
from website.tree.indexes import index_files

__all__ = ["DateFacts", "SiteFile", "date_facts", "date_files", "index_files"]
