"""The cache of a one-machine installation: diskcache's Django backend (SQLite shards in the
data folder, shared by every process), kept open between requests."""

from __future__ import annotations

from diskcache import DjangoCache


class DiskCache(DjangoCache):
    """Django closes every cache at the end of each request; diskcache would close its
    SQLite connections then and open them again on the next request (about 1 ms each time).
    Its connections belong to the thread that opened them, so keeping them is safe."""

    def close(self, **kwargs) -> None:
        return None
