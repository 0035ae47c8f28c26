"""`pocket-batch run job.toml`: render whatever of the job is not finished yet, under the folder's lock.

Made for cron: every input without a finished output (same bytes, same settings,
manifest present) is rendered; finished ones cost nothing; a failing book is
recorded and the others go on; a killed run leaves nothing a rerun would trust,
so the same command resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pocket_batch.jobs.jobfile import job_inputs, load_job, refused_inputs, run_config, unmatched
from pocket_batch.jobs.notify import notify
from pocket_batch.core.config import JobConfig
from pocket_batch.core.errors import ExitCode, OutputLocked, PocketBatchError
from pocket_batch.pipeline.lock import output_lock
from pocket_batch.pipeline.run import Run, RunResult, folder_clashes
from pocket_batch.pipeline.runlog import log, run_log


@dataclass(frozen=True)
class JobResult:
    job: JobConfig
    runs: list[RunResult]  # one per voice that had work
    finished_before: int  # input x voice pairs already done, skipped
    log: Path
    unmatched: list[str] = field(default_factory=list)  # inputs entries that named no file

    @property
    def exit_code(self) -> ExitCode:
        return max((run.exit_code for run in self.runs), key=SEVERITY.index, default=ExitCode.DONE)


SEVERITY = [ExitCode.DONE, ExitCode.UNVERIFIED, ExitCode.FLAGGED, ExitCode.SOME_FAILED]  # a job says its worst run's


def run_job(path: Path, show_progress: bool = True) -> JobResult:
    job = load_job(path)
    try:
        return _run(path, job, show_progress)
    except OutputLocked:
        raise  # another run is at work: nothing failed, nobody to tell
    except PocketBatchError as exc:
        notify(job.notify, ExitCode.COULD_NOT_RUN, f"pocket-batch {path}: could not run: {exc}", None, path.parent)
        raise


def _run(path: Path, job: JobConfig, show_progress: bool) -> JobResult:
    inputs = job_inputs(job)
    refused = refused_inputs(job, inputs)
    inputs = [p for p in inputs if p not in refused]
    runs_by_voice = [Run(run_config(job, voice, inputs), show_progress) for voice in job.voices]  # voice/model errors: here
    runs, finished = [], 0
    with output_lock(job.output), run_log(job.output) as log_path:
        log.info("job %s: %d inputs, voices %s", path, len(inputs), ", ".join(job.voices))
        missing = unmatched(job)
        for pattern in missing:
            log.warning("job %s: inputs entry %r matches no file", path, pattern)
        for run in runs_by_voice:
            pending, clashes = _pending(run, inputs)
            finished += len(inputs) - len(pending) - len(clashes)
            if not pending and not clashes and not refused:
                continue
            books, unreadable = run.read(tuple(pending))
            runs.append(run.produce(books, unreadable + clashes + list(refused.items()), log_path))
        result = JobResult(job, runs, finished, log_path, missing)
        log.info("job ends: %s", summary(result))
        notify(job.notify, result.exit_code, summary(result), log_path, path.parent)
    return result


def _pending(run: Run, inputs: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Inputs without a finished output, and those refused because an earlier one has their book folder."""
    finished = {p for p in inputs if run.finished(p) is not None}
    ordered = sorted(inputs, key=lambda p: p not in finished)  # a finished book keeps its folder
    clashes = [(p, f"{p}: would write to the same folder as {owner}; rename one")
               for p, owner in folder_clashes(run.config, ordered)]
    pending = [p for p in inputs if p not in finished and p not in dict(clashes)]
    return pending, clashes


def summary(result: JobResult) -> str:
    done = sum(len(r.books) - len(r.failed) for r in result.runs)
    failed = [b.error for r in result.runs for b in r.failed]
    audio = sum(b.audio_seconds for r in result.runs for b in r.books)
    flagged = sum(r.flagged for r in result.runs)
    head = (f"{done} rendered, {len(failed)} failed, {result.finished_before} already finished, "
            f"{flagged} chunks still failing verification; "
            f"{audio / 3600:.2f} h of audio")
    nothing = [f"inputs entry {p!r} matches no file" for p in result.unmatched]
    return "\n".join([head, *failed, *nothing])
