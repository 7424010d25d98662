"""Our own models of the district-statistics site's files (the public toast-stats project's
schemas and the front end's reads, read as facts; DOMAIN.md section 8 stands where the two
differ). One module per family of files; `checked` validates a payload before it is written.

Every model forbids fields the site does not define, so a typo in a builder fails here, and
each names the file it models. The site itself validates nothing when it reads: these models
are the only check between our store and the public pages.
"""

from website.format.base import SiteFormatError, checked

__all__ = ["SiteFormatError", "checked"]
