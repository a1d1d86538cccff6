"""The searches the page runs: one at a time, in a background thread, polled for its progress, cancellable.

A search is `search.run_search` on the page's scenario (its workers a local process pool, as `tokenlane search` uses);
starting another cancels the one running. Cancelling makes the search stop at its next result (`SearchProgress`), which
ends its workers. The page polls `view` about twice a second.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from tokenlane.catalog import Catalog
from tokenlane.errors import Cancelled, TokenlaneError
from tokenlane.scenario import Scenario
from tokenlane.search import Bounds, SearchProgress, SearchReport, run_search
from tokenlane.serve.workspace import problems_of
from tokenlane.simulate import workers_available

FRONT_SHOWN = 12
"""Rows of the Pareto front the page shows (the cheapest first)."""
KEPT_SEARCHES = 4
"""Finished searches kept for the page to read back."""


@dataclass
class SearchJob:
    """One search the page started."""

    id: str
    progress: SearchProgress
    state: Literal["running", "done", "cancelled", "failed"] = "running"
    report: SearchReport | None = None
    problems: list[dict[str, str]] = field(default_factory=list)
    thread: threading.Thread | None = None


class Searches:
    """The page's searches by id; at most one running."""

    def __init__(self, catalog: Catalog, *, workers: int | None = None) -> None:
        self.catalog = catalog
        self.workers = workers or workers_available()
        self._jobs: dict[str, SearchJob] = {}
        self._lock = threading.Lock()

    def start(self, scenario: Scenario, bounds: Bounds) -> SearchJob:
        """Start searching `bounds` for `scenario` (already checked), cancelling a search still running."""
        job = SearchJob(id=uuid.uuid4().hex[:12], progress=SearchProgress())
        with self._lock:
            for other in self._jobs.values():
                if other.state == "running":
                    other.progress.cancel()
            self._jobs[job.id] = job
            finished = [k for k, j in self._jobs.items() if j.state != "running"]
            for key in finished[:-KEPT_SEARCHES]:
                del self._jobs[key]
        job.thread = threading.Thread(target=self._run, args=(job, scenario, bounds), daemon=True, name=f"tokenlane-search-{job.id}")
        job.thread.start()
        return job

    def _run(self, job: SearchJob, scenario: Scenario, bounds: Bounds) -> None:
        try:
            job.report = run_search(scenario, self.catalog, bounds, workers=self.workers, progress=job.progress)
            job.state = "done"
        except Cancelled:
            job.state = "cancelled"
        except TokenlaneError as exc:
            job.problems = problems_of(exc)
            job.state = "failed"
        except Exception as exc:  # a thread's error would vanish unseen: the page shows it instead
            job.problems = [{"field": "", "message": f"the search failed: {type(exc).__name__}: {exc}"}]
            job.state = "failed"

    def get(self, job_id: str) -> SearchJob | None:
        return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> SearchJob | None:
        """Ask a running search to stop (it stops at its next result); the job, or None for an unknown id."""
        job = self._jobs.get(job_id)
        if job is not None:
            job.progress.cancel()
        return job


def search_view(job: SearchJob) -> dict[str, Any]:
    """What the page shows of a search: its state and counts, and once done the pick (with the option to add), its
    recipe, the best API beside it and the cheapest rows of the Pareto front."""
    p = job.progress
    view: dict[str, Any] = {
        "id": job.id,
        "state": "cancelling" if job.state == "running" and p.cancelled else job.state,
        "done": p.done,
        "total": p.total,
        "words": p.words(),
        "elapsed_s": round(p.elapsed_s, 1),
        "problems": job.problems,
    }
    found = job.report
    if found is None:
        return view
    pick, option = found.pick, found.pick_option()
    view["result"] = {
        "configurations": found.configurations,
        "simulated": found.simulated,
        "seconds": round(found.seconds, 1),
        "meets_every_constraint": found.cheapest is not None,
        "pick": None
        if pick is None or option is None
        else {
            "key": pick.key,
            "replicas": pick.replicas,
            "monthly_usd": pick.monthly_usd,
            "reason": pick.reason,
            "option": option.model_dump(mode="json", exclude_defaults=True),
        },
        "recipe": None if found.recipe is None else found.recipe.model_dump(include={"engine", "command", "bench"}),
        "best_api": None if found.best_api is None else found.best_api.model_dump(),
        "front": [
            {
                "key": r.key,
                "replicas": r.replicas,
                "monthly_usd": r.monthly_usd,
                "tok_s_p95": r.tok_s_p95,
                "ttft_p95_s": r.ttft_p95_s,
                "quality_score": r.quality_score,
                "eligible": r.status == "eligible",
            }
            for r in found.pareto[:FRONT_SHOWN]
        ],
        "front_size": len(found.pareto),
        "reasons": found.reasons,
    }
    return view
