"""How a job is cut into calls (the Ray pool: test_ray_pool here, and for real in e2e/test_render and test_cluster)."""

from __future__ import annotations

from pocket_batch.synth.pool.calls import deal_by_length
from pocket_batch.synth.pool.worker import SynthTask


def tasks(lengths: list[int]) -> list[SynthTask]:
    return [SynthTask(f"t{n}", "x" * length, "voice", n, 50) for n, length in enumerate(lengths)]


def call_text(order: list[SynthTask], call_size: int) -> list[int]:
    return [sum(len(t.text) for t in order[n: n + call_size]) for n in range(0, len(order), call_size)]


def test_a_short_job_is_dealt_so_each_call_reads_about_as_much():
    job = tasks([150, 140, 135, 130, 120, 110] + [40, 35, 30, 30, 25, 20])  # a long passage, then short lines
    assert call_text(job, 6) == [785, 180]  # as written, one worker would read four times the other's text
    dealt = deal_by_length(job, 6)
    assert sorted(t.key for t in dealt) == sorted(t.key for t in job)
    first, second = call_text(dealt, 6)
    assert abs(first - second) <= 20


def test_calls_keep_the_executors_size_and_every_task_once():
    job = tasks([10, 90, 20, 80, 30, 70, 40])
    dealt = deal_by_length(job, 3)
    assert sorted(t.key for t in dealt) == sorted(t.key for t in job)
    # Read back in runs of 3 (3, 3, 1), as the executor takes them: the lone last call gets
    # a long task, the two full calls share the rest evenly.
    assert call_text(dealt, 3) == [140, 130, 70]
