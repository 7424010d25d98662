"""Fixtures of the snapshot tests: the API clients come from tests/fixtures/api.py and the private
store root is `snapshot_root`."""
