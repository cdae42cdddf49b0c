"""Where the partitions of a run are matched: in this process, or on a Dask cluster.

The same function (:func:`matcher.partitioned.match_partition`) runs everywhere; only the
map differs. ``scheduler="tcp://host:8786"`` sends the partitions to an existing cluster
(``dask scheduler`` / ``dask worker`` processes whose workers see the snapshot and the
outcomes directory at the same path or fsspec URL); ``workers=N`` starts a
``distributed.LocalCluster`` of N single-threaded worker processes for this run; neither
runs in this process. What comes back to the caller is small: counts and the competing rows
of budgeted policies; outcomes go to the outcomes directory.

``distributed`` is imported only when a cluster is asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matcher.partitioned import (
    PartitionResult,
    PartitionTask,
    PartProgress,
    match_partition,
    run_in_process,
)


class ClusterError(Exception):
    """Root error of running partitions on a cluster."""


def run_partitions(
    tasks: Sequence[PartitionTask],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: PartProgress,
) -> list[PartitionResult]:
    """Match every task; the results in partition order."""
    if scheduler is None and not workers:
        return run_in_process(tasks, progress)
    if scheduler is not None and workers:
        raise ClusterError("expected either --scheduler (an existing cluster) or --workers "
                           f"(a local one), got both: {scheduler!r} and {workers}")
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ClusterError("running on a cluster needs the 'distributed' package") from exc
    cluster: Any = None
    if workers:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, memory_limit=0)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise ClusterError(f"expected a Dask scheduler at {scheduler}, could not "
                               f"connect: {exc}") from exc
    try:
        futures = client.map(match_partition, list(tasks), pure=False,
                             key=[f"match-partition-{t.partition}" for t in tasks])
        done: dict[int, PartitionResult] = {}
        for n, future in enumerate(as_completed(futures), start=1):
            result = future.result()
            done[result.partition] = result
            progress("match", n, len(tasks))
        return [done[t.partition] for t in tasks]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
