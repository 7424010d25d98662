"""The site's file tree, built from our store: each file a path and its exact bytes.

`facts` reads one date from the store (`read_date`) and keeps what the indexes need from it,
`files` builds the date's files (`snapshots/{date}/...`) and the hash of what they are built
from, and `indexes` builds the files over every date (time series, `v1/`, `config/`).
Every payload is validated against our model of its file (`website.format`) before it is
encoded, and encoded one way (`encoded`): keys in the builders' fixed order, compact, UTF-8, so
the same store always gives the same bytes.
"""

from website.tree.encoding import SiteFile
from website.tree.facts import DateFacts, StoredDate, date_facts, read_date
from website.tree.files import date_files, source_sha256
from website.tree.indexes import index_files

__all__ = [
    "DateFacts",
    "SiteFile",
    "StoredDate",
    "date_facts",
    "date_files",
    "index_files",
    "read_date",
    "source_sha256",
]
