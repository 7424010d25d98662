"""The per-district snapshot store: district files, manifests and the raw CSV archive.

`from snapshots import store` is the store's interface; its modules hold one concern each:
`backends` (which backend the `snapshots` storage is), `filesystem` (temp file, fsync, rename,
an `fcntl` lock per date), `object_storage` (S3 and other storages, a Redis lock per date),
`layout` (names, temporary files and encoding), `errors`, `district_files`, `manifests`,
`index` (the `Snapshot` row of each manifest), `raw_archive`, `documents`, `health`, `condition`
(whether the store can take writes at all: full, read-only, refused). The modules import one
another's public names only; nothing outside the package imports its modules.

Layout under the `snapshots` storage (a FileSystemStorage at SNAPSHOT_ROOT by default):

    <YYYY-MM-DD>/district_<id>.json      one DistrictStatistics per district (to_dict JSON)
    <YYYY-MM-DD>/manifest.json           the snapshot of that logical date (camelCase)
    raw/<as-of>/<report>/district_<id>.csv   the raw CSV as downloaded (`all.csv` for
                                              system-wide reports)
    analytics/...json                         derived documents (analytics/documents.py)

Guarantees:
- Every file is replaced atomically and durably: written to a temporary name in the same
  directory, flushed and fsynced, renamed over the target, then the directory is fsynced
  (RELIABILITY.md section 4). A reader sees the old file or the new one, never a part. Inside
  `deferred_directory_syncs` (a batch of units) each directory is fsynced once, on leaving.
- District files are never deleted, so a manifest never points to a missing file. The manifest
  is rebuilt from the district files on disk, under the date's lock, by `finalize_snapshot`; the
  last complete write of a district wins and every district is listed exactly once.
- Summary data never downgrades stored full-detail data of the same district and date.

On an S3 bucket (django-storages' S3Storage, SNAPSHOT_STORAGE=s3) every object is written with
one PutObject, which replaces it atomically, and read with one GetObject, which returns one whole
version; there are no temporary objects, and the per-date lock lives in Redis so that workers on
several hosts share it. Any other Django storage is written with a plain `Storage.save` under
the same Redis lock.
"""

from snapshots.store.backends import STORAGE_ALIAS
from snapshots.store.condition import (
    CONDITION_TTL_SECONDS,
    StoreCondition,
    check_store,
    clear_condition,
    record_unwritable,
    store_condition,
)
from snapshots.store.district_files import (
    CACHE_CAPACITY,
    DateScan,
    DistrictWrite,
    StoredFile,
    cache_entries,
    district_file_bytes,
    district_sha256,
    exists,
    list_districts,
    read_district,
    scan_date,
    stored_dates,
    write_district,
)
from snapshots.store.documents import StoredDocument, read_document, write_document
from snapshots.store.errors import UNWRITABLE_REASONS, SnapshotStoreError, StoreUnwritable
from snapshots.store.filesystem import deferred_directory_syncs
from snapshots.store.health import (
    DateDirectory,
    RootStatus,
    date_directory,
    free_space,
    remove_temp_leftovers,
    root_status,
    temp_files,
    temp_leftovers,
)
from snapshots.store.index import manifest_index_fields, snapshot_index_upsert
from snapshots.store.layout import (
    ANALYTICS_DIR,
    DATE_DIR_RE,
    DISTRICT_FILE_RE,
    LOCK_FILE,
    LOCK_TIMEOUT_SECONDS,
    MANIFEST_FILE,
    RAW_DIR,
    RAW_DISTRICT_FILE_RE,
    REPORT_RE,
    STALE_TEMP_SECONDS,
    TEMP_SUFFIX,
)
from snapshots.store.manifests import (
    MISSING_FILE_ERROR,
    SCHEMA_VERSION,
    finalize_snapshot,
    read_manifest,
    rebuild_manifest,
    reindex,
)
from snapshots.store.object_storage import S3_MAX_PUT_BYTES
from snapshots.store.raw_archive import archive_raw_csv, archived_districts, read_raw_csv

__all__ = [
    "ANALYTICS_DIR",
    "CACHE_CAPACITY",
    "CONDITION_TTL_SECONDS",
    "DATE_DIR_RE",
    "DISTRICT_FILE_RE",
    "LOCK_FILE",
    "LOCK_TIMEOUT_SECONDS",
    "MANIFEST_FILE",
    "MISSING_FILE_ERROR",
    "RAW_DIR",
    "RAW_DISTRICT_FILE_RE",
    "REPORT_RE",
    "S3_MAX_PUT_BYTES",
    "SCHEMA_VERSION",
    "STALE_TEMP_SECONDS",
    "STORAGE_ALIAS",
    "TEMP_SUFFIX",
    "UNWRITABLE_REASONS",
    "DateDirectory",
    "DateScan",
    "DistrictWrite",
    "RootStatus",
    "SnapshotStoreError",
    "StoreCondition",
    "StoreUnwritable",
    "StoredDocument",
    "StoredFile",
    "archive_raw_csv",
    "archived_districts",
    "cache_entries",
    "check_store",
    "clear_condition",
    "date_directory",
    "deferred_directory_syncs",
    "district_file_bytes",
    "district_sha256",
    "exists",
    "finalize_snapshot",
    "free_space",
    "list_districts",
    "manifest_index_fields",
    "read_district",
    "read_document",
    "read_manifest",
    "read_raw_csv",
    "rebuild_manifest",
    "record_unwritable",
    "reindex",
    "remove_temp_leftovers",
    "root_status",
    "scan_date",
    "snapshot_index_upsert",
    "store_condition",
    "stored_dates",
    "temp_files",
    "temp_leftovers",
    "write_district",
    "write_document",
]
